"""Measuring a generator's samples against held-out real digits: one report per model, and intervals.

Plumbing for notebook 05 (lesson and lab), built on the measuring modules: ``instrument`` (the digit
classifier's features and its class calls), ``sample_metrics`` (KID, precision/recall, the real-vs-real
floor), ``anomaly`` (nearest training image) and ``intervals`` (bootstrap). No training here.
"""

from __future__ import annotations

import numpy as np
import torch

from .anomaly import nearest_neighbour_distance
from .checks import ArgumentError
from .instrument import classifier_features, classify, frechet_distance
from .intervals import Interval, bootstrap_interval
from .sample_metrics import kid, precision_recall


def confident_classes(images: torch.Tensor, classifier, confident: float = 0.9) -> dict:
    """What the classifier is sure of among ``images`` ``(N, 1, 28, 28)`` in [0, 1].

    Returns ``{"confident share": share of images whose top class probability exceeds ``confident``,
    "confident count": their number, "largest share among confident": the most frequent digit's share of
    them (nan when none), "shares among confident": (10,) tensor}``. Blobs that are no digit get a low
    top probability, so a pile-up of *confident* samples on one digit is evidence of mode collapse, while a
    pile-up of all samples may only be the classifier's guess about non-digits.

    First used in notebook 05.
    """
    if not 0 < confident < 1:
        raise ArgumentError(f"confident must be in (0, 1), got {confident}")
    probs = classify(classifier, images)
    top, calls = probs.max(1)
    sure = top > confident
    counts = torch.bincount(calls[sure].cpu(), minlength=probs.shape[1]).double()
    n = int(sure.sum())
    shares = counts / n if n else torch.full_like(counts, float("nan"))
    return {"confident share": float(sure.double().mean()), "confident count": n,
            "largest share among confident": float(shares.max()) if n else float("nan"),
            "shares among confident": shares}


def sample_report(samples: torch.Tensor, reference: torch.Tensor, classifier, train_images: torch.Tensor | None = None,
                  kid_subsets: int = 50, seed: int = 0) -> dict:
    """One row of a comparison table: ``samples`` ``(N_s, 1, 28, 28)`` measured against real ``reference`` ``(N_r, ...)``.

    Only the first ``N_r`` samples are used, so a model is measured with as many images as the real-vs-real
    floor (FD and KID depend on the sample size). Returns floats: ``"FD"`` (Fréchet distance of classifier
    features), ``"KID"`` and ``"KID SE"`` (``sample_metrics.kid`` with ``kid_subsets`` rounds of ``N_r // 2``
    rows), ``"precision"`` and ``"recall"`` (k = 3), ``"rarest digit share"``, ``"largest digit share"``
    (classifier calls over all used samples) and, if ``train_images`` is given, ``"NN distance to train"``
    (median pixel distance of a sample to its nearest training image).

    First used in notebook 05.
    """
    n = len(reference)
    if len(samples) < n:
        raise ArgumentError(f"samples must hold at least as many images as reference ({n}), got {len(samples)}")
    samples = samples[:n]
    fake, real = classifier_features(samples, classifier), classifier_features(reference, classifier)
    kid_value, kid_se = kid(fake, real, subsets=kid_subsets, subset_size=max(2, n // 2),
                            generator=torch.Generator().manual_seed(seed))
    pr = precision_recall(real, fake, k=3)
    shares = torch.bincount(classify(classifier, samples).argmax(1).cpu(), minlength=10).double() / n
    row = {"FD": frechet_distance(fake, real), "KID": kid_value, "KID SE": kid_se, **pr,
           "rarest digit share": float(shares.min()), "largest digit share": float(shares.max())}
    if train_images is not None:
        row["NN distance to train"] = float(nearest_neighbour_distance(samples, train_images).median())
    return row


def fd_difference_interval(feats_a: torch.Tensor, feats_b: torch.Tensor, feats_ref: torch.Tensor,
                           resamples: int = 200, seed: int = 0, level: float = 0.95) -> Interval:
    """Bootstrap interval of ``FD(a, ref) - FD(b, ref)`` for feature sets ``(N, F)`` of one size N.

    Each resample draws one index vector with replacement and applies it to all three sets (the two
    models' samples and the real reference), so the two distances share the reference's draw (paired).
    Duplicated rows bias each FD a little; the bias is alike on both sides and mostly cancels in the
    difference. Positive: ``a`` is farther from the reference than ``b``.

    First used in notebook 05.
    """
    if not (len(feats_a) == len(feats_b) == len(feats_ref)):
        raise ArgumentError(f"the three feature sets must have one size, got {len(feats_a)}, {len(feats_b)}, {len(feats_ref)}")
    a, b, ref = (f.detach().cpu().double() for f in (feats_a, feats_b, feats_ref))

    def statistic(idx: np.ndarray) -> float:
        i = torch.as_tensor(idx)
        return frechet_distance(a[i], ref[i]) - frechet_distance(b[i], ref[i])

    return bootstrap_interval(statistic, len(a), level=level, resamples=resamples, seed=seed)


def block_means(log: dict, blocks: int = 25) -> dict:
    """Means of per-step logs over about ``blocks`` consecutive blocks of steps.

    ``log`` is ``{key: [one float per step]}``, every list of the same length n. Returns
    ``{"step": [last step of each block], key: [mean over the block]}`` with blocks of ``max(1, n // blocks)``
    steps (the last block takes the remainder), so a curve has about ``blocks`` points whatever n.

    First used in notebook 05.
    """
    lengths = {len(v) for v in log.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ArgumentError(f"every entry of log must hold one value per step, got lengths {sorted(lengths)}")
    n = lengths.pop()
    size = max(1, n // blocks)
    ends = list(range(size, n + 1, size))
    if ends[-1] != n:
        ends.append(n)
    starts = [0] + ends[:-1]
    out = {"step": [float(e) for e in ends]}
    for key, values in log.items():
        out[key] = [float(np.mean(values[s:e])) for s, e in zip(starts, ends)]
    return out
