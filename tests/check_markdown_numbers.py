"""Find numbers in the notebooks' Markdown that look measured: a run computes them, so prose must not type them.

A measured number belongs in a code cell's output; prose refers to it ("the table above") or the code prints
the sentence. This scanner flags, in Markdown cells outside math (``$...$``) and code (`` `...` ``):
decimals (``0.72``), percentages (``12 %``), and numbers followed by a unit (``113.9 nats``, ``20 dB``,
``75 s``, ``4 minutes``). Inside math it flags only a number followed by nats or dB (``$\\approx 9.2$ nats``).
Settings and formula constants go in math or code (``$p = 0.2$``, `` `lr=1e-3` ``). The few constants that read
naturally in prose are listed in ``ALLOWED``; keep that list short.

Usage: ``python tests/check_markdown_numbers.py [notebook.ipynb ...]`` (default: every course notebook);
exit status 1 when something is flagged.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Constants that are not measurements: the noise levels of the source experiments, a fair generator's share, and
# the confidence level of every interval the course reports.
ALLOWED = {"1 %", "10 %", "20 %", "80 %", "1%", "10%", "20%", "80%", "100 %", "100%", "50 %", "50%", "95 %", "95%"}

_UNIT = r"(?:\s*(?:nats?|dB|seconds?|minutes?|ms)|\s+(?:s|sec|min))\b"  # "75 s" needs the space: "1s" are digits
_NUMBER = r"(?<![\w.])\d+(?:[.,]\d+)?"
PROSE_PATTERNS = [
    re.compile(rf"{_NUMBER}\s*%"),                             # 12 %, 0.5%
    re.compile(r"(?<![\w.\-])\d+\.\d+(?!\w|\.\d)"),              # 0.72, 113.9 (not 1.2.3)
    re.compile(rf"{_NUMBER}{_UNIT}"),                          # 113 nats, 20 dB, 75 s, 4 minutes
]
MATH_PATTERN = re.compile(r"\d+(?:\.\d+)?\s*\$?\s*(?:\\[a-z]+\{)?\s*(?:nats?|dB)\b")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.S)
_CODE = re.compile(r"```.+?```|`[^`]+`", re.S)
_LINK = re.compile(r"\]\([^)]*\)|<[^>]+>")  # link targets and HTML tags (URLs, image widths)


def measured_numbers(markdown: str) -> list[str]:
    """The suspicious snippets of one Markdown cell's text, in order."""
    text = _CODE.sub(" ", markdown)
    text = _LINK.sub(" ", text)
    hits = [m.group(0) for math in _MATH.findall(text) for m in MATH_PATTERN.finditer(math)]
    prose = _MATH.sub(" ", text)
    for pattern in PROSE_PATTERNS:
        hits += [m.group(0).strip() for m in pattern.finditer(prose) if m.group(0).strip() not in ALLOWED]
    # a bare number in math followed by a unit outside it: "$\approx 9.2$ nats" (not a formula like "$10 log(2/p)$ dB")
    hits += [m.group(0) for m in re.finditer(r"\$(?:\s|\\approx|\\sim|[<>=~])*\d+(?:\.\d+)?\s*\$\s*(?:nats?|dB)\b", text)]
    return hits


def scan(path: Path) -> list[tuple[int, str]]:
    """``[(cell index, snippet), ...]`` for one notebook."""
    cells = json.loads(Path(path).read_text())["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found += [(index, hit) for hit in measured_numbers("".join(cell["source"]))]
    return found


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    paths = [Path(a) for a in argv] or sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    bad = 0
    for path in paths:
        for index, hit in scan(path):
            print(f"{path.name} cell [{index}]: {hit!r} looks measured: print it from code or refer to the output")
            bad += 1
    print(f"{bad} measured-looking number(s) in Markdown" if bad else "no measured numbers in Markdown")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
