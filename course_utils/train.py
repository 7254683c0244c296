"""One training loop with a progress bar, and ``load_or_fit``: train once, load on every rerun.

``fit`` is the loop notebook 01 writes out by hand, packaged: later notebooks call it so that their
cells show the *model and the objective*, not the bookkeeping. Training is counted in **optimiser steps**,
not epochs, so a notebook's run time does not grow with the size of the training set.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from . import config
from .cache import load_or_run
from .checks import check_int, check_number
from .data import batches
from .models import evaluating

History = dict[str, list[float]]
# A loss function takes (model, batch) and returns a scalar loss, or (loss, {name: value}) to log parts.
LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], "torch.Tensor | tuple[torch.Tensor, Mapping[str, torch.Tensor]]"]
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
LOG_POINTS = 25  # how many points a training curve gets, whatever the budget
SCHEDULES = (None, "cosine", "onecycle")


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite. First used in notebook 05."""


def _split(out) -> tuple[torch.Tensor, dict[str, float]]:
    if isinstance(out, tuple):
        loss, parts = out
        return loss, {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in parts.items()}
    return out, {}


def _as_tuple(data) -> tuple[torch.Tensor, ...]:
    return (data,) if isinstance(data, torch.Tensor) else tuple(data)


def _scheduler(optimizer, schedule: str | None, lr: float, steps: int):
    if schedule is None or steps == 0:
        return None
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.3)


def endless_batches(*tensors: torch.Tensor, batch_size: int, generator=None, device=None):
    """Mini-batches from ``batches``, reshuffled at the end of every pass, forever (the caller stops).

    First used in notebook 01.
    """
    while True:
        yield from batches(*tensors, batch_size=batch_size, generator=generator, device=device)


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    data: tuple[torch.Tensor, ...] | torch.Tensor,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 128,
    val_data: tuple[torch.Tensor, ...] | torch.Tensor | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    log_every: int | None = None,
    desc: str = "training",
    progress: bool = True,
    keep_best: bool = False,
    schedule: str | None = None,
) -> History:
    """Train ``model`` with Adam for ``steps`` mini-batch steps over ``data`` and return the logged history.

    Args:
        model: any ``nn.Module``; moved to ``device`` (default ``config.device()``).
        loss_fn: ``loss_fn(model, batch) -> loss`` or ``(loss, {"part": value})``; ``batch`` is the
            tuple of tensors sliced from ``data`` (e.g. a course objective such as ``losses.VAEObjective``).
        data: a tensor or tuple of tensors sharing the first dimension N, e.g. ``(images, labels)``.
        steps: optimiser steps (mini-batches); the data are reshuffled after every full pass.
        lr, batch_size: the usual; ``optimizer`` overrides the default ``Adam(lr)``.
        val_data: evaluated with the same ``loss_fn`` (eval mode, no gradients) at every log point.
        generator: seeded ``torch.Generator`` for the shuffling order.
        log_every: steps between two history points (default: ``steps / 25``, so every curve has ~25 points).
        keep_best: model selection on ``val_data`` (required): at the end, restore the weights of the log
            point with the lowest validation loss (early stopping without stopping: the curve stays whole).
            The chosen step is logged as ``history["best_step"]`` (one value).
        schedule: the learning rate over the run: ``None`` (constant ``lr``), ``"cosine"`` (from ``lr`` down
            to 0) or ``"onecycle"`` (warm up to ``lr`` over the first 30 % of the steps, then anneal to ~0).
            A decaying rate lets the last steps settle into a minimum instead of bouncing around it.

    Returns:
        ``{"step": [...], "loss": [...], "<part>": [...], "val_loss": [...], "val_<part>": [...]}``: at each
        log point, the mean of each training value since the previous point, and the validation value.

    Raises:
        TrainingDiverged: the loss became NaN or inf (the message names the step and the learning rate).

    First used in notebook 01.
    """
    steps = check_int("steps", steps, low=0)
    lr = check_number("lr", lr, 0, 10, low_open=True)
    batch_size = check_int("batch_size", batch_size, low=1)
    log_every = check_int("log_every", log_every, low=1) if log_every is not None else max(1, math.ceil(steps / LOG_POINTS))
    data = _as_tuple(data)
    val_data = _as_tuple(val_data) if val_data is not None else None
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if keep_best and val_data is None:
        raise ValueError("keep_best=True needs val_data: the best weights are chosen on the validation loss")
    best_loss, best_state, best_step = math.inf, None, 0.0
    device = torch.device(device) if device is not None else config.device()
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = _scheduler(optimizer, schedule, lr, steps)
    history: History = {}
    sums: dict[str, float] = {}
    seen = 0
    stream = endless_batches(*data, batch_size=batch_size, generator=generator, device=device)
    model.train()
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, unit="step", mininterval=0.5)
    for step in bar:
        batch = next(stream)
        loss, parts = _split(loss_fn(model, batch))
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {loss.item()} at step {step} (lr={lr:g}): "
                "try a smaller learning rate, or check the inputs and the loss for log(0)"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None and step < steps:  # the schedule covers exactly `steps` updates
            scheduler.step()
        n = len(batch[0])
        seen += n
        for key, value in {"loss": loss.item(), **parts}.items():
            sums[key] = sums.get(key, 0.0) + value * n  # weighted: the last batch of a pass may be smaller
        if step % log_every == 0 or step == steps:
            history.setdefault("step", []).append(float(step))
            for key, total in sums.items():
                history.setdefault(key, []).append(total / seen)
            sums, seen = {}, 0
            if val_data is not None:
                for key, value in evaluate(model, loss_fn, val_data, device=device).items():
                    history.setdefault(f"val_{key}", []).append(value)
                model.train()
                if keep_best and history["val_loss"][-1] < best_loss:
                    best_loss, best_step = history["val_loss"][-1], float(step)
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items() if k in ("loss", "val_loss")})
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
        history["best_step"] = [best_step]
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
    data = _as_tuple(data)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    sums: dict[str, float] = {}
    with evaluating(model):
        for batch in batches(*data, batch_size=batch_size, shuffle=False, device=device):
            loss, parts = _split(loss_fn(model, batch))
            for key, value in {"loss": loss.item(), **parts}.items():
                sums[key] = sums.get(key, 0.0) + value * len(batch[0])
    return {key: total / len(data[0]) for key, total in sums.items()}


# ----------------------------------------------------------------------------- train once, load after


def load_or_fit(
    name: str,
    model: nn.Module,
    objective: LossFn,
    data: tuple[torch.Tensor, ...] | torch.Tensor,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 128,
    seed: int | None = None,
    val_data: tuple[torch.Tensor, ...] | torch.Tensor | None = None,
    optimizer: str = "adam",
    optimizer_args: Mapping | None = None,
    log_every: int | None = None,
    device: torch.device | str | None = None,
    desc: str | None = None,
    progress: bool = True,
    keep_best: bool = False,
    schedule: str | None = None,
) -> tuple[History, bool]:
    """``fit`` the freshly built ``model`` once and cache it; later identical calls load the weights.

    The cache key is derived from everything that changes the result (see ``cache``): the model's class,
    layers and initial weights, the objective (its fields, or a function's source), the data and
    validation data, and every argument below. Notebooks never build a key by hand.

    Args:
        name: readable prefix of the checkpoint file.
        model: a freshly initialised module (build it right after seeding).
        objective: ``objective(model, batch) -> loss or (loss, parts)``; e.g. ``losses.VAEObjective(beta=4)``.
        data, steps, lr, batch_size, val_data, log_every, keep_best, schedule: as for ``fit``.
        seed: seeds the shuffling order and every random draw of training (default ``config.SEED``).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``; ``optimizer_args`` are passed to it (betas, weight decay).

    Returns ``(history, loaded)``; the model is left on ``device`` in train mode.

    First used in notebook 01.
    """
    seed = config.SEED if seed is None else check_int("seed", seed, 0, 2**31 - 1)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    optimizer_args = dict(optimizer_args or {})
    device = torch.device(device) if device is not None else config.device()

    def run() -> History:
        torch.manual_seed(seed)  # dropout, reparameterisation noise, corruption: all drawn from this seed
        opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr, **optimizer_args)
        return fit(model.to(device), objective, data, steps, lr=lr, batch_size=batch_size, val_data=val_data,
                   optimizer=opt, device=device, generator=torch.Generator().manual_seed(seed),
                   log_every=log_every, desc=desc or name, progress=progress, keep_best=keep_best,
                   schedule=schedule)

    history, loaded = load_or_run(
        name, model, run, describe_run=False, objective=objective, data=_as_tuple(data), steps=steps, lr=lr, batch_size=batch_size,
        seed=seed, val_data=val_data, optimizer=optimizer, optimizer_args=optimizer_args, log_every=log_every,
        **({"keep_best": True} if keep_best else {}), **({"schedule": schedule} if schedule else {}),
    )
    model.to(device).train()
    return history, loaded


def check_finite_history(history: History) -> None:
    """Raise ``TrainingDiverged`` if any logged value is NaN or inf (a sanity check for notebooks).

    First used in notebook 01.
    """
    for key, values in history.items():
        if any(not math.isfinite(v) for v in values):
            raise TrainingDiverged(f"history[{key!r}] holds a non-finite value")
