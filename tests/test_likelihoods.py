"""Tests."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from course_utils.likelihoods import (
    RateDistortion,
    active_dims,
    importance_log_likelihood,
    latent_activity,
    rate_distortion,
    vae_nelbo,
)
from course_utils.losses import (
    elbo_loss,
    kl_normal,
)
from course_utils.models import MLPVAE, VAE
from course_utils.train import fit  # noqa: E402
from torch import nn

from conftest import random_images, tiny_vae


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


class ConstantVAE(VAE):
    """A VAE whose p(x|z) ignores z, so log p(x) is known exactly: sum of Bernoulli log-probs.

    The encoder outputs the same (mu, logvar) for every image; with mu=0, logvar=0, q(z|x) = p(z).
    """

    def __init__(self, latent_dim=3, mu=0.0, logvar=0.0, seed=0):
        super().__init__()
        self.latent_dim = latent_dim
        self.logits = nn.Parameter(torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed)))
        self.register_buffer("mu0", torch.full((latent_dim,), float(mu)))
        self.register_buffer("logvar0", torch.full((latent_dim,), float(logvar)))

    def encode(self, x):
        return self.mu0.expand(len(x), -1), self.logvar0.expand(len(x), -1)

    def decode_logits(self, z):
        return self.logits.expand(len(z), -1, -1, -1)

    def exact_log_px(self, x):
        return -F.binary_cross_entropy_with_logits(self.logits.expand_as(x), x, reduction="none").flatten(1).sum(1)


def test_vae_nelbo_matches_a_hand_computed_elbo(images):
    torch.manual_seed(0)
    model = MLPVAE(latent_dim=5, hidden=32)
    model.train()
    got = vae_nelbo(model, images, batch_size=16, generator=torch.Generator().manual_seed(7))
    assert model.training, "vae_nelbo must restore the training flag"
    # Independent route: the same eps drawn in one go, the losses written out per image.
    eps = torch.cat([torch.randn(n, 5, generator=g) for g in [torch.Generator().manual_seed(7)] for n in (16, 16, 8)])
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(images)
        z = mu + (0.5 * logvar).exp() * eps
        recon = F.binary_cross_entropy_with_logits(model.decode_logits(z), images, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1)
    assert got["reconstruction"] == pytest.approx(recon.mean().item(), rel=1e-5)
    assert got["kl"] == pytest.approx(kl.mean().item(), rel=1e-5)
    assert got["nelbo"] == pytest.approx(got["reconstruction"] + got["kl"], rel=1e-6)
    assert got["kl"] > 0


def test_vae_nelbo_equals_minus_log_px_when_q_is_the_prior(images):
    model = ConstantVAE()
    got = vae_nelbo(model, images)
    assert got["kl"] == 0
    assert got["nelbo"] == pytest.approx(-model.exact_log_px(images).mean().item(), rel=1e-5)


def test_importance_ll_is_exact_when_q_is_the_prior(images):
    model = ConstantVAE()
    got = importance_log_likelihood(model, images, k=5, batch_size=7)
    assert got.shape == (40,)
    torch.testing.assert_close(got, model.exact_log_px(images).detach(), rtol=1e-5, atol=1e-3)


def test_importance_ll_bound_tightens_with_k():
    # q = N(0.5, e^0.5) differs from the posterior (= the prior here), so every log-weight carries
    # log p(z) - log q(z) noise: k = 1 is on average below log p(x) by KL(q || p), large k is close.
    # (q is wider than p on purpose: then p/q is bounded and the weights have finite variance.)
    images = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    model = ConstantVAE(latent_dim=2, mu=0.5, logvar=0.5)
    exact = model.exact_log_px(images).detach()
    kl_q_p = kl_normal(torch.full((1, 2), 0.5), torch.full((1, 2), 0.5)).item()
    gen = torch.Generator().manual_seed(0)
    gap1 = (exact - importance_log_likelihood(model, images, k=1, generator=gen)).mean()
    gap_big = (exact - importance_log_likelihood(model, images, k=100, batch_size=20, generator=gen)).mean()
    assert gap1.item() == pytest.approx(kl_q_p, rel=0.2)
    assert abs(gap_big.item()) < 0.1 * kl_q_p  # its expectation is >= 0; the draw may dip below


def test_importance_ll_k1_averages_to_the_elbo():
    torch.manual_seed(0)
    model = MLPVAE(latent_dim=3, hidden=16)
    images = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(3)).round()
    ll1 = importance_log_likelihood(model, images, k=1, generator=torch.Generator().manual_seed(0))
    # Same eps stream: for k=1 the log-weight's mean differs from -nelbo only by log q - log p vs KL
    # (a zero-mean term), so the two agree within a few standard errors.
    nelbo = vae_nelbo(model, images, generator=torch.Generator().manual_seed(5))["nelbo"]
    se = ll1.std().item() / math.sqrt(len(ll1))
    assert abs(-ll1.mean().item() - nelbo) < 5 * se + 1.0


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"k": 0}, ValueError, "k must be"),
        ({"k": 2.5}, ValueError, "k must be"),
        ({"batch_size": 0}, ValueError, "batch_size"),
    ],
)
def test_importance_ll_bad_arguments(images, kwargs, error, text):
    with pytest.raises(error, match=text):
        importance_log_likelihood(ConstantVAE(), images, **kwargs)


def test_likelihood_metrics_bad_inputs(images):
    model = ConstantVAE()
    for fn in (vae_nelbo, importance_log_likelihood):
        with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
            fn(model, images.view(40, 784))
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            fn(model, images * 2)
        with pytest.raises(TypeError, match="course VAE"):
            fn(nn.Linear(784, 2), images)
        with pytest.raises(TypeError, match="tensor"):
            fn(model, images.numpy())


def test_rate_distortion_matches_closed_form_and_vae_nelbo():
    model, x = tiny_vae(), random_images(binary=True)
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
    model, x = tiny_vae(), random_images(binary=True, n=12)
    gen = torch.Generator().manual_seed(4)
    out = rate_distortion(model, x, batch_size=100, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
        expected = elbo_loss(model.decode_logits(z), x, mu, logvar).reconstruction.item()
    assert out.distortion == pytest.approx(expected, rel=1e-5)


def test_rate_and_activity_do_not_depend_on_batch_size():
    model, x = tiny_vae(), random_images(binary=True, n=50)
    a = rate_distortion(model, x, batch_size=7, generator=torch.Generator().manual_seed(0))
    b = rate_distortion(model, x, batch_size=500, generator=torch.Generator().manual_seed(0))
    assert a.rate == pytest.approx(b.rate, rel=1e-5)
    assert torch.allclose(a.kl_per_dim, b.kl_per_dim, rtol=1e-4, atol=1e-6)
    assert torch.allclose(a.activity, b.activity, rtol=1e-4, atol=1e-7)


def test_an_encoder_that_outputs_the_prior_has_rate_zero():
    model = tiny_vae()
    with torch.no_grad():
        for head in (model.to_mu, model.to_logvar):
            head.weight.zero_()
            head.bias.zero_()
    out = rate_distortion(model, random_images(binary=True))
    assert out.rate == pytest.approx(0.0, abs=1e-7)
    assert out.kl_per_dim.abs().max() < 1e-7
    assert out.activity.max() < 1e-12
    assert out.distortion > 0


def test_rate_distortion_restores_training_flag_and_needs_no_grad():
    model = tiny_vae().train()
    rate_distortion(model, random_images(binary=True))
    assert model.training
    model.eval()
    rate_distortion(model, random_images(binary=True))
    assert not model.training


def test_larger_beta_trains_to_a_lower_rate():
    x = random_images(binary=True, n=256, seed=3)
    rates = {}
    for beta in (0.5, 30.0):
        model, gen = tiny_vae(latent_dim=4, seed=0), torch.Generator().manual_seed(0)

        def loss(m, b, beta=beta):
            logits, mu, logvar = m(b[0])
            return elbo_loss(logits, b[0], mu, logvar, beta=beta).loss

        fit(model, loss, x, steps=32, batch_size=32, generator=gen, device="cpu", progress=False)
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
    args = dict(model=tiny_vae(), images=random_images(binary=True, n=8), batch_size=4)
    args.update(kwargs)
    with pytest.raises(error):
        rate_distortion(args["model"], args["images"], batch_size=args["batch_size"])
