"""The VAE pieces: KL term, reparameterisation, ELBO reductions, and the likelihood metrics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.losses import elbo_loss, kl_normal, reconstruction_loss
from course_utils.metrics import importance_log_likelihood, vae_nelbo
from course_utils.models import VAE, ConvVAE, MLPVAE


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


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(1)
    return torch.rand(40, 1, 28, 28, generator=gen)


# ----------------------------------------------------------------------------- KL and reparameterisation


def test_kl_is_nonnegative_and_zero_only_at_the_prior():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(500, 4, generator=gen) * 2, torch.randn(500, 4, generator=gen) * 2
    kl = kl_normal(mu, logvar, reduction="none")
    assert kl.shape == (500,) and (kl > 0).all()
    assert kl_normal(torch.zeros(3, 4), torch.zeros(3, 4), reduction="none").abs().max() == 0
    # Moving one coordinate away from (0, 1) in either direction makes it positive.
    for dmu, dlv in ((1e-2, 0.0), (0.0, 1e-2), (0.0, -1e-2)):
        assert kl_normal(torch.full((1, 1), dmu), torch.full((1, 1), dlv)) > 0


def test_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=gen), torch.randn(7, 5, generator=gen)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(kl_normal(mu, logvar, reduction="none"), expected)


def test_reductions_sum_over_dims_and_average_over_batch():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 1, 28, 28, generator=gen)
    x = torch.rand(6, 1, 28, 28, generator=gen)
    mu, logvar = torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen)
    per_image = elbo_loss(logits, x, mu, logvar, reduction="none")
    assert per_image.loss.shape == (6,)
    mean = elbo_loss(logits, x, mu, logvar, reduction="mean")
    total = elbo_loss(logits, x, mu, logvar, reduction="sum")
    torch.testing.assert_close(mean.loss, per_image.loss.mean())
    torch.testing.assert_close(total.loss, per_image.loss.sum())
    manual_bce = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 6
    torch.testing.assert_close(mean.reconstruction, manual_bce, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(per_image.loss, per_image.reconstruction + per_image.kl)
    beta3 = elbo_loss(logits, x, mu, logvar, beta=3.0, reduction="none")
    torch.testing.assert_close(beta3.loss, per_image.reconstruction + 3 * per_image.kl)


def test_reparameterize_statistics_and_gradients():
    torch.manual_seed(0)
    mu = torch.tensor([[1.0, -2.0]]).repeat(20000, 1).requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).repeat(20000, 1).requires_grad_()
    z = VAE.reparameterize(mu, logvar)
    assert z.shape == mu.shape
    torch.testing.assert_close(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.5, 2.0]), atol=0.05, rtol=0)
    # d z / d mu = 1 for every sample; d z / d logvar = (z - mu) / 2: gradients flow through the sample.
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, (z.detach() - mu.detach()) / 2)


@pytest.mark.parametrize("model", [MLPVAE(latent_dim=4, hidden=32), ConvVAE(latent_dim=4, channels=4)])
def test_vae_forward_shapes_and_gradient_reaches_encoder(model, images):
    logits, mu, logvar = model(images[:5])
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 4)
    elbo_loss(logits, images[:5], mu, logvar).loss.backward()
    assert model.to_mu.weight.grad is not None and model.to_mu.weight.grad.abs().sum() > 0
    assert model.to_logvar.weight.grad.abs().sum() > 0


def test_kl_and_reconstruction_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        kl_normal(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        kl_normal(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        kl_normal(torch.zeros(2, 3), torch.zeros(2, 3), reduction="avg")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reconstruction_loss(torch.zeros(1, 1, 28, 28), -torch.ones(1, 1, 28, 28))
    with pytest.raises(ValueError, match="beta"):
        elbo_loss(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 28, 28), torch.zeros(1, 2), torch.zeros(1, 2), beta=-1)


# ----------------------------------------------------------------------------- vae_nelbo


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


# ----------------------------------------------------------------------------- importance sampling


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
