"""Argument checks shared by every module: one clear error that names the argument and the allowed range.

A wrong argument should fail here, at the course's boundary, with a sentence a student can act on, not
deep inside torch with a shape mismatch. Each check returns the value it accepted (converted to a plain
Python type), so callers can write ``n = check_int("n", n, low=1)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

IMAGE_SHAPE = (1, 28, 28)


class ArgumentError(TypeError, ValueError):
    """A bad argument: of the wrong type or out of range (catch it as either ``TypeError`` or ``ValueError``)."""


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """``value`` must be an int (NumPy ints too, never a bool) in ``[low, high]``; returns it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(f"{name} must be an int{_range(low, high)}, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ArgumentError(f"{name} must be{_range(low, high)} (an int), got {value}")
    return int(value)


def check_number(
    name: str, value, low: float | None = None, high: float | None = None, low_open: bool = False
) -> float:
    """``value`` must be a finite real number (not a bool) in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{name} must be a number{_range(low, high, low_open)}, got {type(value).__name__}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        raise ArgumentError(f"{name} must be{_range(low, high, low_open)}, got {value}")
    return value


def check_fraction(name: str, value) -> float:
    """A probability or fraction in [0, 1]."""
    return check_number(name, value, 0.0, 1.0)


def check_images(images, name: str = "images", exact_shape: bool = True) -> torch.Tensor:
    """A float tensor of images ``(N, 1, 28, 28)`` (N >= 1) with values in [0, 1] and no NaN.

    With ``exact_shape=False`` any ``(..., H, W)`` float tensor is accepted (noise functions work on
    single images too); the value range is checked either way.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {_kind(images)}")
    if exact_shape and (images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE or len(images) == 0):
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) with N >= 1, got {tuple(images.shape)}")
    if images.isnan().any():  # NaN compares False with everything: the range check below would let it pass
        raise ValueError(f"{name} must be in [0, 1], got NaN values")
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"{name} must be in [0, 1], got values in "
            f"[{images.min().item():.3g}, {images.max().item():.3g}]"
        )
    return images


def check_model(name: str, model, *attributes: str) -> None:
    """``model`` must be an ``nn.Module`` with the given attributes (e.g. ``"encode"``, ``"latent_dim"``)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    for attr in attributes:
        if not hasattr(model, attr):
            raise TypeError(f"{name} must have {attr!r} (a course model); {type(model).__name__} has not")


def _range(low, high, low_open: bool = False) -> str:
    low, high = (f"{v:g}" if isinstance(v, float) else v for v in (low, high))
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" <= {high}"
    return f" in {'(' if low_open else '['}{low}, {high}]"


def _kind(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor"
    return type(value).__name__
