"""A class gradebook: grade a folder of submissions, one CSV for the class and one feedback page per notebook.

The folder is laid out as ``<folder>/<student>/<notebook>.ipynb`` (the notebook named like the course's,
e.g. ``alice/02_vae.ipynb``). Every submission is graded by ``homework.grade`` in its own process, under
a per-notebook time limit, so nothing one student hands in (invalid JSON, a cell that never ends, a
deleted test cell, a renamed function, a crash) can stop the rest of the class from being graded::

    python -m course_utils.homework grade submissions/          # make grade NB=submissions/

writes ``submissions/grades/grades.csv`` (one row per student, notebook and exercise: the autograded
points, the written answers left open for a teacher, and the reason when something could not be graded)
and ``submissions/grades/feedback/<student>/<notebook>.html`` (nbgrader's feedback, for the student).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import config
from .checks import check_int

CSV_COLUMNS = ["student", "notebook", "exercise", "kind", "points", "max_points", "status", "reason"]


@dataclass
class Row:
    """One line of the gradebook: one exercise of one student's notebook (or the notebook, if it failed)."""

    student: str
    notebook: str
    exercise: str
    kind: str  # "auto" (a test cell), "manual" (a written answer), or "" (the whole notebook)
    points: float | None
    max_points: float | None
    status: str  # "graded", "to grade by hand", "missing", "not graded"
    reason: str = ""


def instructor_exercises(instructor: Path) -> list[dict]:
    """``[{"exercise", "kind", "max_points"}, ...]`` of an instructor notebook's graded cells, in order."""
    nb = nbformat.read(instructor, as_version=4)
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            found.append({"exercise": meta["grade_id"], "kind": "manual" if meta.get("solution") else "auto",
                          "max_points": float(meta.get("points", 0))})
    return found


def _zero_rows(student: str, notebook: str, exercises: list[dict], status: str, reason: str) -> list[Row]:
    """Zero points for every exercise of a notebook that could not be graded (written answers stay open)."""
    rows = [Row(student, notebook, e["exercise"], e["kind"], 0.0 if e["kind"] == "auto" else None,
                e["max_points"], status, reason) for e in exercises]
    return rows or [Row(student, notebook, "", "", 0.0, 0.0, status, reason)]


def _readable(path: Path) -> str:
    """Empty if ``path`` is a valid notebook, else why not (one line)."""
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as err:  # invalid JSON, not a notebook, wrong schema, ...
        return f"not a readable notebook ({type(err).__name__}: {str(err).splitlines()[0][:160]})"
    return ""


def grade_one(student: str, submission: Path, instructor: Path, feedback: Path, timeout: int, fast: bool) -> list[Row]:
    """Grade one notebook of one student in a separate process, killed after ``timeout`` seconds."""
    exercises = instructor_exercises(instructor)
    problem = _readable(submission)
    if problem:
        return _zero_rows(student, submission.name, exercises, "not graded", problem)
    with tempfile.TemporaryDirectory(prefix="course_grade_") as tmp:
        scores = Path(tmp) / "scores.json"
        command = [sys.executable, "-m", "course_utils.homework", "grade", str(submission), "--json", str(scores),
                   "--feedback", str(feedback), "--instructor", str(instructor.parent)] + ([] if fast else ["--full"])
        # Its own session: on a timeout the whole group goes (the grader and the kernel it started).
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=config.REPO_ROOT, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return _zero_rows(student, submission.name, exercises, "not graded",
                              f"grading took longer than the {timeout} s allowed per notebook (a cell that never ends?)")
        if process.returncode != 0 or not scores.is_file():
            last = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
            return _zero_rows(student, submission.name, exercises, "not graded", f"grading failed: {last[0][:200]}")
        graded = {r["exercise"]: r for r in json.loads(scores.read_text())}
    rows = []
    for e in exercises:
        r = graded.get(e["exercise"])
        if r is None:
            rows.append(Row(student, submission.name, e["exercise"], e["kind"], 0.0, e["max_points"], "not graded",
                            "the graded cell is missing from the graded notebook"))
        elif r["points"] is None:
            rows.append(Row(student, submission.name, e["exercise"], "manual", None, r["max_points"], "to grade by hand"))
        elif r.get("kind") == "manual":  # a written answer left as handed out: nbgrader scored it 0
            rows.append(Row(student, submission.name, e["exercise"], "manual", r["points"], r["max_points"], "graded",
                            "the written answer was left empty"))
        else:
            reason = "" if r["points"] == r["max_points"] else "the test cell failed: see the feedback page"
            rows.append(Row(student, submission.name, e["exercise"], "auto", r["points"], r["max_points"], "graded", reason))
    return rows


def grade_class(folder: str | Path, out: str | Path | None = None, timeout: int = 600, fast: bool = True,
                instructor_dir: str | Path | None = None) -> str:
    """Grade every ``<folder>/<student>/<notebook>.ipynb``; write ``grades.csv`` and feedback; return a summary.

    Args:
        folder: one sub-folder per student, holding notebooks named like the course's.
        out: where ``grades.csv`` and ``feedback/`` go (default ``<folder>/grades``).
        timeout: seconds allowed per notebook, in [10, 86400]; a notebook over it scores zero with the reason.
        fast: grade under ``COURSE_FAST=1`` (seconds per notebook) rather than in full mode.
        instructor_dir: folder of instructor notebooks (default: the course's ``notebooks/``).

    A notebook the course does not have is listed with the reason; a course notebook a student did not hand
    in is listed as missing (zero points).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder must be a directory of <student>/<notebook>.ipynb, got {folder}")
    check_int("timeout", timeout, 10, 86_400)
    instructor_dir = Path(instructor_dir) if instructor_dir else config.REPO_ROOT / "notebooks"
    course = {p.name: p for p in sorted(instructor_dir.glob("[0-9][0-9]_*.ipynb"))}
    if not course:
        raise FileNotFoundError(f"no instructor notebooks (NN_name.ipynb) in {instructor_dir}")
    out = Path(out) if out else folder / "grades"
    students = sorted(p for p in folder.iterdir() if p.is_dir() and p.resolve() != out.resolve())
    if not students:
        raise FileNotFoundError(f"no student folders in {folder} (expected {folder}/<student>/<notebook>.ipynb)")
    handed_in = {s.name: {p.name: p for p in s.glob("*.ipynb")} for s in students}
    # Grade the course notebooks that at least one student handed in; the others are not part of this homework.
    assigned = sorted(name for name in course if any(name in files for files in handed_in.values()))
    rows: list[Row] = []
    for student in students:
        files = handed_in[student.name]
        for name in sorted(set(files) - set(course)):
            rows.append(Row(student.name, name, "", "", None, None, "not graded",
                            "no course notebook has this name (rename it like the course's, e.g. 02_vae.ipynb)"))
        for name in assigned:
            if name not in files:
                rows += _zero_rows(student.name, name, instructor_exercises(course[name]), "missing", "not handed in")
                continue
            feedback = out / "feedback" / student.name / (Path(name).stem + ".html")
            rows += grade_one(student.name, files[name], course[name], feedback, timeout, fast)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([r.student, r.notebook, r.exercise, r.kind, "" if r.points is None else f"{r.points:g}",
                             "" if r.max_points is None else f"{r.max_points:g}", r.status, r.reason])
    return summarise(rows, out)


def summarise(rows: list[Row], out: Path) -> str:
    """One line per student: autograded points, open written answers, notebooks that could not be graded."""
    lines = [f"gradebook: {out / 'grades.csv'}  feedback: {out / 'feedback'}"]
    for student in sorted({r.student for r in rows}):
        mine = [r for r in rows if r.student == student]
        auto = [r for r in mine if r.kind == "auto"]
        earned, most = sum(r.points or 0 for r in auto), sum(r.max_points or 0 for r in auto)
        open_answers = sum(r.status == "to grade by hand" for r in mine)
        failed = sorted({r.notebook for r in mine if r.status in ("not graded", "missing")})
        lines.append(f"{student}: {earned:g} / {most:g} autograded points; {open_answers} written answer(s) to grade"
                     + (f"; not graded: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)
