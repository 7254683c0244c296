"""Helpers for the notebooks' autograded test cells: an exercise must be solved, not delegated.

A student asked to write ``my_psnr`` could simply ``return psnr(a, b)``: the reference is imported in the
notebook. A test cell therefore runs the student's function inside ``forbid(...)``, which swaps the named
references for stand-ins that raise ``ShortcutUsed`` while the block runs (in the notebook's namespace and
in the module that defines them), then puts everything back::

    expected = psnr(a, b)                       # the reference, computed outside the block
    with forbid(globals(), "psnr", "mean_psnr"):
        ours = my_psnr(a, b)                    # calling psnr in here raises "write this one yourself"
    assert torch.allclose(ours, expected)

First used in notebook 06.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Iterator

from .checks import ArgumentError


class ShortcutUsed(RuntimeError):
    """Raised when an exercise's solution calls the reference it was asked to write itself."""


def _stand_in(name: str):
    def refuse(*args, **kwargs):
        raise ShortcutUsed(f"write this one yourself: the solution must not call {name}()")

    refuse.__name__ = name
    return refuse


@contextlib.contextmanager
def forbid(namespace: dict, *names: str, attributes: tuple[str, ...] = ()) -> Iterator[None]:
    """Make the named references raise ``ShortcutUsed`` inside the block.

    Args:
        namespace: the notebook's ``globals()``; each name in ``names`` must be bound there.
        names: names of functions (or classes) the solution may not call; also replaced in the module that
            defines each one, so ``course_utils.noise.salt_and_pepper`` is caught as well.
        attributes: dotted paths such as ``"torch.distributions.Normal.log_prob"`` (a module, then
            attributes), replaced the same way: for shortcuts that are not imported names.
    """
    if not isinstance(namespace, dict):
        raise ArgumentError(f"namespace must be the notebook's globals() dict, got {type(namespace).__name__}")
    patches = []  # (owner, attribute, original value, set via setattr?)
    for name in names:
        if name not in namespace:
            raise ArgumentError(f"names must be bound in the namespace; {name!r} is not")
        original = namespace[name]
        patches.append((namespace, name, original, False))
        # The defining module and every course module that re-exports it (course_utils.data re-exports noise).
        owners = {getattr(original, "__module__", None)} | {m for m in sys.modules if m.startswith("course_utils")}
        for module_name in sorted(o for o in owners if o):
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
            if getattr(module, name, None) is original:
                patches.append((module, name, original, True))
    for path in attributes:
        owner, attribute = _resolve(path)
        patches.append((owner, attribute, getattr(owner, attribute), True))
    for owner, attribute, _, via_setattr in patches:
        label = attribute if not via_setattr or isinstance(owner, dict) else f"{getattr(owner, '__name__', owner)}.{attribute}"
        if via_setattr:
            setattr(owner, attribute, _stand_in(label))
        else:
            owner[attribute] = _stand_in(label)
    try:
        yield
    finally:
        for owner, attribute, original, via_setattr in reversed(patches):
            if via_setattr:
                setattr(owner, attribute, original)
            else:
                owner[attribute] = original


def _resolve(path: str):
    """``"torch.distributions.Normal.log_prob"`` -> (``torch.distributions.Normal``, ``"log_prob"``)."""
    if not isinstance(path, str) or "." not in path:
        raise ArgumentError(f"attributes must be dotted paths like 'torch.nn.functional.mse_loss', got {path!r}")
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        if not hasattr(owner, parts[-1]):
            raise ArgumentError(f"attributes: {path!r} does not exist")
        return owner, parts[-1]
    raise ArgumentError(f"attributes: no module found in {path!r}")
