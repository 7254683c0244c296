"""Grading benchmark: a synthetic class graded end to end, seconds per notebook; shards merged against one run.

The class has ``--students`` students, each handing in all seven course notebooks: student k's notebook holds,
for every exercise, variant ``k`` of ``tests/grading_variants.py`` (its wrong answers, then its right ones, in
turn; the instructor's solution when k runs past them). The whole class is graded once with ``--jobs`` sandboxes
at a time; then, with ``--shards n``, n shard runs are merged and compared with the single run's CSV.

    python benchmarks/grading.py --students 30 --jobs 2 --shards 3      # make bench-grading

Prints one JSON line (``seconds_per_notebook``, ``notebooks``, ``shards_match``) and writes nothing tracked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_utils import classrun, gradebook, homework

ROOT = Path(__file__).resolve().parents[1]


def _load_variants() -> dict:
    # grading_variants is a test helper, not part of the installed package: loaded from its file, sys.path untouched.
    spec = importlib.util.spec_from_file_location("grading_variants", ROOT / "tests" / "grading_variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS


VARIANTS = _load_variants()


def synthetic_class(folder: Path, students: int) -> int:
    """Write ``folder/<student>/<notebook>.ipynb`` for every student and notebook; return the notebook count."""
    count = 0
    for path in homework.course_notebooks():
        instructor = nbformat.read(path, as_version=4)
        where = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(instructor.cells)
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
        for k in range(students):
            nb = nbformat.read(path, as_version=4)
            for exercise, variants in VARIANTS.get(path.name, {}).items():
                answers = list(variants.get("wrong", {}).values()) + list(variants.get("right", {}).values())
                if k < len(answers):
                    nb.cells[where[exercise]].source = answers[k]
            (folder / f"student{k:03d}").mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"student{k:03d}" / path.name)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=None, help="sandboxes at once (default: the cores)")
    parser.add_argument("--shards", type=int, default=0, help="also grade in n shards and merge (0: skip)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading_bench_") as tmp:
        folder = Path(tmp) / "class"
        notebooks = synthetic_class(folder, args.students)
        start = time.perf_counter()
        gradebook.grade_class(folder, out=Path(tmp) / "one", jobs=args.jobs, seed=1)
        seconds = time.perf_counter() - start
        record = {"students": args.students, "notebooks": notebooks, "jobs": args.jobs,
                  "seconds": round(seconds, 1), "seconds_per_notebook": round(seconds / notebooks, 2)}
        if args.shards:
            parts = []
            for i in range(1, args.shards + 1):
                parts.append(Path(tmp) / f"part{i}")
                gradebook.grade_class(folder, out=parts[-1], jobs=args.jobs, seed=1, shard=f"{i}/{args.shards}")
            classrun.merge(parts, Path(tmp) / "merged")
            record["shards_match"] = ((Path(tmp) / "merged" / "grades.csv").read_text()
                                      == (Path(tmp) / "one" / "grades.csv").read_text())
    print(json.dumps(record))
    return 0 if record.get("shards_match", True) else 1


if __name__ == "__main__":
    sys.exit(main())
