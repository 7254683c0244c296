"""Tests of ``anomaly.mean_auroc_interval`` (notebook 07's intervals over the scored test images)."""

import numpy as np
import pytest
import torch
from course_utils.anomaly import auroc, mean_auroc_interval
from course_utils.intervals import bootstrap_indices


def _runs(separation, n=200, runs=2, seed=0):
    rng = np.random.default_rng(seed)
    labels = torch.arange(n) % 2 == 1
    out = []
    for _ in range(runs):
        base = torch.tensor(rng.standard_normal(n))
        out.append(({"good": base + separation * labels, "bad": base + 0.1 * labels}, labels))
    return out, labels


def test_estimate_is_the_mean_auroc_and_the_interval_covers_it():
    runs, labels = _runs(2.0)
    draws = bootstrap_indices(len(labels), resamples=200, seed=0, strata=labels.numpy().astype(int))
    iv = mean_auroc_interval(runs, "good", draws)
    assert iv.estimate == pytest.approx(np.mean([auroc(s["good"], y) for s, y in runs]))
    assert iv.low <= iv.estimate <= iv.high and iv.n == len(labels)


def test_a_clear_difference_excludes_zero_and_its_reverse_is_negative():
    runs, labels = _runs(2.0)
    draws = bootstrap_indices(len(labels), resamples=200, seed=1, strata=labels.numpy().astype(int))
    assert mean_auroc_interval(runs, "good", draws, minus="bad").low > 0
    assert mean_auroc_interval(runs, "bad", draws, minus="good").high < 0


def test_bad_arguments():
    runs, labels = _runs(1.0)
    draws = bootstrap_indices(len(labels), resamples=20, seed=0, strata=labels.numpy().astype(int))
    with pytest.raises(ValueError):
        mean_auroc_interval([], "good", draws)
    with pytest.raises(ValueError):
        mean_auroc_interval(runs, "good", draws, level=1.5)
