"""Figures the notebooks share: image grids, loss curves, latent scatter, and ``save_figure``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import config
from .checks import check_int
from .models import evaluating, model_device


def make_grid(images: torch.Tensor, nrow: int = 8, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile ``(B, 1, H, W)`` (or ``(B, H, W)``) images into one ``(rows*(H+pad)-pad, nrow*(W+pad)-pad)`` array.

    First used in notebook 02.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.dim() == 4:
        if images.shape[1] != 1:
            raise ValueError(f"images must have one channel, got shape {tuple(images.shape)}")
        images = images[:, 0]
    if images.dim() != 3 or len(images) == 0:
        raise ValueError(f"images must have shape (B, 1, H, W) or (B, H, W) with B >= 1, got {tuple(images.shape)}")
    check_int("nrow", nrow, low=1)
    imgs = images.detach().float().cpu().numpy()
    b, h, w = imgs.shape
    ncol = min(nrow, b)
    rows = -(-b // ncol)
    grid = np.full((rows * (h + pad) - pad, ncol * (w + pad) - pad), pad_value, dtype=np.float32)
    for i, img in enumerate(imgs):
        r, c = divmod(i, ncol)
        grid[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return grid


def show_grid(
    images: torch.Tensor, nrow: int = 8, title: str | None = None, ax: plt.Axes | None = None,
    vmin: float = 0.0, vmax: float = 1.0,
) -> plt.Axes:
    """Draw a grid of grey-scale images (``(B, 1, H, W)``, values in [vmin, vmax]) on ``ax``.

    First used in notebook 01.
    """
    if ax is None:
        cols = min(nrow, len(images))
        rows = -(-len(images) // cols)
        _, ax = plt.subplots(figsize=(max(2.0, 0.6 * cols), max(1.2, 0.6 * rows + 0.4)))
    ax.imshow(make_grid(images, nrow), cmap="gray", vmin=vmin, vmax=vmax)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def compare_rows(rows: Mapping[str, torch.Tensor], nrow: int = 10, scale: float = 0.6) -> plt.Figure:
    """One labelled grid row per entry: ``{"input": x, "reconstruction": x_hat}``, each ``(B, 1, H, W)``.

    First used in notebook 01.
    """
    fig, axes = plt.subplots(len(rows), 1, figsize=(scale * nrow, scale * 1.25 * len(rows) + 0.3), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], rows.items()):
        show_grid(imgs[:nrow], nrow=nrow, ax=ax)
        ax.set_title(label, fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None,
    ax: plt.Axes | None = None, title: str | None = None, logy: bool = False,
) -> plt.Axes:
    """Training curves of ``history`` (as returned by ``fit``); ``keys`` picks which (default all).

    The x axis is the optimiser step when the history has a ``"step"`` entry (``fit`` writes one), else
    the index of the logged point.

    First used in notebook 01.
    """
    keys = list(keys) if keys is not None else [k for k in history if k != "step"]
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no key(s) {missing}; it has {sorted(history)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    steps = history.get("step")
    for key in keys:
        values = history[key]
        x = steps[: len(values)] if steps is not None and len(steps) >= len(values) else range(1, len(values) + 1)
        ax.plot(x, values, marker="o" if len(values) < 30 else None, ms=3, label=key)
    ax.set_xlabel("optimiser step" if steps is not None else "logged point")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def latent_scatter(
    z: torch.Tensor, labels: torch.Tensor, ax: plt.Axes | None = None, title: str | None = None,
    class_names: Sequence[str] | None = None, s: float = 4.0,
) -> plt.Axes:
    """Scatter 2-D codes ``z`` ``(N, 2)`` coloured by integer ``labels`` ``(N,)`` with a legend.

    First used in notebook 01.
    """
    if z.dim() != 2 or z.shape[1] != 2:
        raise ValueError(f"z must have shape (N, 2), got {tuple(z.shape)}")
    if len(labels) != len(z):
        raise ValueError(f"labels must have length {len(z)}, got {len(labels)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    z, labels = z.detach().cpu().numpy(), labels.detach().cpu().numpy()
    cmap = plt.get_cmap("tab10")
    for c in np.unique(labels):
        pts = z[labels == c]
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(pts[:, 0], pts[:, 1], s=s, color=cmap(int(c) % 10), label=name, alpha=0.7)
    ax.legend(markerscale=3, fontsize=8, loc="best", ncol=2)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return ax


def save_figure(name: str, fig: plt.Figure | None = None, dpi: int = 110) -> Path:
    """Save ``fig`` (default: the current figure) as ``NAME.png`` in ``config.figures_dir()``.

    Full mode writes ``figures/NAME.png`` in the repository (the README shows these); fast mode writes
    to a temporary folder, so CI never touches tracked files. Returns the path written.

    First used in notebook 01.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ValueError(f"name must be letters, digits, '-' or '_' (no extension), got {name!r}")
    fig = fig or plt.gcf()
    path = config.figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


# --- latent traversals (notebook 04)


def traversal_images(
    model, dims: Sequence[int], values: Sequence[float], base: torch.Tensor | None = None
) -> torch.Tensor:
    """Decode a latent *traversal*: move one coordinate at a time, keep the others at ``base``.

    Args:
        model: a decoder with an int ``latent_dim`` and ``decode(z)``: ``(B, latent_dim)`` -> ``(B, 1, 28, 28)``.
        dims: latent indices to move, each in ``[0, latent_dim)``; one row each.
        values: the values each moved coordinate takes; one column each.
        base: the latent vector ``(latent_dim,)`` the others keep (default zeros, the prior's mean).

    Returns:
        ``(len(dims), len(values), 1, 28, 28)`` pixel values on the CPU. The model runs in ``eval``
        mode; its training flag is restored.

    First used in notebook 04.
    """
    latent_dim = getattr(model, "latent_dim", None)
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or not hasattr(model, "decode"):
        raise TypeError(f"model must have an int latent_dim and a decode method, got {type(model).__name__}")
    dims = list(dims)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d < latent_dim for d in dims):
        raise ValueError(f"dims must be a non-empty list of ints in [0, {latent_dim}), got {dims}")
    values = torch.as_tensor(list(values), dtype=torch.float32)
    if values.dim() != 1 or len(values) == 0 or not torch.isfinite(values).all():
        raise ValueError(f"values must be a non-empty list of finite numbers, got {values.tolist()}")
    base = torch.zeros(latent_dim) if base is None else torch.as_tensor(base, dtype=torch.float32).detach().cpu()
    if base.shape != (latent_dim,):
        raise ValueError(f"base must have shape ({latent_dim},), got {tuple(base.shape)}")
    z = base.repeat(len(dims), len(values), 1)                      # (rows, cols, D)
    for row, d in enumerate(dims):
        z[row, :, d] = values
    if isinstance(model, torch.nn.Module):
        with evaluating(model):
            images = model.decode(z.reshape(-1, latent_dim).to(model_device(model))).cpu()
    else:
        with torch.no_grad():
            images = model.decode(z.reshape(-1, latent_dim)).cpu()
    return images.reshape(len(dims), len(values), *images.shape[1:])


def traversal_grid(
    model, dims: Sequence[int], values: Sequence[float], base: torch.Tensor | None = None,
    row_labels: Sequence[str] | None = None, ax: plt.Axes | None = None, title: str | None = None,
) -> plt.Axes:
    """Draw ``traversal_images``: rows = latent dimensions, columns = values (labelled underneath).

    ``row_labels`` (one per dim) default to ``z[d]``. Returns the axes.

    First used in notebook 04.
    """
    images = traversal_images(model, dims, values, base)            # (rows, cols, 1, 28, 28)
    rows, cols = images.shape[:2]
    labels = list(row_labels) if row_labels is not None else [f"z[{d}]" for d in dims]
    if len(labels) != rows:
        raise ValueError(f"row_labels must have one label per dim ({rows}), got {len(labels)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * cols + 1.2, 0.55 * rows + 0.5))
    h, w = images.shape[-2:]
    ax.imshow(make_grid(images.reshape(-1, *images.shape[2:]), nrow=cols), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([r * (h + 1) + h / 2 for r in range(rows)], labels, fontsize=8)
    ax.set_xticks([c * (w + 1) + w / 2 for c in range(cols)], [f"{float(v):g}" for v in values], fontsize=7)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
