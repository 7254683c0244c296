"""Claims the prose makes, checked by code next to the measurement.

A notebook never types a measured number into its Markdown. Where it interprets a result ("L1 samples are
sharper than MSE samples"), the code cell that measured it calls ``claim``::

    claim(sharp["L1"] > sharp["MSE"], "L1 samples are sharper than MSE samples", L1=sharp["L1"], MSE=sharp["MSE"])

In full mode a false claim raises ``ClaimFailed`` with the measured values in the message, so a run on other
data or with another ``COURSE_SEED`` that breaks a claim fails loudly instead of contradicting its text. In
fast mode (too little training for most claims to hold) the claim is printed as not checked.

Comparisons that hinge on a small difference are measured over several seeds (``seeds()``) and checked with
``claim_greater``, which holds only when the gap between the means exceeds the spread of either side.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from . import config
from .checks import check_int


class ClaimFailed(AssertionError):
    """A claim of the course's text did not hold in this run."""


def _format(values: dict) -> str:
    parts = []
    for key, value in values.items():
        parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def claim(condition: bool, text: str, **measured) -> bool:
    """Check one claim of the text: raise ``ClaimFailed`` in full mode if ``condition`` is false.

    ``text`` is the claim as the prose states it; ``measured`` are the numbers it rests on (shown either way).
    Returns the condition. In fast mode nothing is raised: the line says the claim was not checked.

    First used in notebook 01.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be the claim, as a non-empty string")
    holds = bool(condition)
    detail = f" ({_format(measured)})" if measured else ""
    if config.FAST:
        print(f"[claim not checked in fast mode] {text}{detail}")
    elif holds:
        print(f"[claim holds] {text}{detail}")
    elif config.CLAIMS == "report":  # a timing run on stand-in data: say it, do not stop
        print(f"[claim FAILS in this run, not enforced: COURSE_CLAIMS=report] {text}{detail}")
    else:
        raise ClaimFailed(f"this run contradicts the text: {text}{detail}")
    return holds


def seeds(n_full: int = 3) -> list[int]:
    """The seeds a close comparison runs over: ``n_full`` seeds from ``COURSE_SEED`` on, one in fast mode.

    First used in notebook 01.
    """
    n_full = check_int("n_full", n_full, low=1)
    return [config.SEED] if config.FAST else [config.SEED + i for i in range(n_full)]


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation of per-seed values (spread 0 for a single value).

    First used in notebook 03.
    """
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"values must be a non-empty list of finite numbers, got {values}")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def claim_greater(text: str, higher: Sequence[float], lower: Sequence[float], **names) -> bool:
    """Claim that ``higher`` exceeds ``lower`` by more than the seed-to-seed spread of either.

    ``higher``, ``lower``: one value per seed. The claim holds when
    ``mean(higher) - mean(lower) > max(sd(higher), sd(lower))`` (with one seed: a plain ``>``).

    First used in notebook 03.
    """
    (m_hi, s_hi), (m_lo, s_lo) = mean_spread(higher), mean_spread(lower)
    margin = max(s_hi, s_lo)
    return claim(m_hi - m_lo > margin, text, higher_mean=m_hi, lower_mean=m_lo, spread=margin, seeds=len(higher), **names)
