import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import config, plotting  # noqa: E402


def test_make_grid_places_images():
    imgs = torch.zeros(5, 1, 4, 4)
    imgs[3] = 1.0
    grid = plotting.make_grid(imgs, nrow=3, pad=1)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1)
    assert grid[5:9, 0:4].min() == 1.0  # image 3 is row 1, column 0
    assert grid[0:4, 0:4].max() == 0.0


@pytest.mark.parametrize("bad, err", [(torch.zeros(2, 3, 4, 4), ValueError), (torch.zeros(0, 4, 4), ValueError), ([1, 2], TypeError)])
def test_make_grid_rejects_bad_input(bad, err):
    with pytest.raises(err):
        plotting.make_grid(bad)


def test_plot_helpers_draw():
    ax = plotting.plot_history({"loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0]})
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="no key"):
        plotting.plot_history({"loss": [1.0]}, keys=["kl"])
    ax = plotting.latent_scatter(torch.randn(30, 2), torch.arange(30) % 3)
    assert len(ax.collections) == 3
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.latent_scatter(torch.randn(30, 3), torch.arange(30))
    fig = plotting.compare_rows({"a": torch.rand(4, 1, 28, 28), "b": torch.rand(4, 1, 28, 28)}, nrow=4)
    assert len(fig.axes) == 2
    plt.close("all")


def test_save_figure_goes_to_temporary_folder_in_fast_mode(monkeypatch):
    monkeypatch.setattr(config, "FAST", True)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = plotting.save_figure("test_plot", fig)
    assert path.exists() and path.suffix == ".png" and config.REPO_ROOT not in path.parents
    with pytest.raises(ValueError, match="name"):
        plotting.save_figure("../escape", fig)
    plt.close(fig)
