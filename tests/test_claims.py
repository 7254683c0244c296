"""Claims of the text, checked by code: three-way verdicts with intervals, enforced only in full mode."""

import numpy as np
import pytest

from course_utils import claims, config
from course_utils.intervals import Interval, bootstrap_interval, paired_interval


@pytest.fixture
def full(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    monkeypatch.setattr(config, "CLAIMS", "check")


def test_a_true_claim_is_printed_with_its_numbers(full, capsys):
    assert claims.claim(3 > 2, "three beats two", three=3.0, two=2)
    assert "[claim holds] three beats two (three=3, two=2)" in capsys.readouterr().out


def test_a_false_claim_raises_in_full_mode_with_the_measured_values(full):
    with pytest.raises(claims.ClaimFailed, match=r"L1 is sharper.*l1=0\.1.*mse=0\.2"):
        claims.claim(0.1 > 0.2, "L1 is sharper than MSE", l1=0.1, mse=0.2)


def test_fast_mode_shows_a_verdict_and_never_raises(monkeypatch, capsys):
    monkeypatch.setattr(config, "FAST", True)
    v = claims.claim(False, "needs full training")
    assert not v and v.verdict == "contradicted"
    assert "not checked in fast mode" in capsys.readouterr().out
    assert claims.compare_seeds("reversed", [1.0, 1.1, 0.9], [5.0, 5.2, 4.9]).verdict == "contradicted"


def test_a_truly_equal_pair_reads_inconclusive_and_does_not_raise(full):
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 1, 3), rng.normal(10, 1, 3)          # three seeds of the same model
    v = claims.compare_seeds("a beats b", a, b)
    assert v.verdict == "inconclusive" and not v
    assert "Not distinguishable at this budget" in v.sentence(holds="a beats b.")
    # per-image values of two identical models: the bootstrap interval covers zero
    x = rng.normal(0, 1, 1000)
    assert claims.compare_images("a beats b", x + rng.normal(0, 0.01, 1000), x).verdict == "inconclusive"


def test_a_reversed_pair_raises_and_a_clear_gap_holds(full):
    with pytest.raises(claims.ClaimFailed, match="contradicts"):
        claims.compare_seeds("low beats high", [1.0, 1.1, 0.9], [5.0, 5.2, 4.9])
    v = claims.compare_seeds("high beats low", [5.0, 5.2, 4.9], [1.0, 1.1, 0.9])
    assert v.verdict == "holds" and v.interval.low > 0
    assert v.sentence(holds="yes", inconclusive="maybe") == "yes"


def test_gap_above_the_largest_sd_is_not_enough_with_three_seeds(full):
    # the rule this replaces: mean gap 1.17 > largest sd 1.0 would have "held"; the paired differences
    # (2, 1, 0.5) vary too much for a 95 % interval over three seeds to exclude zero.
    v = claims.compare_seeds("gap", [11.0, 12.0, 10.0], [9.0, 11.0, 9.5])
    assert v.verdict == "inconclusive"


def test_a_margin_moves_the_verdict(full):
    interval = Interval(1.5, 1.2, 1.8, 0.95, "test", 100)
    assert claims.compare("beats by more than 1", interval, margin=1.0).verdict == "holds"
    assert claims.compare("beats by more than 1.5", interval, margin=1.5).verdict == "inconclusive"
    with pytest.raises(claims.ClaimFailed):
        claims.compare("beats by more than 2", interval, margin=2.0)


def test_paired_interval_matches_the_t_formula():
    a, b = [3.0, 4.0, 6.0], [1.0, 1.5, 2.0]
    d = np.subtract(a, b)
    i = paired_interval(a, b)
    half = 4.302652729911275 * d.std(ddof=1) / np.sqrt(3)     # t(0.975, df=2)
    assert i.estimate == pytest.approx(d.mean()) and i.high - i.estimate == pytest.approx(half)
    assert paired_interval([1.0], [0.0]).low == -np.inf       # one seed: nothing to go on
    unequal = paired_interval([1.0, 2.0, 3.0], [0.0, 0.5])
    assert unequal.method.startswith("Welch")


def test_bootstrap_interval_covers_a_known_mean_and_stratifies():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 1.0, 400)
    i = bootstrap_interval(lambda idx: x[idx].mean(), len(x), seed=0)
    assert i.low < 2.0 < i.high and i.high - i.low == pytest.approx(2 * 1.96 / 20, rel=0.25)
    labels = np.array([0] * 390 + [1] * 10)                   # a rare class stays in every resample
    seen = bootstrap_interval(lambda idx: float(labels[idx].sum()), 400, strata=labels, seed=0)
    assert seen.low == seen.high == 10
    assert bootstrap_interval(lambda idx: x[idx].mean(), 400, seed=3) == bootstrap_interval(
        lambda idx: x[idx].mean(), 400, seed=3)               # deterministic


def test_one_table_per_section(full, capsys):
    with claims.verdicts("Results") as table:
        claims.claim(True, "exact", err=1e-9)
        claims.compare_seeds("equal", [1.0, 2.0, 3.0], [2.0, 1.0, 3.0])
    out = capsys.readouterr().out
    assert table.counts() == {"holds": 1, "inconclusive": 1, "contradicted": 0}
    assert "| claim | numbers | difference and interval | verdict |" in out and "**inconclusive**" in out
    assert "[claim" not in out                                 # collected, not printed line by line


def test_seeds_follow_course_seed_and_mode(monkeypatch):
    monkeypatch.setattr(config, "SEED", 5)
    monkeypatch.setattr(config, "FAST", False)
    assert claims.seeds() == [5, 6, 7] and claims.seeds(2) == [5, 6]
    monkeypatch.setattr(config, "FAST", True)
    assert claims.seeds() == [5]


def test_mean_spread_and_bad_input():
    mean, sd = claims.mean_spread([1.0, 2.0, 3.0])
    assert mean == 2.0 and sd == pytest.approx(1.0)
    assert claims.mean_spread([4.0]) == (4.0, 0.0)
    with pytest.raises(ValueError, match="values"):
        claims.mean_spread([])
    with pytest.raises(ValueError, match="text"):
        claims.claim(True, "")
    with pytest.raises(ValueError, match="a must be"):
        paired_interval([], [1.0])
    with pytest.raises(ValueError, match="level"):
        paired_interval([1.0, 2.0], [1.0, 2.0], level=1.5)
    with pytest.raises(TypeError, match="interval"):
        claims.compare("x", 0.5)
    with pytest.raises(ValueError, match="one value per test image"):
        claims.compare_images("x", [1.0, 2.0], [1.0])


def test_report_mode_prints_a_contradicted_claim_instead_of_raising(full, monkeypatch, capsys):
    monkeypatch.setattr(config, "CLAIMS", "report")
    assert not claims.claim(False, "digits on fashion images", x=1.0)
    assert "FAILS in this run, not enforced" in capsys.readouterr().out
