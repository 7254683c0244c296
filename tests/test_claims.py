"""Claims of the text, checked by code: raise in full mode, printed as unchecked in fast mode."""

import pytest

from course_utils import claims, config


def test_a_true_claim_is_printed_with_its_numbers(monkeypatch, capsys):
    monkeypatch.setattr(config, "FAST", False)
    assert claims.claim(3 > 2, "three beats two", three=3.0, two=2) is True
    assert "[claim holds] three beats two (three=3, two=2)" in capsys.readouterr().out


def test_a_false_claim_raises_in_full_mode_with_the_measured_values(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    with pytest.raises(claims.ClaimFailed, match=r"L1 is sharper.*l1=0\.1.*mse=0\.2"):
        claims.claim(0.1 > 0.2, "L1 is sharper than MSE", l1=0.1, mse=0.2)


def test_fast_mode_reports_a_claim_as_not_checked(monkeypatch, capsys):
    monkeypatch.setattr(config, "FAST", True)
    assert claims.claim(False, "needs full training") is False
    assert "not checked in fast mode" in capsys.readouterr().out


def test_claim_greater_needs_a_gap_larger_than_the_seed_spread(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    assert claims.claim_greater("clear gap", [10.0, 10.2, 9.9], [8.0, 8.1, 7.9])
    with pytest.raises(claims.ClaimFailed, match="within noise"):
        claims.claim_greater("within noise", [10.0, 12.0, 8.0], [9.5, 9.0, 10.0])  # means differ, spread larger


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


def test_report_mode_prints_a_failed_claim_instead_of_raising(monkeypatch, capsys):
    monkeypatch.setattr(config, "FAST", False)
    monkeypatch.setattr(config, "CLAIMS", "report")
    assert claims.claim(False, "digits on fashion images", x=1.0) is False
    assert "FAILS in this run, not enforced" in capsys.readouterr().out
