"""A checkpoint cache that cannot serve stale weights: its key is derived, never typed by hand.

``load_or_run(name, modules, run, data=..., **settings)`` loads the modules' weights if a checkpoint with
the *same key* exists, else calls ``run()`` and saves. The key is built by ``describe`` from everything
that changes the result:

* each module's class, ``repr`` (layers, widths, activations) and a hash of its *initial* weights (so the
  seed that initialised them counts);
* the training function or objective: its source code and the values it closes over;
* every setting passed (steps, lr, batch size, seed, optimiser, ...);
* a fingerprint of the training data;
* ``FORMAT``, bumped whenever the meaning of a checkpoint changes.

Change an activation, β, the loss, the data or the seed and the key changes, so the model is trained
anew; an identical call loads. ``train.load_or_fit`` is the usual entry point; this module is the plumbing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import re
import warnings
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from . import config

FORMAT = 2  # version of the checkpoint layout and key recipe; bump to invalidate every old checkpoint
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of tensors' shapes, dtypes and contents, to tie a checkpoint to the data it saw."""
    h = hashlib.sha1()
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"fingerprint takes tensors, got {type(t).__name__}")
        t = t.detach().cpu().contiguous()
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


def describe(obj, _depth: int = 0):
    """A JSON-able description of ``obj`` that changes whenever ``obj`` would train a different model.

    Numbers, strings and containers describe themselves; tensors by ``fingerprint``; modules by class,
    ``repr`` and current weights; dataclasses (the course's objectives) by their fields; functions by
    their source code, defaults and the values they close over; anything else by its type and ``repr``
    (memory addresses removed, so the description is the same in every process).
    """
    if _depth > 6:
        return type(obj).__qualname__
    d = _depth + 1
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [describe(v, d) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): describe(v, d) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, torch.Tensor):
        return f"tensor:{fingerprint(obj)}"
    if isinstance(obj, nn.Module):
        weights = fingerprint(*obj.state_dict().values()) if obj.state_dict() else "none"
        return {"class": _qualname(type(obj)), "repr": _ADDRESS.sub("", repr(obj)), "weights": weights}
    if isinstance(obj, torch.device):
        return "device"  # where a model trains does not change what a seeded CPU run computes
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"class": _qualname(type(obj)),
                **{f.name: describe(getattr(obj, f.name), d) for f in dataclasses.fields(obj)}}
    if isinstance(obj, functools.partial):
        return {"partial": describe(obj.func, d), "args": describe(obj.args, d), "kwargs": describe(obj.keywords, d)}
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return _describe_function(obj, d)
    if isinstance(obj, type):
        return _qualname(obj)
    return {"type": _qualname(type(obj)), "repr": _ADDRESS.sub("", repr(obj))}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe_function(fn, depth: int) -> dict:
    func = getattr(fn, "__func__", fn)
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):  # no source file (built in a string): fall back to the bytecode
        source = hashlib.sha1(func.__code__.co_code).hexdigest()
    closure = {}
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                closure[name] = describe(cell.cell_contents, depth)
            except ValueError:  # an empty cell (a name assigned later in the enclosing function)
                closure[name] = None
    return {"function": func.__qualname__, "source": source, "defaults": describe(func.__defaults__, depth),
            "kwdefaults": describe(func.__kwdefaults__, depth), "closure": closure}


def cache_key(**parts) -> str:
    """The canonical JSON text of ``describe(parts)`` plus ``FORMAT``: equal keys mean equal training."""
    return json.dumps({"format": FORMAT, **describe(parts)}, sort_keys=True, default=str)


def checkpoint_path(name: str, key: str) -> Path:
    """``<cache>/<name>-<hash of key>.pt``."""
    if not isinstance(name, str) or not name or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ValueError(f"name must be letters, digits, '-' or '_', got {name!r}")
    return config.cache_dir() / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"


def _as_modules(modules) -> dict[str, nn.Module]:
    if isinstance(modules, nn.Module):
        return {"model": modules}
    if isinstance(modules, Mapping) and modules and all(isinstance(m, nn.Module) for m in modules.values()):
        return {str(k): v for k, v in modules.items()}
    raise TypeError("modules must be an nn.Module or a non-empty dict {name: nn.Module}")


def load_or_run(
    name: str, modules, run: Callable[[], dict], describe_run: bool = True, **settings
) -> tuple[dict, bool]:
    """Load the weights of ``modules`` if this exact training was cached, else ``run()`` it and save.

    Args:
        name: a readable file-name prefix (letters, digits, ``-``, ``_``); it is *not* the key.
        modules: the module, or ``{name: module}`` for several (a GAN's generator and discriminator),
            freshly initialised: their initial weights are part of the key.
        run: trains the modules in place and returns a JSON-able history (a dict of lists of floats).
        describe_run: put ``run``'s source and closure into the key (leave it on for a training function
            written in a notebook; library callers that pass every input as a setting turn it off).
        settings: everything else ``run`` depends on (data tensors, objective, steps, lr, seed, ...);
            tensors enter the key by fingerprint.

    Returns ``(history, loaded)``. ``run()`` executes on a forked random state, so the random numbers drawn
    *after* this call are the same whether the weights were trained now or loaded. A corrupt or
    mismatching checkpoint is retrained with a warning, never fatal.

    First used in notebook 05.
    """
    mods = _as_modules(modules)
    key = cache_key(modules=mods, run=run if describe_run else None, settings=settings)
    path = checkpoint_path(name, key)
    if path.exists():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("key") != key:
                raise ValueError("the stored key differs from this call's key")
            for label, module in mods.items():
                module.load_state_dict(saved["state_dicts"][label])
            return {k: list(v) for k, v in saved["history"].items()}, True
        except Exception as err:  # truncated file, unpickling error, wrong architecture, ...
            warnings.warn(f"checkpoint {path.name} could not be loaded ({type(err).__name__}: {err}); retraining")
    with torch.random.fork_rng():  # every device: training may move the modules to the GPU
        history = run()
    tmp = path.with_suffix(".tmp")
    torch.save({"key": key, "state_dicts": {k: m.state_dict() for k, m in mods.items()},
                "history": {k: [float(v) for v in vals] for k, vals in history.items()}}, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written checkpoint behind
    return history, False
