"""Claims the prose makes, checked by code next to the measurement, with a verdict the text follows.

A notebook never types a measured number into its Markdown. Where it interprets a result, the code that
measured it states the claim and gets a ``Verdict``:

* ``claim(condition, text, **numbers)``: an exact or overwhelming fact (a formula matches to 1e-6, a loss
  fell by orders of magnitude): **holds** or **contradicted**;
* ``compare(text, interval)``, ``compare_seeds(text, higher, lower)``, ``compare_images(...)``: a
  difference with its interval (paired over seeds, or bootstrapped over test images, see ``intervals``):
  **holds** (the interval lies on the claimed side), **inconclusive** (it covers the margin) or
  **contradicted** (it lies on the other side).

In full mode only a *contradicted* claim raises ``ClaimFailed``, so a run on other data or another
``COURSE_SEED`` that breaks the text fails loudly, while an under-powered comparison is reported as
"not distinguishable at this budget". Interpretation is generated from the verdict
(``verdict.say(holds=..., inconclusive=...)`` displays the matching sentence), never written ahead of it.
In fast mode (too little training for most claims) verdicts are computed and shown, never enforced.

Group a section's claims in one table: ``with verdicts("Results"): ...`` collects every claim made inside
the block and displays one table (claim, numbers, interval, verdict) at its end.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Sequence

from . import config
from .checks import check_int, check_number
from .intervals import Interval, mean_difference_interval, paired_interval

HOLDS, INCONCLUSIVE, CONTRADICTED = "holds", "inconclusive", "contradicted"


class ClaimFailed(AssertionError):
    """A claim of the course's text is contradicted by this run."""


def _format(values: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: ``verdict`` is ``"holds"``, ``"inconclusive"`` or ``"contradicted"``.

    ``interval`` is the difference's interval (``None`` for a plain ``claim``); ``margin`` the amount the
    claim says the difference exceeds. Truthy only when the claim holds.
    """

    text: str
    verdict: str
    interval: Interval | None = None
    margin: float = 0.0
    measured: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.verdict == HOLDS

    @property
    def numbers(self) -> str:
        return _format(self.measured)

    @property
    def interval_text(self) -> str:
        if self.interval is None:
            return ""
        i = self.interval
        margin = f" vs margin {self.margin:.3g}" if self.margin else ""
        return f"{i} ({i.level:.0%} {i.method}){margin}"

    def sentence(self, holds: str, inconclusive: str | None = None, contradicted: str | None = None) -> str:
        """The sentence that matches the verdict; defaults say plainly what an unsupported claim lacks."""
        if self.verdict == HOLDS:
            return holds
        if self.verdict == INCONCLUSIVE:
            return inconclusive or (f"Not distinguishable at this budget: the data do not settle whether "
                                    f"{self.text} (difference {self.interval_text}).")
        return contradicted or f"This run contradicts the claim that {self.text} (difference {self.interval_text})."

    def say(self, holds: str, inconclusive: str | None = None, contradicted: str | None = None) -> str:
        """Display ``sentence(...)`` as Markdown in a notebook (printed elsewhere) and return it."""
        text = self.sentence(holds, inconclusive, contradicted)
        _show_markdown(text)
        return text


def _show_markdown(text: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:  # pragma: no cover - IPython ships with the course
        pass
    print(text)


class VerdictTable:
    """The claims of one section, shown as one table (see ``verdicts``)."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[Verdict] = []

    def markdown(self) -> str:
        mode = " (fast mode: shown, not enforced)" if config.FAST else ""
        lines = [f"**Verdicts: {self.title}**{mode}", "", "| claim | numbers | difference and interval | verdict |",
                 "|---|---|---|---|"]
        for v in self.rows:
            cells = [v.text, v.numbers, v.interval_text, f"**{v.verdict}**" if v.verdict != HOLDS else v.verdict]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        return {name: sum(v.verdict == name for v in self.rows) for name in (HOLDS, INCONCLUSIVE, CONTRADICTED)}


_tables: list[VerdictTable] = []


class verdicts:
    """``with verdicts("3. Results") as table:`` collect the block's claims and display one table at its end.

    First used in notebook 05.
    """

    def __init__(self, title: str):
        if not isinstance(title, str) or not title:
            raise ValueError("title must be the section's name, as a non-empty string")
        self.table = VerdictTable(title)

    def __enter__(self) -> VerdictTable:
        _tables.append(self.table)
        return self.table

    def __exit__(self, exc_type, exc, tb) -> None:
        _tables.remove(self.table)
        if exc_type is None and self.table.rows:
            _show_markdown(self.table.markdown())


def _record(v: Verdict) -> Verdict:
    """Show or collect ``v``; raise in full mode if it is contradicted."""
    if _tables:
        _tables[-1].rows.append(v)
    else:
        detail = "; ".join(p for p in (v.numbers, v.interval_text) if p)
        label = f"claim {v.verdict}, not checked in fast mode" if config.FAST else f"claim {v.verdict}"
        print(f"[{label}] {v.text}" + (f" ({detail})" if detail else ""))
    if v.verdict == CONTRADICTED and not config.FAST:
        message = f"this run contradicts the text: {v.text} ({v.numbers}; {v.interval_text})"
        if config.CLAIMS == "report":  # a timing run on stand-in data: say it, do not stop
            print(f"[claim FAILS in this run, not enforced: COURSE_CLAIMS=report] {message}")
        else:
            raise ClaimFailed(message)
    return v


def claim(condition: bool, text: str, **measured) -> Verdict:
    """An exact or overwhelming fact: holds if ``condition`` is true, else contradicted.

    ``text`` is the claim as the prose states it; ``measured`` are the numbers it rests on (shown either way).
    Use ``compare`` instead wherever the claim is a difference that noise could produce.

    First used in notebook 01.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be the claim, as a non-empty string")
    return _record(Verdict(text, HOLDS if condition else CONTRADICTED, measured=measured))


def judge(interval: Interval, margin: float = 0.0) -> str:
    """``holds`` if the whole interval exceeds ``margin``, ``contradicted`` if it lies below, else inconclusive."""
    if interval.low > margin:
        return HOLDS
    if interval.high < margin:
        return CONTRADICTED
    return INCONCLUSIVE


def compare(text: str, interval: Interval, margin: float = 0.0, **measured) -> Verdict:
    """Claim that a difference (``interval``, oriented so the claim says "positive") exceeds ``margin``.

    First used in notebook 05.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be the claim, as a non-empty string")
    if not isinstance(interval, Interval):
        raise TypeError(f"interval must be an intervals.Interval, got {type(interval).__name__}")
    margin = check_number("margin", margin)
    return _record(Verdict(text, judge(interval, margin), interval, margin, measured))


def compare_seeds(text: str, higher: Sequence[float], lower: Sequence[float], margin: float = 0.0,
                  level: float = 0.95, **measured) -> Verdict:
    """Claim ``higher > lower (+ margin)`` from one value per seed on each side, paired by seed.

    Called by ``claim_greater``, which notebooks 03, 04, 05 and 07 use.
    """
    interval = paired_interval(higher, lower, level)
    means = {"higher_mean": statistics.fmean(float(v) for v in higher),
             "lower_mean": statistics.fmean(float(v) for v in lower)}
    return compare(text, interval, margin, **means, **measured)


def compare_images(text: str, higher: Sequence[float], lower: Sequence[float], margin: float = 0.0,
                   level: float = 0.95, seed: int = 0, **measured) -> Verdict:
    """Claim ``mean(higher) > mean(lower) (+ margin)`` from per-image values on the same test images.

    Not called by a notebook yet; the lesson notebooks apply it.
    """
    interval = mean_difference_interval(higher, lower, level, seed=seed)
    return compare(text, interval, margin, **measured)


def claim_greater(text: str, higher: Sequence[float], lower: Sequence[float], **names) -> Verdict:
    """``compare_seeds`` under its older name: per-seed values, paired interval, three-way verdict.

    First used in notebook 03.
    """
    return compare_seeds(text, higher, lower, **names)


def seeds(n_full: int = 3) -> list[int]:
    """The seeds a close comparison runs over: ``n_full`` seeds from ``COURSE_SEED`` on, one in fast mode.

    First used in notebook 03.
    """
    n_full = check_int("n_full", n_full, low=1)
    return [config.SEED] if config.FAST else [config.SEED + i for i in range(n_full)]


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation of per-seed values (spread 0 for a single value).

    For display only ("mean ± sd"); a comparison uses ``compare_seeds``, whose interval is paired.

    First used in notebook 03.
    """
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"values must be a non-empty list of finite numbers, got {values}")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
