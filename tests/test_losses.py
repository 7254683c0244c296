import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import losses


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
