"""A checkpoint cache that cannot serve stale weights: its key is derived, never typed by hand.

``load_or_run(name, modules, run, data=..., **settings)`` loads the modules' weights if a checkpoint with
the *same key* exists, else calls ``run()`` and saves. The key is built by ``describe`` from everything
that changes the result:

* each module's class, ``repr`` (layers, widths, activations) and a hash of its *initial* weights (so the
  seed that initialised them counts), and the **code** of every class in its MRO (and of its submodules'
  classes) that is defined outside torch: edit ``forward`` in a notebook and the key changes;
* the training function or objective: its source code, the values it closes over, and the code of the
  functions and classes it refers to by global name (followed a few levels deep), so a fix in a helper
  that a loss calls retrains too;
* every setting passed (steps, lr, batch size, seed, optimiser, ...);
* a fingerprint of the training data;
* ``PACKAGE_FINGERPRINT``, a hash of the whole ``course_utils`` source (taken when it is imported): pull a
  new version of the course, or edit one of its functions, and every model is retrained by the new code;
* ``FORMAT``, bumped whenever the meaning of a checkpoint changes.

Change an activation, β, the loss, its code, the data or the seed and the key changes, so the model is trained
anew; an identical call loads. ``train.load_or_fit`` is the usual entry point; this module is the plumbing.
After editing ``course_utils`` itself, restart the kernel: the running one still holds the old code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import re
import sys
import sysconfig
import types
import warnings
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from . import config

FORMAT = 3  # version of the checkpoint layout and key recipe; bump to invalidate every old checkpoint
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PACKAGE_DIR = Path(__file__).resolve().parent
_LIBRARY_DIRS = tuple({str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                       if (p := sysconfig.get_paths().get(key))})
GLOBALS_DEPTH = 4  # how many levels of "a function that calls a function" enter a key


def package_fingerprint(root: Path = _PACKAGE_DIR) -> str:
    """A hash of every ``*.py`` file of the package folder ``root`` (names and contents, in sorted order)."""
    h = hashlib.sha1()
    for path in sorted(Path(root).rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


PACKAGE_FINGERPRINT = package_fingerprint()  # at import: the code this process runs


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
        classes = {type(m) for m in obj.modules()}
        code = {_qualname(c): _class_code(c) for c in sorted(classes, key=_qualname) if _is_user_code(c)}
        return {"class": _qualname(type(obj)), "repr": _ADDRESS.sub("", repr(obj)), "weights": weights,
                **({"code": code} if code else {})}
    if isinstance(obj, torch.device):
        return "device"  # where a model trains does not change what a seeded CPU run computes
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        code = {"code": _class_code(type(obj))} if _is_user_code(type(obj)) else {}
        return {"class": _qualname(type(obj)), **code,
                **{f.name: describe(getattr(obj, f.name), d) for f in dataclasses.fields(obj)}}
    if isinstance(obj, functools.partial):
        return {"partial": describe(obj.func, d), "args": describe(obj.args, d), "kwargs": describe(obj.keywords, d)}
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return _describe_function(obj, d)
    if isinstance(obj, type):
        return {"class": _qualname(obj), "code": _class_code(obj)} if _is_user_code(obj) else _qualname(obj)
    code = {"code": _class_code(type(obj))} if _is_user_code(type(obj)) else {}
    return {"type": _qualname(type(obj)), "repr": _ADDRESS.sub("", repr(obj)), **code}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_user_code(obj) -> bool:
    """True for code the course's user may edit: a notebook's, a test's, a script's, not a library's.

    ``course_utils`` itself is covered by ``PACKAGE_FINGERPRINT``, and torch, NumPy and the standard library
    by their versions never changing under a running kernel, so neither enters a key as source.
    """
    module = getattr(obj, "__module__", None) or ""
    if module == "__main__":
        return True
    if module.split(".")[0] in ("course_utils", "builtins"):
        return False
    file = getattr(sys.modules.get(module), "__file__", None)
    if file is None:
        return False
    file = str(Path(file).resolve())
    return not file.startswith(_LIBRARY_DIRS)


def _source(func) -> str:
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):  # no source file (built in a string): fall back to the bytecode
        return hashlib.sha1(func.__code__.co_code + repr(func.__code__.co_consts).encode()).hexdigest()


def _global_names(code: types.CodeType) -> set[str]:
    """Every name a code object (and the functions and lambdas nested in it) may look up as a global."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _code_description(func, depth: int, seen: frozenset = frozenset()) -> dict:
    """Source of ``func`` plus the code of the user-defined functions and classes it reaches by global name."""
    func = getattr(func, "__func__", func)
    referenced = {}
    if depth < GLOBALS_DEPTH and hasattr(func, "__code__"):
        seen = seen | {id(func)}
        for name in sorted(_global_names(func.__code__)):
            value = func.__globals__.get(name)
            if value is None or id(value) in seen:
                continue
            if inspect.isfunction(value) and _is_user_code(value):
                referenced[name] = _code_description(value, depth + 1, seen)
            elif isinstance(value, type) and _is_user_code(value):
                referenced[name] = _class_code(value, depth + 1, seen | {id(value)})
            elif isinstance(value, (bool, int, float, str)):  # a module-level constant the code reads
                referenced[name] = value
    return {"source": _source(func), **({"globals": referenced} if referenced else {})}


def _class_code(cls: type, depth: int = 0, seen: frozenset = frozenset()) -> dict:
    """The code of every method of ``cls`` and of its user-defined bases (classes from a notebook cell have no
    retrievable class source, but each method does)."""
    code = {}
    for klass in cls.__mro__:
        if not _is_user_code(klass):
            continue
        for attr, value in sorted(vars(klass).items()):
            func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if inspect.isfunction(func):
                code[f"{klass.__qualname__}.{attr}"] = _code_description(func, depth, seen | {id(cls)})
            elif isinstance(value, (bool, int, float, str)) and not attr.startswith("__"):
                code[f"{klass.__qualname__}.{attr}"] = value
    return code


def _describe_function(fn, depth: int) -> dict:
    func = getattr(fn, "__func__", fn)
    closure = {}
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                closure[name] = describe(cell.cell_contents, depth)
            except ValueError:  # an empty cell (a name assigned later in the enclosing function)
                closure[name] = None
    code = _code_description(func, 0) if _is_user_code(func) else {"source": _source(func)}
    return {"function": func.__qualname__, **code, "defaults": describe(func.__defaults__, depth),
            "kwdefaults": describe(func.__kwdefaults__, depth), "closure": closure}


def cache_key(**parts) -> str:
    """The canonical JSON text of ``describe(parts)``, ``FORMAT`` and the package's code: equal keys mean equal
    training."""
    return json.dumps({"format": FORMAT, "course_utils": PACKAGE_FINGERPRINT, **describe(parts)},
                      sort_keys=True, default=str)


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

    First used in notebook 01.
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
