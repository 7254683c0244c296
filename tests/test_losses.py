from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Laplace, Normal

from course_utils import losses
from course_utils.losses import (
    elbo_loss,
    gaussian_nll,
    kl_normal,
    laplace_nll,
    reconstruction_loss,
)
from course_utils.models import MLPVAE


def test_bce_is_bernoulli_nll_summed_over_pixels_and_averaged_over_batch():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    p = torch.sigmoid(logits)
    by_hand = -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    assert torch.allclose(losses.reconstruction_loss(logits, x, "bce", "none"), by_hand, atol=1e-3)
    assert torch.allclose(losses.reconstruction_loss(logits, x, "bce"), by_hand.mean(), atol=1e-3)
    assert torch.allclose(losses.reconstruction_loss(logits, x, "bce", "sum"), by_hand.sum(), atol=1e-2)


def test_mse_and_l1_use_sigmoid_of_logits():
    logits, x = torch.randn(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    p = torch.sigmoid(logits)
    assert torch.allclose(losses.reconstruction_loss(logits, x, "mse"), F.mse_loss(p, x, reduction="sum") / 3)
    assert torch.allclose(losses.reconstruction_loss(logits, x, "l1"), F.l1_loss(p, x, reduction="sum") / 3)


def test_bce_stays_finite_for_confident_wrong_logits():
    logits = torch.full((1, 1, 28, 28), 200.0)
    x = torch.zeros(1, 1, 28, 28)
    value = losses.reconstruction_loss(logits, x, "bce")
    assert torch.isfinite(value) and math.isclose(value.item(), 200.0 * 784, rel_tol=1e-4)


def test_kl_zero_only_at_standard_normal_and_positive_elsewhere():
    zeros = torch.zeros(2, 5)
    assert losses.kl_normal(zeros, zeros).item() == 0.0
    torch.manual_seed(1)
    mu, logvar = torch.randn(100, 5), torch.randn(100, 5)
    assert (losses.kl_normal(mu, logvar, "none") > 0).all()


def test_kl_matches_monte_carlo():
    mu, logvar = torch.tensor([[0.7, -1.2]]), torch.tensor([[-0.5, 0.8]])
    std = (0.5 * logvar).exp()
    torch.manual_seed(0)
    z = mu + std * torch.randn(400_000, 2)
    log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    mc = (log_q - log_p).mean().item()
    assert abs(losses.kl_normal(mu, logvar).item() - mc) < 0.02


def test_elbo_combines_terms_with_beta():
    logits, x = torch.randn(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    mu, logvar = torch.randn(2, 3), torch.randn(2, 3)
    terms = losses.elbo_loss(logits, x, mu, logvar, beta=4.0)
    assert torch.allclose(terms.loss, terms.reconstruction + 4.0 * terms.kl)
    assert torch.allclose(losses.elbo_loss(logits, x, mu, logvar, beta=0).loss, terms.reconstruction)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda l, x: losses.reconstruction_loss(l, x, "ssim"), ValueError, "kind must be one of"),
        (lambda l, x: losses.reconstruction_loss(l, x, "bce", "avg"), ValueError, "reduction must be one of"),
        (lambda l, x: losses.reconstruction_loss(l, x * 2 - 1, "bce"), ValueError, r"targets x must be in \[0, 1\]"),
        (lambda l, x: losses.reconstruction_loss(l[:1], x, "bce"), ValueError, "same shape"),
        (lambda l, x: losses.kl_normal(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError, "same shape"),
        (lambda l, x: losses.kl_normal(torch.zeros(3), torch.zeros(3)), ValueError, r"\(B, D\)"),
        (lambda l, x: losses.elbo_loss(l, x, torch.zeros(2, 3), torch.zeros(2, 3), beta=-1), ValueError, "beta"),
    ],
)
def test_bad_input(call, err, match):
    logits, x = torch.randn(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    with pytest.raises(err, match=match):
        call(logits, x)


def _batch(seed=0, b=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 1, 28, 28, generator=g) * 2, torch.rand(b, 1, 28, 28, generator=g)


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


# ----------------------------------------------------------------------------- the course's objectives


def test_vae_objective_is_reconstruction_plus_beta_kl_with_fixed_keys():
    from course_utils.losses import VAEObjective, elbo_loss

    torch.manual_seed(0)
    model = MLPVAE(latent_dim=3, hidden=16)
    x = torch.rand(5, 1, 28, 28)
    for beta in (0.0, 1.0, 4.0):
        torch.manual_seed(1)
        loss, parts = VAEObjective(beta=beta)(model, (x,))
        torch.manual_seed(1)
        logits, mu, logvar = model(x)
        expected = elbo_loss(logits, x, mu, logvar, beta=beta)
        assert set(parts) == {"reconstruction", "kl"}
        torch.testing.assert_close(loss, expected.loss)
        torch.testing.assert_close(parts["reconstruction"], expected.reconstruction)


def test_vae_objective_likelihood_kinds_and_reduction():
    from course_utils.losses import VAEObjective, gaussian_nll, kl_normal, laplace_nll

    torch.manual_seed(0)
    model = MLPVAE(latent_dim=3, hidden=16)
    x = torch.rand(4, 1, 28, 28)
    for objective, nll in ((VAEObjective("gaussian", scale=0.3), lambda lg: gaussian_nll(lg, x, sigma=0.3)),
                           (VAEObjective("laplace", scale=2.0), lambda lg: laplace_nll(lg, x, scale=2.0))):
        torch.manual_seed(2)
        loss, parts = objective(model, (x,))
        torch.manual_seed(2)
        logits, mu, logvar = model(x)
        torch.testing.assert_close(loss, nll(logits) + kl_normal(mu, logvar))
    torch.manual_seed(3)
    total, _ = VAEObjective(reduction="sum")(model, (x,))
    torch.manual_seed(3)
    mean, _ = VAEObjective()(model, (x,))
    torch.testing.assert_close(total, mean * len(x))


def test_objectives_corrupt_the_input_but_score_against_the_clean_batch():
    from course_utils.losses import AEObjective

    model = models_autoencoder()
    x = torch.rand(3, 1, 28, 28)
    seen = []

    def blank(images):
        seen.append(images)
        return torch.zeros_like(images)

    loss, parts = AEObjective("mse", corruption=blank)(model, (x,))
    expected = reconstruction_loss(model(torch.zeros_like(x)), x, "mse")
    torch.testing.assert_close(loss, expected)
    assert set(parts) == {"reconstruction"} and seen[0] is x


@pytest.mark.parametrize("kwargs, match", [
    (dict(reconstruction="huber"), "reconstruction"), (dict(beta=-1.0), "beta"), (dict(scale=0.0), "scale"),
    (dict(reduction="none"), "reduction"), (dict(corruption=3), "corruption"),
])
def test_vae_objective_rejects_bad_fields(kwargs, match):
    from course_utils.losses import VAEObjective

    with pytest.raises((TypeError, ValueError), match=match):
        VAEObjective(**kwargs)


def models_autoencoder():
    from course_utils.models import Autoencoder

    torch.manual_seed(0)
    return Autoencoder(latent_dim=2, hidden=(8,))
