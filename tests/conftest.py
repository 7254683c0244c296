"""Shared fixtures and helpers: tiny models, random images, fake MNIST files, a fresh data cache.

Also session-wide settings for `make test` (unit tests and notebooks in one pytest run):

* Fast mode keeps its checkpoints in one temporary folder for the whole session (``COURSE_CACHE``), so a
  model that several notebooks train with the same settings (the digit classifier, for one) is trained once,
  and the browser test's kernels load what the notebooks' kernels trained. Kernels inherit this environment.
* The browser test (JupyterLab in headless Chromium, about two minutes) runs only when asked for: `make
  test-browser` (``-m browser``), which CI runs after `make test`. Its kernels run the notebooks in fast mode.
"""

import os
import shutil
import tempfile

import numpy as np
import pytest
import torch
from course_utils import data
from course_utils.data import write_idx
from course_utils.models import MLPVAE

_SESSION_CACHE = None


def pytest_configure(config):
    global _SESSION_CACHE
    if os.environ.get("COURSE_FAST") == "1" and not os.environ.get("COURSE_CACHE"):
        _SESSION_CACHE = tempfile.mkdtemp(prefix="course_fast_cache_")
        os.environ["COURSE_CACHE"] = _SESSION_CACHE


def pytest_unconfigure(config):
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
        os.environ.pop("COURSE_CACHE", None)


def pytest_collection_modifyitems(config, items):
    # Stable: every other test keeps its order; browser tests move to the end.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    # The grading tests (nbgrader on whole submissions) take minutes: they run only when asked for (`-m grading`).
    if "grading" not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason="grades many submissions; run with `make test-grading` (-m grading)")
        for item in items:
            if item.get_closest_marker("grading"):
                item.add_marker(skip)
    # JupyterLab in headless Chromium, every explorer: `make test-browser` (-m browser), run by CI.
    if "browser" not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason="drives JupyterLab in Chromium; run with `make test-browser` (-m browser)")
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(skip)
    # The site and slides builds and their browser checks: `make test-site` (-m site), run by CI.
    if "site" not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason="builds the site and the decks; run with `make test-site` (-m site)")
        for item in items:
            if item.get_closest_marker("site"):
                item.add_marker(skip)


def gen(seed=0):
    """A seeded ``torch.Generator`` (a fresh stream per call)."""
    return torch.Generator().manual_seed(seed)


def random_images(n=40, seed=0, binary=False):
    """``(n, 1, 28, 28)`` random pixels in [0, 1] (0/1 pixels with ``binary``), fixed by ``seed``."""
    x = torch.rand(n, 1, 28, 28, generator=gen(seed))
    return (x > 0.7).float() if binary else x


def tiny_vae(latent_dim=6, seed=0, hidden=32):
    """A small, seeded, untrained ``MLPVAE`` (fast enough for unit tests)."""
    torch.manual_seed(seed)
    return MLPVAE(latent_dim=latent_dim, hidden=hidden)


@pytest.fixture
def images():
    """40 random images ``(40, 1, 28, 28)``."""
    return random_images(40, seed=1)


@pytest.fixture
def vae():
    """A tiny untrained VAE with a 12-D code (more than the default 10 sliders)."""
    return tiny_vae(latent_dim=12)


def write_fake_split(folder, n_train=30, n_test=20, seed=0, gz=True):
    """Fake MNIST-layout files in ``folder``; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8) % 10
        ext = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)
        out[prefix] = (x, y)
    return out


@pytest.fixture
def fresh_data(monkeypatch, tmp_path):
    """An empty COURSE_DATA folder and cleared in-process data caches; cleared again afterwards."""
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    data.clear_caches()
    yield tmp_path / "data"
    data.clear_caches()
