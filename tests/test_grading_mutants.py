"""Mutation tests for the graders: every plausible wrong answer loses its points, every correct variant earns them.

For each notebook, the answers in ``tests/grading_variants.py`` are put into submissions, one "round" at a
time: round ``k`` replaces every exercise's solution cell by that exercise's ``k``-th variant (its wrong ones
first, then its right ones; an exercise with fewer variants keeps the instructor's solution). The exercises are
graded independently (nbgrader runs on with ``allow_errors``), so one grading checks one variant of every
exercise at once. Each submission goes through ``course_utils.homework.grade``: the same path as
``make grade NB=...`` (nbgrader's autograde in fast mode, test cells restored from the instructor version).

The whole set grades each notebook several times (minutes), so the grading test is not part of the fast suite
(marker ``grading``, skipped unless selected): ``make test-grading`` runs it, and so does CI after ``make test``.
The check that every exercise has its variants runs in the fast suite.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from course_utils import homework

from grading_variants import VARIANTS

NOTEBOOKS = {path.name: path for path in homework.course_notebooks()}


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
def test_wrong_answers_lose_the_points_and_correct_variants_earn_them(name, tmp_path):
    instructor = nbformat.read(NOTEBOOKS[name], as_version=4)
    graded = exercises(instructor)
    failures = []
    for k, assignment in enumerate(rounds(VARIANTS[name])):
        nb = nbformat.read(NOTEBOOKS[name], as_version=4)
        for ex, (_, _, source) in assignment.items():
            nb.cells[graded[ex][0]].source = source
        submission = tmp_path / f"round{k}" / name
        submission.parent.mkdir()
        nbformat.write(nb, submission)
        scores = {row["exercise"]: row for row in homework.grade(submission)}
        for ex, (kind, label, _) in assignment.items():
            row = scores[graded[ex][1]]
            if kind == "wrong" and row["points"] != 0:
                failures.append(f"{ex}: the wrong answer '{label}' earned {row['points']:g} of {row['max_points']:g}")
            if kind == "right" and row["points"] != row["max_points"]:
                failures.append(f"{ex}: the correct variant '{label}' earned only {row['points']:g} of {row['max_points']:g}")
    assert not failures, "\n".join(failures)


@pytest.mark.grading
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_trusted_grader_fails_every_wrong_answer_and_passes_every_correct_one(name, tmp_path):
    """The same variants through the sandboxed probes (``make grade NB=submissions/``): one submission per variant."""
    from course_utils.probes import PROBES
    from course_utils.verdicts import Course

    course = Course(NOTEBOOKS[name], PROBES[name], seed=7, work=tmp_path / "course")
    instructor = nbformat.read(NOTEBOOKS[name], as_version=4)
    graded, failures = exercises(instructor), []
    for ex, variants in VARIANTS[name].items():
        for kind in ("wrong", "right"):
            for k, (label, source) in enumerate(variants.get(kind, {}).items()):
                nb = nbformat.read(NOTEBOOKS[name], as_version=4)
                nb.cells[graded[ex][0]].source = source
                work = tmp_path / f"{ex}-{kind}{k}"
                work.mkdir()
                work.chmod(0o777)
                verdicts, _, _ = course.grade(json.loads(nbformat.writes(nb)), work, 60)
                v = next(v for v in verdicts if v.exercise == graded[ex][1])
                if kind == "wrong" and v.points != 0:
                    failures.append(f"{ex}: the wrong answer '{label}' earned {v.points:g}")
                if kind == "right" and v.points != v.max_points:
                    failures.append(f"{ex}: the correct variant '{label}' earned {v.points:g}: {v.reason}")
    assert not failures, "\n".join(failures)
