import matplotlib

matplotlib.use("Agg")

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from course_utils import config, plotting  # noqa: E402
from course_utils.plotting import traversal_grid, traversal_images  # noqa: E402
from torch import nn  # noqa: E402

from conftest import tiny_vae


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


class _LinearDecoder(nn.Module):
    """decode(z) = sigmoid(z @ W) as an image; column d of W says what z[d] does."""

    def __init__(self, weight):
        super().__init__()
        self.latent_dim = weight.shape[0]
        self.weight = nn.Parameter(weight)

    def decode(self, z):
        return torch.sigmoid(z @ self.weight).view(-1, 1, 28, 28)


def test_traversal_images_moves_one_coordinate_at_a_time():
    g = torch.Generator().manual_seed(0)
    model = _LinearDecoder(torch.randn(3, 784, generator=g))
    base = torch.tensor([0.5, -1.0, 2.0])
    values = [-2.0, 0.0, 1.5, 3.0]
    imgs = traversal_images(model, [2, 0], values, base=base)
    assert imgs.shape == (2, 4, 1, 28, 28)
    for row, d in enumerate([2, 0]):
        for col, v in enumerate(values):
            z = base.clone()
            z[d] = v
            assert torch.allclose(imgs[row, col], model.decode(z[None])[0], atol=1e-6)


def test_traversal_of_an_ignored_dimension_is_constant():
    weight = torch.randn(3, 784, generator=torch.Generator().manual_seed(1))
    weight[1] = 0.0                                    # the decoder ignores z[1]
    imgs = traversal_images(_LinearDecoder(weight), [0, 1], torch.linspace(-3, 3, 5))
    assert (imgs[1] - imgs[1, :1]).abs().max() < 1e-7
    assert (imgs[0] - imgs[0, :1]).abs().max() > 1e-2


def test_traversal_images_on_a_vae_restores_mode_and_default_base_is_zero():
    model = tiny_vae().train()
    imgs = traversal_images(model, [0], [0.0])
    assert model.training
    with torch.no_grad():
        model.eval()
        assert torch.allclose(imgs[0, 0], model.decode(torch.zeros(1, 6))[0], atol=1e-6)


@pytest.mark.parametrize(
    "dims, values, base, error",
    [
        ([6], [0.0], None, ValueError),           # dim out of range
        ([], [0.0], None, ValueError),            # no dims
        ([True], [0.0], None, ValueError),        # a bool is not an index
        ([0], [], None, ValueError),              # no values
        ([0], [float("nan")], None, ValueError),  # non-finite value
        ([0], [0.0], torch.zeros(5), ValueError), # base of the wrong size
    ],
)
def test_traversal_images_rejects_bad_input(dims, values, base, error):
    with pytest.raises(error):
        traversal_images(tiny_vae(), dims, values, base=base)


def test_traversal_images_rejects_a_non_decoder():
    with pytest.raises(TypeError):
        traversal_images(nn.Linear(2, 2), [0], [0.0])


def test_traversal_grid_labels_rows_and_columns():
    model = tiny_vae()
    ax = traversal_grid(model, [3, 1, 4], [-1.0, 0.0, 1.0], row_labels=["a", "b", "c"], title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "1"]
    assert ax.get_images()[0].get_array().shape == (3 * 29 - 1, 3 * 29 - 1)
    with pytest.raises(ValueError):
        traversal_grid(model, [3, 1], [0.0], row_labels=["only one"])
    plt.close("all")
