"""Shared fixtures: a fresh data cache per test that touches the data contract, and tiny fake MNIST files."""

import gzip
import struct

import numpy as np
import pytest

from course_utils import data


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file, gzipped when the name ends in .gz."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


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
    """An empty COURSE_DATA folder and cleared in-process caches; restores the caches afterwards."""
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    data._load_cached.cache_clear()
    data._download_failed.clear()
    data._announced.clear()
    yield tmp_path / "data"
    data._load_cached.cache_clear()
    data._download_failed.clear()
