"""Reconstruction losses by name, the Gaussian KL in closed form, and the (beta-)ELBO.

Reductions are explicit and the same everywhere in the course:
*summed over pixels* (or latent dimensions) to get one number **per image**, then
*averaged over the batch* (``reduction="mean"``), so losses are in nats per image.
``reduction="none"`` returns the per-image values ``(B,)``; ``"sum"`` adds them up.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

RECONSTRUCTIONS = ("bce", "mse", "l1")
REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_image.mean()
    if reduction == "sum":
        return per_image.sum()
    if reduction == "none":
        return per_image
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reconstruction_loss(
    logits: torch.Tensor, x: torch.Tensor, kind: str = "bce", reduction: str = "mean"
) -> torch.Tensor:
    """Reconstruction error of decoder ``logits`` against targets ``x``, both ``(B, 1, 28, 28)``.

    * ``"bce"``: Bernoulli negative log-likelihood, computed stably from the logits (nats).
    * ``"mse"``: squared error of ``sigmoid(logits)``, summed over pixels.
    * ``"l1"``: absolute error of ``sigmoid(logits)``, summed over pixels.

    Targets must lie in [0, 1] (BCE is meaningless outside it).
    """
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"kind must be one of {RECONSTRUCTIONS}, got {kind!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if logits.shape != x.shape:
        raise ValueError(f"logits and x must have the same shape, got {tuple(logits.shape)} and {tuple(x.shape)}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"targets x must be in [0, 1], got values in [{x.min().item():.3g}, {x.max().item():.3g}]"
        )
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "mse":
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    else:
        per_pixel = (torch.sigmoid(logits) - x).abs()
    return _reduce(per_pixel.flatten(1).sum(1), reduction)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) in nats, summed over the latent dimensions.

    ``mu``, ``logvar``: ``(B, D)``. Closed form: ½ Σ_d (mu² + σ² − log σ² − 1).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if mu.dim() != 2:
        raise ValueError(f"mu and logvar must have shape (B, D), got {tuple(mu.shape)}")
    per_image = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(1)
    return _reduce(per_image, reduction)


class ELBOTerms(NamedTuple):
    """The loss to minimise and its two parts (all in nats per image unless reduction says otherwise)."""

    loss: torch.Tensor           # recon + beta * kl
    reconstruction: torch.Tensor
    kl: torch.Tensor


def elbo_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    kind: str = "bce",
    reduction: str = "mean",
) -> ELBOTerms:
    """Negative (beta-)ELBO: reconstruction + beta * KL. With ``kind="bce"`` and beta=1 this is −ELBO."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"beta must be a number >= 0, got {beta!r}")
    recon = reconstruction_loss(logits, x, kind, reduction)
    kl = kl_normal(mu, logvar, reduction)
    return ELBOTerms(recon + beta * kl, recon, kl)
