"""Headline numbers that notebooks measure, collected for the README by ``make bench``.

A notebook cell calls ``record_result("vae_test_nelbo_nats", value, "nats")`` next to where it prints the
number. Normally that only prints a tagged line; when ``COURSE_RESULTS`` names a file (the benchmark runner
sets it), one JSON object per call is appended there, so the published numbers are the notebooks' own.
"""

from __future__ import annotations

import json
import math
import re

from . import config


def record_result(name: str, value: float, unit: str, **extra) -> dict:
    """Record one measured number; returns the ``{"name", "value", "unit", ...}`` record.

    ``name``: lower-case letters, digits and underscores; ``value``: a finite number; ``extra``: JSON-able
    context such as the data it was measured on.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"name must be lower-case letters, digits and '_', got {name!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "item"):
        raise TypeError(f"value must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a string, got {type(unit).__name__}")
    record = {"name": name, "value": value, "unit": unit, "fast": config.FAST, **extra}
    path = config.results_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
    return record


def read_results(path) -> list[dict]:
    """All records of a JSON-lines results file (later records of the same name win)."""
    latest: dict[str, dict] = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                latest[record["name"]] = record
    return list(latest.values())
