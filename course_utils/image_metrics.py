"""Image metrics: PSNR (denoising, notebook 06) and sharpness (blur of samples, notebooks 03-05).

Pure functions of pixel tensors: no models, no training.
"""

from __future__ import annotations

import torch

from .checks import check_number

def psnr(estimate: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(max² / MSE)``.

    ``estimate``, ``target``: ``(B, ...)`` of the same shape. Returns ``(B,)``; an exact match gives ``inf``.
    Average PSNRs over images with ``.mean()`` only after checking for ``inf`` (``finite_mean`` helps).

    First used in notebook 06.
    """
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target must have the same shape, got {tuple(estimate.shape)} and {tuple(target.shape)}")
    if estimate.dim() < 2:
        raise ValueError(f"expected a batch (B, ...), got shape {tuple(estimate.shape)}")
    max_value = check_number("max_value", max_value, low=0, low_open=True)
    mse = (estimate.float() - target.float()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(max_value**2 / mse)  # mse == 0 -> +inf, on purpose


def finite_mean(values: torch.Tensor) -> float:
    """Mean of the finite entries of ``values`` ``(N,)`` (e.g. per-image PSNRs), skipping ``+inf``.

    A perfect reconstruction has PSNR = +inf; one such image would make the plain mean infinite.
    Raises ``ValueError`` on NaN (a bug upstream, never a result) or when no entry is finite.
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a tensor, got {type(values).__name__}")
    values = values.detach().double().flatten()
    if values.isnan().any():
        raise ValueError("values must not contain NaN")
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        raise ValueError(f"values must have at least one finite entry, got {values.numel()} non-finite ones")
    return float(finite.mean())


def mean_psnr(estimate: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> float:
    """Average over images of ``psnr(estimate, target)`` in dB, skipping exact copies (``+inf``).

    ``estimate``, ``target``: ``(B, ...)`` of the same shape, values on the scale of ``max_value``.
    This is the convention of denoising papers (mean of per-image PSNRs, not PSNR of the mean MSE).

    First used in notebook 03.
    """
    return finite_mean(psnr(estimate, target, max_value))


def sharpness(images: torch.Tensor) -> torch.Tensor:
    """Mean gradient magnitude per image: ``(B, 1, H, W)`` -> ``(B,)``.

    Finite differences ``dx``, ``dy`` between neighbouring pixels, ``sqrt(dx² + dy²)`` averaged over the
    image. Blurry images score low. It favours *any* high-frequency content, noise included, so compare
    it with the value for real digits rather than reading "higher is better".

    First used in notebook 03.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 1 or min(images.shape[2:]) < 2 or len(images) == 0:
        raise ValueError(f"images must have shape (B, 1, H, W) with B >= 1 and H, W >= 2, got {tuple(images.shape)}")
    img = images.detach().float()[:, 0]
    dx = img[:, :-1, 1:] - img[:, :-1, :-1]
    dy = img[:, 1:, :-1] - img[:, :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1).cpu()
