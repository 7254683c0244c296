"""Reconstruction losses by name, the Gaussian KL in closed form, and the (beta-)ELBO.

Reductions are explicit and the same everywhere in the course:
*summed over pixels* (or latent dimensions) to get one number **per image**, then
*averaged over the batch* (``reduction="mean"``), so losses are in nats per image.
``reduction="none"`` returns the per-image values ``(B,)``; ``"sum"`` adds them up.
"""

from __future__ import annotations

import dataclasses
import math as _math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from .checks import check_number

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

    First used in notebook 01.
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

    First used in notebook 02.
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
    check_number("beta", beta, low=0)
    recon = reconstruction_loss(logits, x, kind, reduction)
    kl = kl_normal(mu, logvar, reduction)
    return ELBOTerms(recon + beta * kl, recon, kl)


# --- reconstruction terms written as the negative log-likelihoods they are (notebook 03)


def _check_scale(name: str, value: float) -> float:
    return check_number(name, value, low=0, low_open=True)


def _pixel_means(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or not isinstance(x, torch.Tensor):
        raise TypeError("logits and x must be tensors")
    if logits.shape != x.shape or logits.dim() < 2:
        raise ValueError(f"logits and x must have the same shape (B, ...), got {tuple(logits.shape)} and {tuple(x.shape)}")
    return torch.sigmoid(logits)


def gaussian_nll(
    logits: torch.Tensor, x: torch.Tensor, sigma: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """−log N(x; sigmoid(logits), sigma² I) in nats, summed over pixels (a density, so it can be < 0).

    ``logits``, ``x``: ``(B, 1, 28, 28)`` (any ``(B, ...)``). ``sigma`` > 0 is the *fixed* noise
    standard deviation the decoder assumes around its mean. Per image with D pixels:
    ``SSE / (2 sigma²) + D/2 · log(2π sigma²)``; the second term is a constant, so training with it is
    training with ``SSE`` scaled by ``1 / (2 sigma²)``: a small sigma weighs reconstruction more.

    First used in notebook 03.
    """
    sigma = _check_scale("sigma", sigma)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    sq = (_pixel_means(logits, x) - x).pow(2).flatten(1)
    per_image = sq.sum(1) / (2 * sigma**2) + 0.5 * sq.shape[1] * _math.log(2 * _math.pi * sigma**2)
    return _reduce(per_image, reduction)


def laplace_nll(
    logits: torch.Tensor, x: torch.Tensor, scale: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """−log Laplace(x; sigmoid(logits), scale) in nats, summed over pixels (a density, so it can be < 0).

    ``logits``, ``x``: ``(B, 1, 28, 28)`` (any ``(B, ...)``). ``scale`` = b > 0 is the fixed spread
    (mean absolute deviation) around the decoder's mean. Per image with D pixels:
    ``SAE / b + D · log(2 b)``: the L1 loss scaled by ``1 / b`` plus a constant.

    First used in notebook 03.
    """
    scale = _check_scale("scale", scale)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    ab = (_pixel_means(logits, x) - x).abs().flatten(1)
    per_image = ab.sum(1) / scale + ab.shape[1] * _math.log(2 * scale)
    return _reduce(per_image, reduction)


# --- the objectives handed to ``train.fit`` / ``train.load_or_fit``
# One VAE objective and one autoencoder objective for the whole course, with fixed history keys
# ("reconstruction", "kl"), so every notebook's curves and tables speak the same names.

OBJECTIVE_RECONSTRUCTIONS = ("bce", "mse", "l1", "gaussian", "laplace")


def _reconstruction(kind: str, scale: float, logits: torch.Tensor, x: torch.Tensor, reduction: str) -> torch.Tensor:
    if kind == "gaussian":
        return gaussian_nll(logits, x, sigma=scale, reduction=reduction)
    if kind == "laplace":
        return laplace_nll(logits, x, scale=scale, reduction=reduction)
    return reconstruction_loss(logits, x, kind, reduction)


def _check_objective(kind: str, scale: float, reduction: str, corruption) -> None:
    if kind not in OBJECTIVE_RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be one of {OBJECTIVE_RECONSTRUCTIONS}, got {kind!r}")
    _check_scale("scale", scale)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' (per image, averaged over the batch) or 'sum', got {reduction!r}")
    if corruption is not None and not callable(corruption):
        raise TypeError(f"corruption must be a function images -> corrupted images, got {type(corruption).__name__}")


@dataclasses.dataclass(frozen=True)
class VAEObjective:
    """The (β-)VAE loss for ``fit``: ``objective(model, batch) -> (loss, {"reconstruction": ..., "kl": ...})``.

    ``loss = reconstruction + beta * KL``, each summed over pixels / latent dimensions per image and
    averaged over the batch (``reduction="mean"``, nats per image) or summed (``"sum"``).

    Fields:
        reconstruction: ``"bce"`` (Bernoulli, the default), ``"mse"`` / ``"l1"`` (summed squared / absolute
            error), or ``"gaussian"`` / ``"laplace"`` (the full negative log-likelihoods with spread ``scale``).
        beta: weight of the KL term, >= 0 (1 is the ELBO; notebook 04 varies it).
        scale: σ of the Gaussian or b of the Laplace decoder (ignored by the other kinds).
        corruption: optional ``images -> corrupted images``; the model sees the corrupted batch and is scored
            against the clean one (a denoising VAE, notebook 06).

    The model must return ``(logits, mu, logvar)`` from ``model(x)`` (the course's ``VAE`` classes).
    Notebook 02 writes this loss out by hand once and checks it against this class.

    First used in notebook 02.
    """

    reconstruction: str = "bce"
    beta: float = 1.0
    scale: float = 1.0
    reduction: str = "mean"
    corruption: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self):
        _check_objective(self.reconstruction, self.scale, self.reduction, self.corruption)
        check_number("beta", self.beta, low=0)

    def __call__(self, model, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = batch[0]
        inputs = self.corruption(x) if self.corruption is not None else x
        logits, mu, logvar = model(inputs)
        rec = _reconstruction(self.reconstruction, self.scale, logits, x, self.reduction)
        kl = kl_normal(mu, logvar, self.reduction)
        return rec + self.beta * kl, {"reconstruction": rec, "kl": kl}


@dataclasses.dataclass(frozen=True)
class AEObjective:
    """A plain autoencoder's loss for ``fit``: ``(model, batch) -> (loss, {"reconstruction": loss})``.

    ``model(x)`` returns reconstruction logits. Fields as for ``VAEObjective`` (no β, no KL).

    First used in notebook 01.
    """

    reconstruction: str = "bce"
    scale: float = 1.0
    reduction: str = "mean"
    corruption: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self):
        _check_objective(self.reconstruction, self.scale, self.reduction, self.corruption)

    def __call__(self, model, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = batch[0]
        inputs = self.corruption(x) if self.corruption is not None else x
        rec = _reconstruction(self.reconstruction, self.scale, model(inputs), x, self.reduction)
        return rec, {"reconstruction": rec}
