"""Sample metrics on feature sets: KID, improved precision/recall, and a real-vs-real floor.

Pure functions of feature tensors ``(N, F)`` (for example ``instrument.classifier_features`` of images):
no models, no training, so this module does not import ``instrument`` or ``train``. Everything is computed
in float64 on the CPU; bad arguments fail with one clear error before any heavy computation.
"""

from __future__ import annotations

from typing import Callable

import torch

from .checks import ArgumentError, check_int

_CHUNK = 1024  # rows per cdist block: 1024 x 5000 float64 distances are 40 MB


def _features(name: str, feats) -> torch.Tensor:
    """``feats`` must be a finite floating-point tensor ``(N, F)`` with N >= 2, F >= 1; returned as CPU float64."""
    if not isinstance(feats, torch.Tensor) or not feats.is_floating_point():
        kind = f"a {feats.dtype} tensor" if isinstance(feats, torch.Tensor) else type(feats).__name__
        raise ArgumentError(f"{name} must be a floating-point tensor (N, F), got {kind}")
    if feats.dim() != 2 or feats.shape[0] < 2 or feats.shape[1] < 1:
        raise ArgumentError(f"{name} must have shape (N, F) with N >= 2 and F >= 1, got {tuple(feats.shape)}")
    if not torch.isfinite(feats).all():
        raise ArgumentError(f"{name} must hold finite values, got NaN or inf")
    return feats.detach().cpu().double()


def _pair(name_a: str, a, name_b: str, b) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _features(name_a, a), _features(name_b, b)
    if a.shape[1] != b.shape[1]:
        raise ArgumentError(f"{name_a} and {name_b} must have the same feature size F, got {a.shape[1]} and {b.shape[1]}")
    return a, b


def _generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ArgumentError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² of two equal-size samples ``(m, d)`` under k(x, y) = (xᵀy / d + 1)³."""
    m, d = x.shape
    k_xx, k_yy, k_xy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
    # Unbiased: the diagonal k(x_i, x_i) is left out of the within-set means.
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kid(feats_a: torch.Tensor, feats_b: torch.Tensor, subsets: int = 100, subset_size: int | None = None,
        generator: torch.Generator | None = None) -> tuple[float, float]:
    """Kernel Inception Distance between feature sets ``(N_a, F)`` and ``(N_b, F)``: ``(estimate, standard_error)``.

    Bińkowski et al. 2018, "Demystifying MMD GANs". Each of ``subsets`` rounds draws ``m = subset_size``
    rows of each set without replacement and computes the unbiased MMD² with the polynomial kernel
    ``k(x, y) = (xᵀy / F + 1)³``::

        MMD²_u = Σ_{i≠j} k(a_i, a_j) / (m(m-1)) + Σ_{i≠j} k(b_i, b_j) / (m(m-1)) - 2 Σ_{i,j} k(a_i, b_j) / m²

    The estimate is the mean over rounds. It is unbiased, so equal distributions give values scattered
    around 0, negative ones included: report it as is, never clipped. ``subset_size`` defaults to
    ``min(1000, N_a, N_b)``; it must be in ``[2, min(N_a, N_b)]``. Compare only numbers with the same ``m``.

    The standard error is ``std(rounds) / sqrt(subsets)`` (``nan`` with one round). It measures only the
    noise of drawing subsets, not the noise of the two sets themselves: rounds overlap (they are drawn
    from the same rows), so they are correlated, and the SE understates the error of the estimate, the more
    so the closer ``m`` is to N (with m = 200 of 500 rows we measured errors about 3x the SE). For an
    interval over samples, repeat on independent sets (seeds) or use the spread of disjoint subsets.

    Deterministic given a seeded ``generator``. Not called by a notebook yet; notebook 05's lesson applies it.
    """
    a, b = _pair("feats_a", feats_a, "feats_b", feats_b)
    subsets = check_int("subsets", subsets, low=1)
    largest = min(len(a), len(b))
    m = min(1000, largest) if subset_size is None else check_int("subset_size", subset_size, low=2, high=largest)
    generator = _generator(generator)
    rounds = torch.tensor([
        _mmd2_unbiased(a[torch.randperm(len(a), generator=generator)[:m]],
                       b[torch.randperm(len(b), generator=generator)[:m]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    se = float(rounds.std() / subsets**0.5) if subsets > 1 else float("nan")
    return float(rounds.mean()), se


def _knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each row of ``feats`` ``(N, F)`` to its k-th nearest other row: ``(N,)``."""
    radii = []
    for start in range(0, len(feats), _CHUNK):
        dist = torch.cdist(feats[start : start + _CHUNK], feats)
        # k + 1 smallest: the row itself (distance 0) comes first and is skipped.
        radii.append(dist.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def precision_recall(real_feats: torch.Tensor, fake_feats: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall of ``fake_feats`` ``(N_f, F)`` against ``real_feats`` ``(N_r, F)``.

    Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative Models".
    Each set's manifold is the union of balls around its samples, of radius ``r_k(x)`` = distance to the
    k-th nearest neighbour in the same set (itself excluded)::

        precision = (1/N_f) Σ_f 1[∃ r: |f - r| <= r_k(r)]    (fakes that look real: quality)
        recall    = (1/N_r) Σ_r 1[∃ f: |r - f| <= r_k(f)]    (reals the model covers: diversity)

    ``k`` must be in ``[1, min(N_r, N_f) - 1]`` (the paper uses 3). Returns ``{"precision": p, "recall": r}``,
    floats in [0, 1]. Distances are computed in row blocks, so memory stays at a few blocks of
    ``1024 x N`` float64 values whatever N.

    Not called by a notebook yet; notebook 05's lesson applies it.
    """
    real, fake = _pair("real_feats", real_feats, "fake_feats", fake_feats)
    k = check_int("k", k, low=1, high=min(len(real), len(fake)) - 1)
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    fake_inside = torch.zeros(len(fake), dtype=torch.bool)
    real_inside = []
    for start in range(0, len(real), _CHUNK):
        dist = torch.cdist(real[start : start + _CHUNK], fake)  # one distance block serves both measures
        fake_inside |= (dist <= real_radii[start : start + _CHUNK, None]).any(0)
        real_inside.append((dist <= fake_radii[None, :]).any(1))
    return {"precision": float(fake_inside.double().mean()),
            "recall": float(torch.cat(real_inside).double().mean())}


def disjoint_halves(feats: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint random halves ``(N // 2, ...)`` of ``feats`` (or images) ``(N, ...)``, N >= 4.

    No row is in both halves; with odd N one row is left out so the halves have equal size.
    Deterministic given a seeded ``generator``. Called by ``real_floor``.
    """
    if not isinstance(feats, torch.Tensor) or feats.dim() < 1 or len(feats) < 4:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        raise ArgumentError(f"feats must be a tensor (N, ...) with N >= 4, got {shape}")
    order = torch.randperm(len(feats), generator=_generator(generator))
    half = len(feats) // 2
    return feats[order[:half]], feats[order[half : 2 * half]]


def real_floor(feats: torch.Tensor, measure: Callable[[torch.Tensor, torch.Tensor], object],
               generator: torch.Generator | None = None):
    """``measure(a, b)`` between two disjoint random halves of held-out real features ``(N, F)``.

    The floor a model's score is read against: what the measure gives for two real samples of size
    ``N // 2`` (FD and KID depend on the sample size, so compare the model with ``N // 2`` samples too).
    ``feats`` must come from held-out data, not the classifier's training images (those features are
    over-fitted, so the floor would be too low); the halves are disjoint, since a shared row would
    lower the distance too. ``measure`` is e.g. ``instrument.frechet_distance`` or
    ``functools.partial(kid, generator=...)``; its result is returned unchanged.

    Not called by a notebook yet; notebook 05's lesson applies it.
    """
    if not callable(measure):
        raise ArgumentError(f"measure must be a callable measure(a, b), got {type(measure).__name__}")
    _features("feats", feats)
    a, b = disjoint_halves(feats, generator)
    return measure(a, b)
