"""Latent sliders: one slider per latent coordinate, and the digit(s) the decoder makes of the code.

``latent_explorer(model)`` shows one decoder; ``traversal_explorer({"beta=1": a, "beta=4": b})`` drives
several decoders with the *same* sliders, side by side. Both are ``Explorer`` s (``course_utils.panels``)::

    w = latent_explorer(vae)
    w.sliders[3].value = 2.0       # z[3] = 2, the image redraws itself
    png = w.image.value            # bytes of the PNG now shown

``render_latent(model, z)`` is the function under the sliders: one latent vector in, one ``(28, 28)``
NumPy image in [0, 1] out.

A *model* here is anything with an integer ``latent_dim`` and a ``decode(z)`` method mapping
``(B, latent_dim)`` codes to pixel values ``(B, 1, 28, 28)`` in [0, 1] (the course's VAEs and
autoencoders), or a ``decode_logits(z)`` method (the sigmoid is applied). Objects with neither are called
directly, ``model(z)`` (the GAN generator).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from .checks import check_int
from .models import evaluating, model_device
from .panels import INSTALL_HINT, Explorer, Panel, Slider, image_to_png  # noqa: F401 (re-exported)

MAX_DEFAULT_SLIDERS = 10  # more sliders than this do not fit on a screen; pass dims= to choose others


# ----------------------------------------------------------------------------- latent explorers


def _latent_dim(model) -> int:
    dim = getattr(model, "latent_dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise TypeError(
            f"model must have an int attribute latent_dim >= 1 (a course VAE, autoencoder or GAN generator), "
            f"got {type(model).__name__} with latent_dim={dim!r}"
        )
    return dim


def as_latent(z, latent_dim: int) -> torch.Tensor:
    """One latent vector (list, NumPy array or tensor of length ``latent_dim``) -> float tensor ``(latent_dim,)``."""
    if isinstance(z, torch.Tensor):
        z = z.detach().float().cpu()
    else:
        try:
            z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise TypeError(f"z must be a 1-D tensor, array or list of numbers, got {type(z).__name__}") from err
    if z.dim() != 1 or z.numel() != latent_dim:
        raise ValueError(f"z must be a 1-D vector of length latent_dim={latent_dim}, got shape {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError("z must hold finite numbers (no NaN or inf)")
    return z


def render_latent(model, z) -> np.ndarray:
    """Decode one latent vector into an image.

    Args:
        model: a decoder with ``latent_dim`` and ``decode`` (see the module docstring).
        z: one latent vector, shape ``(latent_dim,)`` (tensor, array or list).

    Returns:
        float32 NumPy array ``(28, 28)`` with values in [0, 1].

    The model is evaluated in ``eval`` mode without gradients; its training flag is restored.

    Called by the latent explorers (`LatentExplorer` and the builders in `explorers`).
    """
    latent_dim = _latent_dim(model)
    z = as_latent(z, latent_dim)
    decode = getattr(model, "decode", None)
    if decode is None and hasattr(model, "decode_logits"):  # a decoder that returns logits (notebook 01's own)
        decode = lambda z: torch.sigmoid(model.decode_logits(z))  # noqa: E731
    decode = decode or model
    if isinstance(model, torch.nn.Module):
        with evaluating(model):
            out = decode(z.to(model_device(model)).unsqueeze(0))
    else:
        with torch.no_grad():
            out = decode(z.unsqueeze(0))
    if not isinstance(out, torch.Tensor) or out.numel() != 28 * 28:
        raise ValueError(f"the decoder must return one 28x28 image, got {getattr(out, 'shape', type(out))}")
    # Clip: a decoder that overshoots [0, 1] slightly (e.g. a linear output) should still draw.
    return out.reshape(28, 28).clamp(0.0, 1.0).float().cpu().numpy()


class LatentExplorer(Explorer):
    """Sliders ``z[i]`` (one per exposed latent dimension) above one decoded digit per model.

    Attributes (besides ``Explorer``'s): ``dims``, the latent indices the sliders control, and
    ``base``, the latent vector ``(latent_dim,)`` the sliders start from (unexposed dimensions keep it).
    """

    def __init__(self, models: Mapping[str, object], dims: list[int], value_range: tuple[float, float],
                 step: float, base: torch.Tensor, scale: int):
        self.models = dict(models)
        self.dims = list(dims)
        self.base = base.clone()
        lo, hi = value_range
        sliders = {f"z[{d}]": Slider(f"z[{d}]", lo, hi, step, float(min(max(base[d].item(), lo), hi)))
                   for d in self.dims}
        panels = {name: Panel(self._renderer(model), scale) for name, model in self.models.items()}
        super().__init__(sliders, panels)

    def _renderer(self, model):
        return lambda values: render_latent(model, self._latent_from(values))

    def _latent_from(self, values: dict) -> torch.Tensor:
        z = self.base.clone()
        for d in self.dims:
            z[d] = values[f"z[{d}]"]
        return z

    def latent(self) -> torch.Tensor:
        """The latent vector ``(latent_dim,)`` the sliders currently describe."""
        return self._latent_from(self.values())


def check_range(value_range, step) -> tuple[tuple[float, float], float]:
    """``(low, high)`` finite with low < high, and a step in (0, high - low]; returned as floats."""
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError) as err:
        raise TypeError(f"value_range must be a pair of numbers (low, high), got {value_range!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be finite with low < high, got {value_range!r}")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= hi - lo:
        raise ValueError(f"step must be a number in (0, {hi - lo:g}] (the width of value_range), got {step!r}")
    return (lo, hi), float(step)


def _check_dims(dims, latent_dim: int) -> list[int]:
    if dims is None:
        return list(range(min(latent_dim, MAX_DEFAULT_SLIDERS)))
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be a list of ints in [0, {latent_dim}), got {type(dims).__name__}")
    if len(dims) == 0:
        raise ValueError(f"dims must name at least one latent index in [0, {latent_dim})")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"dims must hold ints in [0, {latent_dim}), got {d!r}")
        if not 0 <= d < latent_dim:
            raise ValueError(f"dims must hold ints in [0, {latent_dim}) (the latent size), got {d}")
    if len(set(int(d) for d in dims)) != len(dims):
        raise ValueError(f"dims must not repeat an index, got {list(dims)}")
    return [int(d) for d in dims]


def traversal_explorer(
    models: Mapping[str, object],
    dims: Sequence[int] | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    step: float = 0.1,
    base=None,
    scale: int = 6,
) -> LatentExplorer:
    """Several decoders driven by the same latent sliders, drawn side by side.

    Args:
        models: ``{label: model}``, at least one; every model must have the same ``latent_dim``.
        dims: latent indices that get a slider (default: the first ``min(latent_dim, 10)``).
        value_range: ``(low, high)`` of every slider; a standard-normal prior puts 99.7 % of its
            mass in (-3, 3), the default.
        step: slider resolution, in (0, high - low].
        base: starting latent vector ``(latent_dim,)`` (default zeros, the prior's mean); dimensions
            without a slider stay at their ``base`` value.
        scale: how many screen pixels per image pixel (the 28x28 digit is drawn ``28*scale`` wide).

    Returns:
        a ``LatentExplorer`` with ``.sliders``, ``.images`` and ``.image``.

    First used in notebook 03.
    """
    if not isinstance(models, Mapping) or len(models) == 0:
        raise TypeError("models must be a non-empty dict {label: model}")
    sizes = {str(name): _latent_dim(m) for name, m in models.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"all models must have the same latent_dim to share sliders, got {sizes}")
    latent_dim = next(iter(sizes.values()))
    dims = _check_dims(dims, latent_dim)
    value_range, step = check_range(value_range, step)
    base = torch.zeros(latent_dim) if base is None else as_latent(base, latent_dim)
    check_int("scale", scale, 1, 32)
    return LatentExplorer({str(k): v for k, v in models.items()}, dims, value_range, step, base, scale)


def latent_explorer(
    model,
    dims: Sequence[int] | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    step: float = 0.1,
    base=None,
    scale: int = 6,
) -> LatentExplorer:
    """Sliders ``z[i]`` for one decoder and the digit they decode, redrawn whenever a slider moves.

    Same arguments as ``traversal_explorer`` with a single ``model``. For a 2-D latent model the
    default is two sliders, ``z[0]`` and ``z[1]``.

    First used in notebook 02.
    """
    return traversal_explorer({"": model}, dims=dims, value_range=value_range, step=step, base=base, scale=scale)
