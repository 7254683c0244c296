"""Intervals for a difference: paired over seeds, or bootstrapped over test images.

A claim such as "the BCE model has a lower test error than the MSE model" is a statement about a
*difference*. Its uncertainty comes from two places, and the course measures each where it matters:

* **seed to seed** (which initial weights, which batch order): train each model with the same seeds and pair
  the runs, ``paired_interval(a, b)``: a Student-t interval for the mean of ``a[i] - b[i]``;
* **test sample** (which 1,000 images happen to be in the test split): resample the images,
  ``bootstrap_interval(statistic, n_items)``: a percentile interval of any statistic of the images (a mean
  difference of per-image errors, a difference of two AUROCs on the same images, ...).

Both return an ``Interval``; ``claims.compare`` turns one into a verdict. With 3 seeds a 95 % t-interval is
wide (the t quantile is 4.30): a gap must be large against the seed-to-seed spread of the *differences*
before it counts. That is the honest price of three seeds, not a flaw of the test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats

from .checks import check_int, check_number

DEFAULT_LEVEL = 0.95
DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """An estimate of a difference and its confidence interval ``[low, high]`` at ``level``.

    ``method`` says how it was computed ("paired t over 3 seeds", "bootstrap over 1000 images"); ``n`` is
    the number of seeds or images it rests on. With one seed the interval is infinite (nothing to go on).
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str
    n: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"


def _as_values(name: str, values: Sequence[float]) -> np.ndarray:
    try:
        arr = np.asarray([float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}") from None
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a non-empty sequence of finite numbers, got {list(arr)}")
    return arr


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = DEFAULT_LEVEL) -> Interval:
    """Student-t interval for the mean of ``a[i] - b[i]`` (one value per seed, the same seeds on both sides).

    With unequal lengths the runs cannot be paired: Welch's interval for ``mean(a) - mean(b)`` is used.
    One value per side gives an infinite interval (the estimate alone says nothing about noise).

    Called by ``claims.compare_seeds``.
    """
    level = check_number("level", level, 0.5, 1.0, low_open=False)
    a, b = _as_values("a", a), _as_values("b", b)
    if len(a) == len(b):
        d = a - b
        estimate, n = float(d.mean()), len(d)
        if n < 2:
            return Interval(estimate, -math.inf, math.inf, level, "one seed", n)
        se, df = float(d.std(ddof=1)) / math.sqrt(n), n - 1
        method = f"paired t over {n} seeds"
    else:
        estimate, n = float(a.mean() - b.mean()), min(len(a), len(b))
        if n < 2:
            return Interval(estimate, -math.inf, math.inf, level, "one value on a side", n)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else 1.0
        method = f"Welch t over {len(a)} and {len(b)} runs"
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Interval(estimate, estimate - half, estimate + half, level, method, n)


def bootstrap_indices(n_items: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                      strata: Sequence[int] | None = None) -> np.ndarray:
    """``(resamples, n_items)`` indices drawn with replacement; within each stratum when ``strata`` is given.

    Stratify by class label for a statistic such as AUROC, whose value needs both classes in every draw.
    """
    n_items = check_int("n_items", n_items, low=1)
    resamples = check_int("resamples", resamples, low=10)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    if strata is None:
        return rng.integers(0, n_items, size=(resamples, n_items))
    strata = np.asarray(strata)
    if strata.shape != (n_items,):
        raise ValueError(f"strata must hold one label per item ({n_items}), got shape {strata.shape}")
    out = np.empty((resamples, n_items), dtype=np.int64)
    start = 0
    for label in np.unique(strata):
        members = np.flatnonzero(strata == label)
        out[:, start:start + len(members)] = rng.choice(members, size=(resamples, len(members)))
        start += len(members)
    return out


def bootstrap_interval(statistic: Callable[[np.ndarray], float], n_items: int, level: float = DEFAULT_LEVEL,
                       resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                       strata: Sequence[int] | None = None) -> Interval:
    """Percentile bootstrap interval of ``statistic(indices)`` over test items resampled with replacement.

    ``statistic`` takes an int array of item indices (all items: ``np.arange(n_items)``) and returns a
    number, e.g. ``lambda i: err_mse[i].mean() - err_bce[i].mean()`` for paired per-image errors, or the
    difference of two AUROCs on the same images. Both sides use the *same* resampled images (paired).

    First used in notebook 02.
    """
    level = check_number("level", level, 0.5, 1.0)
    estimate = float(statistic(np.arange(n_items)))
    draws = np.array([float(statistic(idx)) for idx in bootstrap_indices(n_items, resamples, seed, strata)])
    draws = draws[np.isfinite(draws)]
    if draws.size < 10:
        raise ValueError("statistic must return a finite number for (almost) every resample")
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return Interval(estimate, float(low), float(high), level, f"bootstrap over {n_items} test items", n_items)


def mean_difference_interval(a: Sequence[float], b: Sequence[float], level: float = DEFAULT_LEVEL,
                             resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Interval:
    """Bootstrap interval for ``mean(a - b)`` of paired per-image values (the same test images on both sides).

    Called by ``claims.compare_images``.
    """
    a, b = _as_values("a", a), _as_values("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one value per test image each, got {a.shape} and {b.shape}")
    d = a - b
    return bootstrap_interval(lambda i: d[i].mean(), len(d), level, resamples, seed)
