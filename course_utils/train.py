"""One training loop with a progress bar, and a checkpoint cache so reruns skip finished training.

``fit`` is the loop notebook 01 writes out by hand, packaged: later notebooks call it so that their
cells show the *model and loss*, not the bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from . import config
from .data import batches

History = dict[str, list[float]]
# A loss function takes (model, batch) and returns a scalar loss, or (loss, {name: value}) to log parts.
LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], "torch.Tensor | tuple[torch.Tensor, Mapping[str, torch.Tensor]]"]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite."""


def _split(out) -> tuple[torch.Tensor, dict[str, float]]:
    if isinstance(out, tuple):
        loss, parts = out
        return loss, {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in parts.items()}
    return out, {}


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    data: tuple[torch.Tensor, ...] | torch.Tensor,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 128,
    val_data: tuple[torch.Tensor, ...] | torch.Tensor | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    desc: str = "training",
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam for ``epochs`` passes over ``data`` and return the per-epoch history.

    Args:
        model: any ``nn.Module``; moved to ``device`` (default ``config.device()``).
        loss_fn: ``loss_fn(model, batch) -> loss`` or ``(loss, {"part": value})``; ``batch`` is the
            tuple of tensors sliced from ``data``.
        data: a tensor or tuple of tensors sharing the first dimension N, e.g. ``(images, labels)``.
        epochs, lr, batch_size: the usual; ``optimizer`` overrides the default Adam(lr).
        val_data: evaluated with the same ``loss_fn`` (in ``eval`` mode, no gradients) after each epoch.
        generator: seeded ``torch.Generator`` for the shuffling order.

    Returns:
        ``{"loss": [...], "<part>": [...], "val_loss": [...], "val_<part>": [...]}``: one mean per epoch.

    Raises:
        TrainingDiverged: the loss became NaN or inf (the message names the learning rate).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 10:
        raise ValueError(f"lr must be a number in (0, 10), got {lr!r}")
    data = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    if val_data is not None:
        val_data = (val_data,) if isinstance(val_data, torch.Tensor) else tuple(val_data)
    device = torch.device(device) if device is not None else config.device()
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history: History = {}
    bar = tqdm(range(epochs), desc=desc, disable=not progress, unit="epoch")
    for epoch in bar:
        model.train()
        sums: dict[str, float] = {}
        seen = 0
        for batch in batches(*data, batch_size=batch_size, generator=generator, device=device):
            loss, parts = _split(loss_fn(model, batch))
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"loss became {loss.item()} in epoch {epoch + 1} (lr={lr:g}): "
                    "try a smaller learning rate, or check the inputs and the loss for log(0)"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = len(batch[0])
            seen += n
            for key, value in {"loss": loss.item(), **parts}.items():
                sums[key] = sums.get(key, 0.0) + value * n  # weighted: the last batch may be smaller
        for key, total in sums.items():
            history.setdefault(key, []).append(total / seen)
        if val_data is not None:
            for key, value in evaluate(model, loss_fn, val_data, batch_size, device).items():
                history.setdefault(f"val_{key}", []).append(value)
        bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items() if k in ("loss", "val_loss")})
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loss_fn: LossFn,
    data: tuple[torch.Tensor, ...] | torch.Tensor,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean of ``loss_fn`` (and its parts) over ``data`` in eval mode: ``{"loss": ..., "<part>": ...}``."""
    data = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    for batch in batches(*data, batch_size=batch_size, shuffle=False, device=device):
        loss, parts = _split(loss_fn(model, batch))
        for key, value in {"loss": loss.item(), **parts}.items():
            sums[key] = sums.get(key, 0.0) + value * len(batch[0])
    model.train(was_training)
    return {key: total / len(data[0]) for key, total in sums.items()}


# ----------------------------------------------------------------------------- checkpoint cache


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of tensors' shapes and contents, to tie a checkpoint to the data it saw."""
    h = hashlib.sha1()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]


def checkpoint_path(name: str, settings: Mapping) -> Path:
    """``<cache>/<name>-<hash of settings>.pt``; settings must be JSON-serialisable."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"name must be letters, digits, '-' or '_', got {name!r}")
    key = json.dumps(dict(settings), sort_keys=True, default=str)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return config.cache_dir() / f"{name}-{digest}.pt"


def load_or_train(
    name: str, model: nn.Module, settings: Mapping, train: Callable[[], History]
) -> tuple[History, bool]:
    """Load ``model``'s weights if a checkpoint with the same ``settings`` exists, else ``train()`` and save.

    ``settings`` should hold everything that changes the result: hyper-parameters, seed, and a
    ``fingerprint`` of the training data. A corrupt or mismatching file is retrained with a warning.

    ``train()`` runs on a forked copy of the global random state, so the random numbers drawn *after*
    this call are the same whether the weights were trained or loaded (reruns stay reproducible).

    Returns ``(history, loaded)``: the training history (stored with the weights) and whether it
    came from the cache.
    """
    path = checkpoint_path(name, settings)
    if path.exists():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(saved["state_dict"])
            return {k: list(v) for k, v in saved["history"].items()}, True
        except Exception as err:  # truncated file, unpickling error, wrong architecture, ...
            warnings.warn(f"checkpoint {path.name} could not be loaded ({type(err).__name__}: {err}); retraining")
    # Train on a forked random stream: the global RNG is left exactly as a cache hit leaves it, so the
    # cells after this one draw the same numbers whether the model was trained now or loaded.
    with torch.random.fork_rng():
        history = train()
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": model.state_dict(), "history": history}, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written checkpoint behind
    return history, False


def check_finite_history(history: History) -> None:
    """Raise ``TrainingDiverged`` if any logged value is NaN or inf (a sanity check for notebooks)."""
    for key, values in history.items():
        if any(not math.isfinite(v) for v in values):
            raise TrainingDiverged(f"history[{key!r}] holds a non-finite value")
