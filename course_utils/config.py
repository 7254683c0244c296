"""Run settings shared by every notebook: fast mode, seeding, device, folders.

This is the only module that reads the environment:

* ``COURSE_FAST=1``  — the reduced "fast mode" that CI and the tests use.
* ``COURSE_DATA``    — folder with MNIST / Fashion-MNIST in torchvision's layout
  (default: ``data/`` at the repository root).
* ``COURSE_CACHE``   — folder for trained-model checkpoints (default: ``.cache/`` at the
  repository root in full mode, a throw-away temporary folder in fast mode).
* ``COURSE_DEVICE``  — force a device (``cpu``, ``cuda``, ``mps``) instead of the automatic pick.
* ``COURSE_RESULTS`` — a JSON-lines file that ``results.record_result`` appends to (set by ``make bench``).
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

FAST: bool = os.environ.get("COURSE_FAST") == "1"

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
    """Where ``save_figure`` writes: ``<repo>/figures`` in full mode, a temp folder in fast mode."""
    path = _fast_tmp() / "figures" if FAST else REPO_ROOT / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_path() -> Path | None:
    """The JSON-lines file for measured results (``COURSE_RESULTS``), or None when not recording."""
    value = os.environ.get("COURSE_RESULTS")
    return Path(value).expanduser() if value else None


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so a rerun gives the same numbers.

    Returns a ``torch.Generator`` seeded with ``seed`` for code that wants its own stream
    (for example the batch iterator's shuffling).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    # Deterministic convolution algorithms: a few per cent slower, identical reruns.
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def device() -> torch.device:
    """The device to train on: ``COURSE_DEVICE`` if set, else CUDA, then Apple MPS, then CPU."""
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
    """Return ``fast`` in fast mode and ``full`` otherwise (sizes, subset counts, grid sizes)."""
    return fast if FAST else full


def epochs(full: int, fast: int = 1) -> int:
    """Number of training epochs: ``full`` normally, ``fast`` under ``COURSE_FAST=1``."""
    for name, value in (("full", full), ("fast", fast)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"epochs({name}=...) must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"epochs({name}=...) must be >= 1, got {value}")
    return int(pick(full, fast))


def banner() -> str:
    """One line for the setup cell saying which mode is on and which device is used."""
    if FAST:
        text = (
            "FAST MODE (COURSE_FAST=1): small data subset and few epochs. "
            "Numbers and pictures are rough; run without COURSE_FAST for the real results."
        )
    else:
        text = "Full mode: the numbers in this notebook are the course's real results."
    return f"{text}  Device: {device()}."
