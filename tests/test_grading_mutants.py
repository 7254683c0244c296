"""Mutation tests for the graders: every plausible wrong answer loses its points, every correct variant earns them.

The answers in ``tests/grading_variants.py`` go through both graders:

* the notebook's own test cells (what nbgrader runs for ``make grade NB=...``): the instructor notebook runs
  once, top to bottom, in fast mode (``tests/fork_grader.py``); at each exercise the process forks once per
  variant, and the child runs the variant and the exercise's test cell in exactly the state a student's answer
  would meet. A test cell that raises is what nbgrader scores 0; one that runs, full marks. (The nbgrader path
  itself, restored test cells and all, is tested on whole submissions in ``tests/test_homework.py`` and
  ``tests/test_gradebook.py``.)
* the trusted grader (``make grade NB=submissions/``): the sandboxed probes, one submission per "round", where
  round ``k`` holds every exercise's ``k``-th variant (wrong ones first, then right ones; an exercise with fewer
  variants keeps the instructor's solution).

Both take minutes, so they are not part of the fast suite (marker ``grading``, skipped unless selected):
``make test-grading`` runs them, and so does CI after ``make test``. The check that every exercise has its
variants runs in the fast suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_utils import homework

from grading_variants import VARIANTS

NOTEBOOKS = {path.name: path for path in homework.course_notebooks()}
FORK_GRADER = Path(__file__).with_name("fork_grader.py")


def exercises(nb: nbformat.NotebookNode) -> dict[str, tuple[int, str]]:
    """``{solution grade_id: (cell index, grade_id of its test cell)}``: each solution with the graded cell after it."""
    found, pending = {}, None
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            pending = (meta["grade_id"], index)
        elif meta.get("grade") and pending:
            found[pending[0]] = (pending[1], meta["grade_id"])
            pending = None
    return found


def rounds(variants: dict[str, dict]) -> list[dict[str, tuple[str, str, str]]]:
    """``[{solution grade_id: (kind, label, source)}, ...]``: round k holds every exercise's k-th variant."""
    queues = {ex: [("wrong", label, src) for label, src in v.get("wrong", {}).items()]
              + [("right", label, src) for label, src in v.get("right", {}).items()] for ex, v in variants.items()}
    return [{ex: q[k] for ex, q in queues.items() if k < len(q)} for k in range(max(map(len, queues.values())))]


def test_every_exercise_has_wrong_and_right_variants():
    for name, path in NOTEBOOKS.items():
        graded = exercises(nbformat.read(path, as_version=4))
        assert name in VARIANTS, f"{name}: no variants"
        assert set(VARIANTS[name]) == set(graded), f"{name}: variants for {sorted(VARIANTS[name])}, exercises {sorted(graded)}"
        for ex, v in VARIANTS[name].items():
            assert len(v.get("wrong", {})) >= 3 and len(v.get("right", {})) >= 2, f"{name} {ex}: need 3 wrong, 2 right"


@pytest.mark.grading
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_wrong_answers_fail_the_test_cell_and_correct_variants_pass_it(name, tmp_path):
    """Every variant against the notebook's own test cell, in the state the notebook has reached there."""
    instructor = nbformat.read(NOTEBOOKS[name], as_version=4)
    graded = exercises(instructor)
    cells = [c.source if c.cell_type == "code" else None for c in instructor.cells]
    cell_of = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(instructor.cells)}
    exercise_at = {graded[ex][0]: ex for ex in VARIANTS[name]}       # solution cell index -> exercise
    variants = {index: [[f"{kind}: {label}", src] for kind in ("wrong", "right")
                        for label, src in VARIANTS[name][ex].get(kind, {}).items()] for index, ex in exercise_at.items()}
    tests = {index: cell_of[graded[ex][1]] for index, ex in exercise_at.items()}
    job, result = tmp_path / "job.json", tmp_path / "result.json"
    job.write_text(json.dumps({"cells": cells, "variants": variants, "tests": tests}))
    env = {**os.environ, "COURSE_FAST": "1", "MPLBACKEND": "Agg"}
    with open(tmp_path / "output.txt", "w") as log:
        subprocess.run([sys.executable, str(FORK_GRADER), str(job), str(result)], cwd=tmp_path, env=env,
                       stdout=log, stderr=subprocess.STDOUT, timeout=1800, check=True)
    report = json.loads(result.read_text())
    assert report["failed_cell"] is None, f"the instructor notebook failed: {report['failed_cell']}"
    failures = []
    for index, ex in exercise_at.items():
        assert str(index) in report["results"], f"{ex}: never reached"
        for label, verdict in report["results"][str(index)].items():
            if label.startswith("wrong") and verdict == "passed":
                failures.append(f"{ex}: the {label!r} passed the test cell")
            if label.startswith("right") and verdict != "passed":
                failures.append(f"{ex}: the {label!r} failed the test cell: {verdict}")
    assert not failures, "\n".join(failures)


@pytest.mark.grading
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_trusted_grader_fails_every_wrong_answer_and_passes_every_correct_one(name, tmp_path):
    """The same variants through the sandboxed probes (``make grade NB=submissions/``), a round per submission.

    Round ``k`` holds every exercise's ``k``-th variant: the probes grade each exercise in its own right (a
    crash in one is run again without the others), so one submission checks one variant of each exercise.
    """
    from course_utils.probes import PROBES
    from course_utils.verdicts import Course

    course = Course(NOTEBOOKS[name], PROBES[name], seed=7, work=tmp_path / "course")
    instructor = nbformat.read(NOTEBOOKS[name], as_version=4)
    graded, failures = exercises(instructor), []
    for k, assignment in enumerate(rounds(VARIANTS[name])):
        nb = nbformat.read(NOTEBOOKS[name], as_version=4)
        for ex, (_, _, source) in assignment.items():
            nb.cells[graded[ex][0]].source = source
        work = tmp_path / f"round{k}"
        work.mkdir()
        work.chmod(0o777)
        verdicts, _, _ = course.grade(json.loads(nbformat.writes(nb)), work, 60)
        for ex, (kind, label, _) in assignment.items():
            v = next(v for v in verdicts if v.exercise == graded[ex][1])
            if kind == "wrong" and v.points != 0:
                failures.append(f"{ex}: the wrong answer '{label}' earned {v.points:g}")
            if kind == "right" and v.points != v.max_points:
                failures.append(f"{ex}: the correct variant '{label}' earned {v.points:g}: {v.reason}")
    assert not failures, "\n".join(failures)
