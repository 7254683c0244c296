"""Tests of the notebook-04 helpers: ``metrics.rate_distortion`` and ``plotting.traversal_images/_grid``."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_utils.losses import elbo_loss, kl_normal  # noqa: E402
from course_utils.metrics import RateDistortion, latent_activity, rate_distortion, vae_nelbo  # noqa: E402
from course_utils.models import MLPVAE  # noqa: E402
from course_utils.plotting import traversal_grid, traversal_images  # noqa: E402
from course_utils.train import fit  # noqa: E402


def _images(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, 28, 28, generator=g) > 0.7).float()


def _vae(latent_dim=6, seed=0):
    torch.manual_seed(seed)
    return MLPVAE(latent_dim=latent_dim, hidden=32)


# ----------------------------------------------------------------------------- rate_distortion


def test_rate_distortion_matches_closed_form_and_vae_nelbo():
    model, x = _vae(), _images()
    out = rate_distortion(model, x, batch_size=16, generator=torch.Generator().manual_seed(1))
    assert isinstance(out, RateDistortion)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    assert out.rate == pytest.approx(kl_normal(mu, logvar).item(), rel=1e-5)
    assert out.kl_per_dim.shape == (6,)
    assert out.kl_per_dim.sum().item() == pytest.approx(out.rate, rel=1e-5)
    assert torch.allclose(out.activity, latent_activity(mu), atol=1e-6)
    # Same draws (same seed, same batches) -> the same -ELBO as the course's vae_nelbo.
    ref = vae_nelbo(model, x, batch_size=16, generator=torch.Generator().manual_seed(1))
    assert out.neg_elbo == pytest.approx(ref["nelbo"], rel=1e-5)
    assert out.distortion == pytest.approx(ref["reconstruction"], rel=1e-5)


def test_rate_distortion_distortion_is_bce_of_one_draw():
    model, x = _vae(), _images(12)
    gen = torch.Generator().manual_seed(4)
    out = rate_distortion(model, x, batch_size=100, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
        expected = elbo_loss(model.decode_logits(z), x, mu, logvar).reconstruction.item()
    assert out.distortion == pytest.approx(expected, rel=1e-5)


def test_rate_and_activity_do_not_depend_on_batch_size():
    model, x = _vae(), _images(50)
    a = rate_distortion(model, x, batch_size=7, generator=torch.Generator().manual_seed(0))
    b = rate_distortion(model, x, batch_size=500, generator=torch.Generator().manual_seed(0))
    assert a.rate == pytest.approx(b.rate, rel=1e-5)
    assert torch.allclose(a.kl_per_dim, b.kl_per_dim, rtol=1e-4, atol=1e-6)
    assert torch.allclose(a.activity, b.activity, rtol=1e-4, atol=1e-7)


def test_an_encoder_that_outputs_the_prior_has_rate_zero():
    model = _vae()
    with torch.no_grad():
        for head in (model.to_mu, model.to_logvar):
            head.weight.zero_()
            head.bias.zero_()
    out = rate_distortion(model, _images())
    assert out.rate == pytest.approx(0.0, abs=1e-7)
    assert out.kl_per_dim.abs().max() < 1e-7
    assert out.activity.max() < 1e-12
    assert out.distortion > 0


def test_rate_distortion_restores_training_flag_and_needs_no_grad():
    model = _vae().train()
    rate_distortion(model, _images())
    assert model.training
    model.eval()
    rate_distortion(model, _images())
    assert not model.training


def test_larger_beta_trains_to_a_lower_rate():
    x = _images(256, seed=3)
    rates = {}
    for beta in (0.5, 30.0):
        model, gen = _vae(latent_dim=4, seed=0), torch.Generator().manual_seed(0)

        def loss(m, b, beta=beta):
            logits, mu, logvar = m(b[0])
            return elbo_loss(logits, b[0], mu, logvar, beta=beta).loss

        fit(model, loss, x, epochs=4, batch_size=32, generator=gen, device="cpu", progress=False)
        rates[beta] = rate_distortion(model, x, generator=torch.Generator().manual_seed(0)).rate
    assert rates[30.0] < 0.5 * rates[0.5], rates


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(images=torch.rand(1, 1, 28, 28)), ValueError),           # a variance needs two images
        (dict(images=torch.rand(5, 28, 28)), ValueError),              # wrong shape
        (dict(images=torch.rand(5, 1, 28, 28) * 2), ValueError),       # not in [0, 1]
        (dict(images=[[0.0]]), TypeError),                             # not a tensor
        (dict(batch_size=0), ValueError),
        (dict(model=nn.Linear(3, 3)), TypeError),                      # not a VAE
    ],
)
def test_rate_distortion_rejects_bad_input(kwargs, error):
    args = dict(model=_vae(), images=_images(8), batch_size=4)
    args.update(kwargs)
    with pytest.raises(error):
        rate_distortion(args["model"], args["images"], batch_size=args["batch_size"])


# ----------------------------------------------------------------------------- traversals


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
    model = _vae().train()
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
        traversal_images(_vae(), dims, values, base=base)


def test_traversal_images_rejects_a_non_decoder():
    with pytest.raises(TypeError):
        traversal_images(nn.Linear(2, 2), [0], [0.0])


def test_traversal_grid_labels_rows_and_columns():
    model = _vae()
    ax = traversal_grid(model, [3, 1, 4], [-1.0, 0.0, 1.0], row_labels=["a", "b", "c"], title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "1"]
    assert ax.get_images()[0].get_array().shape == (3 * 29 - 1, 3 * 29 - 1)
    with pytest.raises(ValueError):
        traversal_grid(model, [3, 1], [0.0], row_labels=["only one"])
    plt.close("all")
