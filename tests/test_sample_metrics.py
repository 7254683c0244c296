"""KID, improved precision/recall and the real-vs-real floor (course_utils.sample_metrics)."""

import functools
import math

import pytest
import torch
from course_utils.instrument import frechet_distance
from course_utils.sample_metrics import disjoint_halves, kid, precision_recall, real_floor

from conftest import gen


def gauss(n, d=8, shift=0.0, seed=0):
    return torch.randn(n, d, generator=gen(seed), dtype=torch.float64) + shift


def naive_mmd2(x, y):
    """Unbiased MMD² with k(x, y) = (xᵀy / d + 1)³, written out with loops over pairs."""
    m, d = x.shape
    k = lambda u, v: (float(u @ v) / d + 1) ** 3
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def naive_precision_recall(real, fake, k):
    def radii(s):
        return torch.tensor([sorted(float((s[i] - s[j]).norm()) for j in range(len(s)) if j != i)[k - 1]
                             for i in range(len(s))])

    def covered(points, centres, r):  # share of points within r[c] of some centre c
        return sum(any(float((p - c).norm()) <= r[j] for j, c in enumerate(centres)) for p in points) / len(points)

    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


# ----------------------------------------------------------------------------- KID


def test_kid_matches_naive_reference_with_one_whole_subset():
    x, y = gauss(12, d=3, seed=1), gauss(12, d=3, shift=0.5, seed=2)
    est, se = kid(x, y, subsets=1, subset_size=12, generator=gen(0))
    assert est == pytest.approx(naive_mmd2(x, y), rel=1e-10)
    assert math.isnan(se)  # one round: no spread to measure


def test_kid_equal_distributions_near_zero_shifted_clearly_positive():
    # Subsets small against N, so rounds overlap little and the SE is close to honest (see the docstring).
    a, b = gauss(4000, seed=1), gauss(4000, seed=2)
    est, se = kid(a, b, subsets=50, subset_size=100, generator=gen(0))
    assert se > 0 and abs(est) < 3 * se
    est_s, se_s = kid(a, gauss(4000, shift=0.3, seed=3), subsets=50, subset_size=100, generator=gen(0))
    assert est_s > 10 * se_s and est_s > 10 * abs(est)


def test_kid_unbiased_mean_of_small_draws_near_zero():
    # The biased V-statistic would be clearly positive here (diagonal terms included).
    ests = torch.tensor([kid(gauss(10, d=4, seed=2 * i), gauss(10, d=4, seed=2 * i + 1), subsets=1, subset_size=10)[0]
                         for i in range(400)])
    sem = float(ests.std() / len(ests) ** 0.5)
    assert abs(float(ests.mean())) < 3 * sem
    assert (ests < 0).any()  # unbiased: negative values occur and are not clipped


def test_kid_deterministic_with_seeded_generator_and_float32():
    a, b = gauss(300, seed=1).float(), gauss(300, shift=0.2, seed=2).float()
    first = kid(a, b, subsets=10, subset_size=100, generator=gen(5))
    assert first == kid(a, b, subsets=10, subset_size=100, generator=gen(5))
    assert first != kid(a, b, subsets=10, subset_size=100, generator=gen(6))


def test_kid_default_subset_size_is_capped_by_the_smaller_set():
    a, b = gauss(50, seed=1), gauss(40, seed=2)
    assert kid(a, b, subsets=3, generator=gen(0)) == kid(a, b, subsets=3, subset_size=40, generator=gen(0))


# ----------------------------------------------------------------------------- precision / recall


def test_precision_recall_identical_sets_give_one():
    x = gauss(500, seed=1)
    assert precision_recall(x, x.clone(), k=3) == {"precision": 1.0, "recall": 1.0}


def test_precision_recall_mode_collapse_high_precision_half_recall():
    # 2-D modes, so that k-NN balls of 400 samples cover their mode well (in high D precision of even a
    # perfect model stays below 1: the real manifold estimate is patchy).
    real = torch.cat([gauss(400, d=2, seed=1, shift=-10), gauss(400, d=2, seed=2, shift=10)])
    fake = gauss(400, d=2, seed=3, shift=-10)  # every sample in one of the two modes
    pr = precision_recall(real, fake, k=3)
    assert pr["precision"] > 0.9
    assert pr["recall"] == pytest.approx(0.5, abs=0.06)


def test_precision_recall_far_away_set_gives_zero():
    pr = precision_recall(gauss(300, seed=1), gauss(300, seed=2, shift=50), k=3)
    assert pr == {"precision": 0.0, "recall": 0.0}


@pytest.mark.parametrize("k", [1, 3, 7])
def test_precision_recall_matches_brute_force(k):
    real, fake = gauss(40, d=3, seed=1), gauss(30, d=3, shift=1.5, seed=2)
    p, r = naive_precision_recall(real, fake, k)
    assert 0 < p < 1 and 0 < r < 1  # a case where the answer is not trivial
    assert precision_recall(real, fake, k=k) == pytest.approx({"precision": p, "recall": r})


def test_precision_recall_chunks_agree_with_one_block(monkeypatch):
    import course_utils.sample_metrics as sm

    real, fake = gauss(300, seed=1), gauss(250, shift=0.3, seed=2)
    whole = precision_recall(real, fake, k=3)
    monkeypatch.setattr(sm, "_CHUNK", 7)  # many blocks, a ragged last one
    assert precision_recall(real, fake, k=3) == whole


# ----------------------------------------------------------------------------- real floor


def test_disjoint_halves_are_disjoint_equal_and_deterministic():
    x = torch.arange(11.0)[:, None]
    a, b = disjoint_halves(x, gen(0))
    assert len(a) == len(b) == 5
    assert not set(a.flatten().tolist()) & set(b.flatten().tolist())
    again = disjoint_halves(x, gen(0))
    assert torch.equal(a, again[0]) and torch.equal(b, again[1])


def test_real_floor_with_frechet_and_kid():
    x = gauss(400, seed=1)
    a, b = disjoint_halves(x, gen(3))
    assert real_floor(x, frechet_distance, gen(3)) == frechet_distance(a, b)
    est, se = real_floor(x, functools.partial(kid, subsets=20, subset_size=100, generator=gen(0)), gen(3))
    assert abs(est) < 3 * se


# ----------------------------------------------------------------------------- bad input


GOOD = gauss(20, d=4)


@pytest.mark.parametrize("call, match", [
    (lambda: kid(GOOD[0], GOOD), r"feats_a must have shape \(N, F\)"),
    (lambda: kid(GOOD, GOOD[:1]), r"feats_b must have shape \(N, F\) with N >= 2"),
    (lambda: kid(GOOD, gauss(20, d=5)), "same feature size F, got 4 and 5"),
    (lambda: kid(GOOD.long(), GOOD), "feats_a must be a floating-point tensor"),
    (lambda: kid([[0.0]], GOOD), "feats_a must be a floating-point tensor"),
    (lambda: kid(GOOD, torch.cat([GOOD, torch.tensor([[math.nan] * 4])])), "feats_b must hold finite"),
    (lambda: kid(GOOD, GOOD * math.inf), "feats_b must hold finite"),
    (lambda: kid(GOOD, GOOD[:10], subset_size=11), r"subset_size must be in \[2, 10\]"),
    (lambda: kid(GOOD, GOOD, subset_size=1), r"subset_size must be in \[2, 20\]"),
    (lambda: kid(GOOD, GOOD, subsets=0), "subsets must be >= 1"),
    (lambda: kid(GOOD, GOOD, generator=0), "generator must be a torch.Generator"),
    (lambda: precision_recall(GOOD, GOOD, k=0), r"k must be in \[1, 19\]"),
    (lambda: precision_recall(GOOD, GOOD[:5], k=5), r"k must be in \[1, 4\]"),
    (lambda: precision_recall(GOOD, GOOD, k=2.0), "k must be an int"),
    (lambda: precision_recall(GOOD[None], GOOD), r"real_feats must have shape \(N, F\)"),
    (lambda: precision_recall(GOOD, gauss(20, d=3)), "same feature size F, got 4 and 3"),
    (lambda: precision_recall(GOOD, GOOD + math.nan), "fake_feats must hold finite"),
    (lambda: disjoint_halves(GOOD[:3]), "N >= 4"),
    (lambda: real_floor(GOOD, "fd"), "measure must be a callable"),
    (lambda: real_floor(GOOD[:, 0], frechet_distance), r"feats must have shape \(N, F\)"),
])
def test_bad_input_one_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_k_fails_before_any_distance(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("cdist ran before the arguments were checked")

    monkeypatch.setattr(torch, "cdist", boom)
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(gauss(5000, d=128), gauss(5000, d=128), k=5000)
