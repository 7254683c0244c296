"""Corrupting digits and cleaning them up again (notebook 06): salt-and-pepper, Gaussian and masking noise,
and the classical median filter that the learned denoisers are measured against.

Every function takes images ``(..., H, W)`` with values in [0, 1], returns a new tensor, and accepts a seeded
``torch.Generator`` so the same noise can be drawn again.
"""

from __future__ import annotations

import torch

from .checks import check_fraction, check_images


def salt_and_pepper(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a fraction ``p`` of the pixels to 0 or 1 (half each, on average). Returns a new tensor.

    ``images``: float ``(..., H, W)`` in [0, 1]; ``p`` in [0, 1]. Pixels are chosen independently.

    First used in notebook 06.
    """
    check_images(images, exact_shape=False)
    p = check_fraction("p", p)
    # Draw on the CPU (where a seeded torch.Generator lives), then move: same noise on every device.
    hit = (torch.rand(images.shape, generator=generator) < p).to(images.device)
    salt = (torch.rand(images.shape, generator=generator) < 0.5).to(images.device, images.dtype)
    return torch.where(hit, salt, images)


def gaussian_noise(images: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, sigma²) noise to every pixel and clip back to [0, 1]. ``sigma`` in [0, 1].

    First used in notebook 06.
    """
    check_images(images, exact_shape=False)
    sigma = check_fraction("sigma", sigma)
    noise = torch.randn(images.shape, generator=generator).to(images.device, images.dtype)
    return (images + sigma * noise).clamp_(0.0, 1.0)


def random_mask(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a fraction ``p`` of the pixels to 0 (dropped pixels). ``p`` in [0, 1]. First used in notebook 06."""
    check_images(images, exact_shape=False)
    p = check_fraction("p", p)
    keep = (torch.rand(images.shape, generator=generator) >= p).to(images.device, images.dtype)
    return images * keep


def median_filter(images: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Classical denoiser: replace every pixel by the median of its ``size`` x ``size`` neighbourhood.

    ``images``: float ``(..., H, W)``; ``size``: odd int >= 1. Returns a new tensor of the same shape.
    Borders repeat the edge pixel (like ``scipy.ndimage.median_filter(mode="nearest")``).
    Built on ``unfold``: every window becomes one column, so the medians are one vectorised call.

    First used in notebook 06.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point tensor")
    if images.dim() < 2:
        raise ValueError(f"images must have shape (..., H, W), got {tuple(images.shape)}")
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an odd int >= 1, got {type(size).__name__}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd int >= 1, got {size}")
    if size == 1 or images.numel() == 0:
        return images.clone()
    h, w = images.shape[-2:]
    flat = images.reshape(-1, 1, h, w)
    half = size // 2
    padded = torch.nn.functional.pad(flat, (half, half, half, half), mode="replicate")
    windows = torch.nn.functional.unfold(padded, kernel_size=size)  # (N, size*size, H*W)
    # An odd count has one middle value, so torch.median (lower median) is the true median.
    return windows.median(dim=1).values.reshape(images.shape)
