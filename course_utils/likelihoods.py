"""How well a VAE explains data, in nats per image: the negative ELBO, an importance-sampled log p(x),
rate and distortion, and which latent dimensions carry information (notebooks 02-04, 06, 07).

Test-set numbers for a VAE with a Bernoulli decoder: the -ELBO is an upper bound on -log p(x), and the
importance-weighted estimate (Burda, Grosse & Salakhutdinov, 2016) tightens it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .checks import check_images, check_int, check_number
from .losses import elbo_loss
from .models import evaluating, model_device

def _check_codes_matrix(name: str, mu: torch.Tensor) -> None:
    if not isinstance(mu, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(mu).__name__}")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, D) with N >= 2, got {tuple(mu.shape)}")


def latent_activity(mu: torch.Tensor) -> torch.Tensor:
    """Per-dimension activity ``A_d = Var_x( E_q[z_d | x] )`` (Burda et al., 2016).

    ``mu``: ``(N, D)`` encoder means of N data points. Returns ``(D,)`` variances over the data
    (unbiased, ``N - 1`` in the denominator). A dimension whose mean does not move with the input
    carries no information about it: the decoder cannot use it.

    First used in notebook 03.
    """
    _check_codes_matrix("mu", mu)
    return mu.detach().float().var(0, unbiased=True).cpu()


def active_dims(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Number of *active* latent dimensions: those whose ``latent_activity`` exceeds ``threshold``.

    ``mu``: ``(N, D)`` encoder means; ``threshold`` > 0 (Burda et al. use 0.01). With the prior
    N(0, 1), an active dimension's means spread over the data; a collapsed one sits at ~0 for every x.

    First used in notebook 02.
    """
    check_number("threshold", threshold, low=0, low_open=True)
    return int((latent_activity(mu) > threshold).sum())


def _check_vae_inputs(model, images, batch_size) -> None:
    for attr in ("encode", "decode_logits", "latent_dim"):
        if not hasattr(model, attr):
            raise TypeError(f"model must be a course VAE (encode, decode_logits, latent_dim); it has no {attr!r}")
    check_images(images)
    check_int("batch_size", batch_size, low=1)


def vae_nelbo(
    model, images: torch.Tensor, batch_size: int = 500, generator: torch.Generator | None = None
) -> dict[str, float]:
    """The negative ELBO of a VAE on ``images``, in nats per image, with its two parts.

    ``images``: ``(N, 1, 28, 28)`` in [0, 1]. The model runs in ``eval`` mode without gradients;
    its training flag is restored. One z ~ q(z|x) per image (drawn with ``generator``, on the CPU,
    so the number is reproducible), Bernoulli (BCE) reconstruction, beta = 1.

    Returns ``{"nelbo": reconstruction + kl, "reconstruction": E_q[-log p(x|z)], "kl": KL(q(z|x) || N(0, I))}``,
    each averaged over the N images. ``nelbo`` is an upper bound on ``-log p(x)``.

    First used in notebook 02.
    """
    _check_vae_inputs(model, images, batch_size)
    device = model_device(model)
    sums = {"nelbo": 0.0, "reconstruction": 0.0, "kl": 0.0}
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)
            eps = torch.randn(mu.shape, generator=generator).to(device)
            z = mu + torch.exp(0.5 * logvar) * eps
            terms = elbo_loss(model.decode_logits(z), x, mu, logvar, reduction="sum")
            for key, value in zip(("nelbo", "reconstruction", "kl"), terms):
                sums[key] += float(value)
    return {key: total / len(images) for key, total in sums.items()}


def _log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def importance_log_likelihood(
    model,
    images: torch.Tensor,
    k: int = 100,
    batch_size: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Importance-sampled estimate of log p(x) per image, with q(z|x) as the proposal.

    ``log p(x) ≈ logsumexp_j [log p(x|z_j) + log p(z_j) − log q(z_j|x)] − log k``, z_1..z_k ~ q(z|x).
    For k = 1 its expectation is the ELBO; it rises towards log p(x) as k grows (and never exceeds it
    in expectation). Bernoulli decoder (BCE), standard-normal prior.

    Args:
        model: a course VAE (``encode`` -> (mu, logvar), ``decode_logits``).
        images: ``(N, 1, 28, 28)`` in [0, 1].
        k: importance samples per image, int >= 1.
        batch_size: images per chunk (memory grows as ``batch_size * k * 784``).
        generator: seeded ``torch.Generator`` for the draws (on the CPU), for reproducible numbers.

    Returns:
        ``(N,)`` float tensor on the CPU: log p(x) estimates in nats (negative numbers; −mean is
        comparable with ``vae_nelbo(...)["nelbo"]`` and lower than it).

    First used in notebook 02.
    """
    _check_vae_inputs(model, images, batch_size)
    check_int("k", k, low=1)
    device = model_device(model)
    out = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            b = len(x)
            mu, logvar = model.encode(x)                                      # (b, D)
            eps = torch.randn((k, *mu.shape), generator=generator).to(device)  # (k, b, D)
            z = mu + torch.exp(0.5 * logvar) * eps
            logits = model.decode_logits(z.reshape(k * b, -1)).view(k, b, -1)
            target = x.reshape(1, b, -1).expand(k, b, -1)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
            log_pz = _log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))
            log_qz = _log_normal_diag(z, mu, logvar)
            log_w = log_px_z + log_pz - log_qz                                # (k, b)
            out.append((torch.logsumexp(log_w, 0) - math.log(k)).cpu())
    return torch.cat(out)


class RateDistortion(NamedTuple):
    """Rate and distortion of a VAE on a data set, in nats per image, with a per-dimension breakdown."""

    rate: float                 # E_x KL(q(z|x) || p(z)), summed over latent dimensions
    distortion: float           # E_x E_q[-log p(x|z)], one z ~ q(z|x) per image (BCE)
    kl_per_dim: torch.Tensor    # (D,) E_x of each dimension's KL; sums to ``rate``
    activity: torch.Tensor      # (D,) Var_x of each dimension's posterior mean (``latent_activity``)

    @property
    def neg_elbo(self) -> float:
        """``distortion + rate``: the beta = 1 negative ELBO, whatever beta the model was trained with."""
        return self.distortion + self.rate


def rate_distortion(
    model, images: torch.Tensor, batch_size: int = 500, generator: torch.Generator | None = None
) -> RateDistortion:
    """Measure a VAE's rate and distortion on ``images`` ``(N, 1, 28, 28)`` in [0, 1] (N >= 2).

    The model runs in ``eval`` mode without gradients (its training flag is restored); z ~ q(z|x) is
    drawn once per image on the CPU with ``generator``, so the numbers are reproducible. The rate is
    the closed-form KL, per dimension ``½ (mu² + σ² − log σ² − 1)``, averaged over the images.
    ``rate + distortion`` equals ``vae_nelbo(...)["nelbo"]`` for the same draws.

    First used in notebook 04.
    """
    _check_vae_inputs(model, images, batch_size)
    if len(images) < 2:
        raise ValueError(f"images must hold at least 2 images (activity is a variance), got {len(images)}")
    device = model_device(model)
    kl_sum, distortion, mus = 0.0, 0.0, []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)                                            # (b, D) each
            eps = torch.randn(mu.shape, generator=generator).to(device)
            logits = model.decode_logits(mu + torch.exp(0.5 * logvar) * eps)       # (b, 1, 28, 28)
            distortion += float(F.binary_cross_entropy_with_logits(logits, x, reduction="sum"))
            kl_sum = kl_sum + (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)).sum(0).double().cpu()
            mus.append(mu.cpu())
    n = len(images)
    kl_per_dim = (kl_sum / n).float()
    return RateDistortion(float(kl_sum.sum() / n), distortion / n, kl_per_dim, latent_activity(torch.cat(mus)))
