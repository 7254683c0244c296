"""Tests of the pieces notebook 03 adds: the Gaussian/Laplace NLLs and the sample-quality measures."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import Laplace, Normal

from course_utils.losses import gaussian_nll, laplace_nll, reconstruction_loss
from course_utils.metrics import active_dims, latent_activity, sample_quality, sharpness


def _batch(seed=0, b=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 1, 28, 28, generator=g) * 2, torch.rand(b, 1, 28, 28, generator=g)


# ----------------------------------------------------------------------------- NLLs


@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 19.8])
def test_gaussian_nll_is_the_normal_log_density(sigma):
    logits, x = _batch()
    ref = -Normal(torch.sigmoid(logits), sigma).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(logits, x, sigma, reduction="none"), ref, rtol=1e-4, atol=1e-3)
    assert torch.allclose(gaussian_nll(logits, x, sigma), ref.mean(), rtol=1e-4)
    assert torch.allclose(gaussian_nll(logits, x, sigma, reduction="sum"), ref.sum(), rtol=1e-4)


@pytest.mark.parametrize("scale", [0.05, 0.3, 1.0, 3.0])
def test_laplace_nll_is_the_laplace_log_density(scale):
    logits, x = _batch(1)
    ref = -Laplace(torch.sigmoid(logits), scale).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(laplace_nll(logits, x, scale, reduction="none"), ref, rtol=1e-4, atol=1e-3)


def test_small_sigma_gives_negative_nll_for_a_close_fit():
    # A density above 1 per pixel: the NLL of a near-perfect reconstruction is negative.
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(2)).clamp(0.01, 0.99)
    assert (gaussian_nll(torch.logit(x), x, 0.05, reduction="none") < 0).all()
    assert (laplace_nll(torch.logit(x), x, 0.05, reduction="none") < 0).all()


@pytest.mark.parametrize("sigma", [0.1, 0.71, 19.8])
def test_sigma_only_rescales_the_squared_error_gradient(sigma):
    logits, x = _batch(3)
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    gaussian_nll(a, x, sigma).backward()
    reconstruction_loss(b, x, "mse").backward()
    assert torch.allclose(a.grad, b.grad / (2 * sigma**2), rtol=1e-4, atol=1e-9)


def test_laplace_scale_only_rescales_the_l1_gradient():
    logits, x = _batch(4)
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    laplace_nll(a, x, 0.25).backward()
    reconstruction_loss(b, x, "l1").backward()
    assert torch.allclose(a.grad, b.grad / 0.25, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("fn,kw", [(gaussian_nll, "sigma"), (laplace_nll, "scale")])
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_nll_rejects_bad_scale(fn, kw, bad):
    logits, x = _batch()
    with pytest.raises(ValueError, match=kw):
        fn(logits, x, **{kw: bad})


@pytest.mark.parametrize("fn", [gaussian_nll, laplace_nll])
def test_nll_rejects_bad_shapes_reduction_and_types(fn):
    logits, x = _batch()
    with pytest.raises(ValueError, match="same shape"):
        fn(logits, x[:, :, :27])
    with pytest.raises(ValueError, match="reduction"):
        fn(logits, x, 1.0, reduction="avg")
    with pytest.raises(TypeError):
        fn(logits.numpy(), x)


# ----------------------------------------------------------------------------- active dimensions


def test_latent_activity_is_the_variance_over_the_data():
    mu = torch.randn(500, 4, generator=torch.Generator().manual_seed(0)) * torch.tensor([2.0, 1.0, 0.05, 0.0])
    act = latent_activity(mu)
    assert act.shape == (4,)
    assert torch.allclose(act, mu.var(0), rtol=1e-6)


def test_active_dims_counts_dimensions_above_the_threshold():
    g = torch.Generator().manual_seed(1)
    scales = torch.tensor([1.0, 0.5, 0.3, 0.01, 0.0, 1e-3])
    mu = torch.randn(2000, 6, generator=g) * scales
    assert active_dims(mu) == 3                    # variances ~1, 0.25, 0.09 above 0.01
    assert active_dims(mu, threshold=0.2) == 2
    assert active_dims(mu, threshold=2.0) == 0
    assert active_dims(mu + 5.0) == 3              # a constant offset is not activity


@pytest.mark.parametrize("bad", [0, -0.1, True, "0.01", float("nan")])
def test_active_dims_rejects_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold"):
        active_dims(torch.randn(10, 3), threshold=bad)


@pytest.mark.parametrize("mu", [torch.randn(10), torch.randn(1, 5), torch.randn(3, 2, 2)])
def test_active_dims_rejects_bad_shapes(mu):
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        active_dims(mu)
    with pytest.raises(TypeError):
        latent_activity(mu.numpy())


# ----------------------------------------------------------------------------- sharpness


def test_sharpness_of_constant_and_checkerboard_images():
    flat = torch.full((2, 1, 28, 28), 0.7)
    assert torch.equal(sharpness(flat), torch.zeros(2))
    idx = torch.arange(28)
    board = ((idx[:, None] + idx[None, :]) % 2).float().view(1, 1, 28, 28)
    # every neighbour differs by 1 in both directions: |grad| = sqrt(2) everywhere
    assert torch.allclose(sharpness(board), torch.tensor([math.sqrt(2)]))


def test_blurring_lowers_sharpness():
    g = torch.Generator().manual_seed(0)
    img = (torch.rand(4, 1, 28, 28, generator=g) > 0.7).float()
    blurred = nn.functional.avg_pool2d(img, 3, stride=1, padding=1)
    assert (sharpness(blurred) < sharpness(img)).all()


@pytest.mark.parametrize("bad", [torch.rand(28, 28), torch.rand(2, 3, 28, 28), torch.rand(0, 1, 28, 28), torch.rand(2, 1, 1, 5)])
def test_sharpness_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="images"):
        sharpness(bad)


# ----------------------------------------------------------------------------- sample quality


class BrightnessClassifier(nn.Module):
    """A fake digit classifier: class k when the mean pixel is near k/10 (sharpness of the logits = `gain`)."""

    def __init__(self, gain=200.0):
        super().__init__()
        self.gain = gain
        self.dummy = nn.Parameter(torch.zeros(1))  # classify() reads the device from a parameter

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True)
        return -self.gain * (m * 10 - torch.arange(10.0)) ** 2 + self.dummy


def _constant_images(levels):
    return torch.stack([torch.full((1, 28, 28), k / 10) for k in levels])


def test_sample_quality_of_diverse_confident_samples():
    q = sample_quality(BrightnessClassifier(), _constant_images(list(range(10)) * 3))
    assert q["confidence"] > 0.99 and q["confident_fraction"] == 1.0
    assert math.isclose(q["class_entropy"], math.log(10), rel_tol=1e-5)
    assert torch.allclose(q["class_histogram"], torch.full((10,), 0.1))


def test_sample_quality_of_a_collapsed_generator():
    q = sample_quality(BrightnessClassifier(), _constant_images([3] * 20))
    assert q["class_entropy"] == 0.0
    assert q["class_histogram"][3] == 1.0 and q["class_histogram"].sum() == 1.0


def test_sample_quality_of_ambiguous_samples():
    # Half-way between two classes: the classifier splits its vote, confidence ~0.5.
    q = sample_quality(BrightnessClassifier(), _constant_images([3.5] * 8))
    assert 0.4 < q["confidence"] < 0.6 and q["confident_fraction"] == 0.0


@pytest.mark.parametrize("bad", [torch.rand(5, 784), torch.rand(0, 1, 28, 28), torch.rand(2, 1, 14, 14), [1, 2]])
def test_sample_quality_rejects_bad_samples(bad):
    with pytest.raises(ValueError, match="samples"):
        sample_quality(BrightnessClassifier(), bad)


@pytest.mark.parametrize("bad", [0, 1, 1.5, True])
def test_sample_quality_rejects_bad_threshold(bad):
    with pytest.raises(ValueError, match="confident"):
        sample_quality(BrightnessClassifier(), _constant_images([1, 2]), confident=bad)
