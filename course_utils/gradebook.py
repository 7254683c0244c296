"""A class gradebook: grade a folder of submissions, one CSV for the class and one feedback page per notebook.

The folder is laid out as ``<folder>/<student>/<notebook>.ipynb`` (the notebook named like the course's,
e.g. ``alice/02_vae.ipynb``). Every submission runs in its own bubblewrap sandbox (``course_utils.sandbox``),
which sees only the student's own definitions and the grader's hidden inputs; the verdicts are computed by
this process from the plain data that comes back (``course_utils.verdicts``), so nothing one student hands in
(invalid JSON, a cell that never ends, a replaced comparison, a hook, a crash) can change a grade, stop the
rest of the class from being graded, or reach another submission::

    python -m course_utils.homework grade submissions/          # make grade NB=submissions/

writes ``submissions/grades/grades.csv`` (one row per student, notebook and exercise: the autograded
points, the written answers left open for a teacher, and the reason when something could not be graded)
and ``submissions/grades/feedback/<student>/<notebook>.html`` (points, reasons and screening flags).
``--jobs N`` grades N at once, ``--shard i/n`` one share of the class; ``merge`` joins the shards' CSVs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import config, homework
from .checks import check_int

CSV_COLUMNS = ["student", "notebook", "exercise", "kind", "points", "max_points", "status", "reason", "flags", "sandbox"]


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
    flags: str = ""  # what screening found in the student's cells, with line numbers
    sandbox: str = ""  # "sandboxed" or "not sandboxed" (bubblewrap unavailable)


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


def grade_class(folder: str | Path, out: str | Path | None = None, timeout: int = 600, fast: bool = True,
                instructor_dir: str | Path | None = None, jobs: int | None = None, shard: str = "1/1",
                seed: int | None = None, probes: dict | None = None) -> str:
    """Grade every ``<folder>/<student>/<notebook>.ipynb``; write ``grades.csv`` and feedback; return a summary.

    Args:
        folder: one sub-folder per student, holding notebooks named like the course's.
        out: where ``grades.csv`` and ``feedback/`` go (default ``<folder>/grades``).
        timeout: seconds allowed per notebook, in [10, 86400]; only the exercises it prevented score zero.
        fast: kept for the command line; the trusted grader trains nothing, so both modes grade alike.
        instructor_dir: folder of instructor notebooks (default: the course's ``notebooks/``).
        jobs: submissions graded at once (default: the CPU cores).
        shard: ``"i/n"``: grade only the students whose sorted index is ``i - 1`` modulo ``n``.
        seed: the hidden inputs' seed (default ``$COURSE_GRADING_SEED`` or a random one; shards must share it).
        probes: ``{notebook name: [Probe, ...]}`` (default: ``course_utils.probes.PROBES``).

    Every submission runs in its own sandbox (see ``course_utils.sandbox``); the verdicts are computed here.
    """
    from . import classrun

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder must be a directory of <student>/<notebook>.ipynb, got {folder}")
    check_int("timeout", timeout, 10, 86_400)
    index, count = classrun.parse_shard(shard)
    instructor_dir = Path(instructor_dir) if instructor_dir else config.REPO_ROOT / "notebooks"
    try:
        course = {p.name: p for p in homework.course_notebooks(instructor_dir)}
    except FileNotFoundError:
        raise FileNotFoundError(f"no instructor notebooks (NN_name.ipynb) in {instructor_dir}") from None
    out = Path(out) if out else folder / "grades"
    students = sorted(p for p in folder.iterdir() if p.is_dir() and p.resolve() != out.resolve()
                      and not (p / "grades.csv").exists())  # an earlier run's gradebook is no student
    if not students:
        raise FileNotFoundError(f"no student folders in {folder} (expected {folder}/<student>/<notebook>.ipynb)")
    rows = classrun.grade_students(students, course, out, timeout, jobs, seed, probes, index, count)
    write_csv(rows, out / "grades.csv")
    return summarise(read_csv(out / "grades.csv"), out)


def write_csv(rows: list[Row], path: Path) -> None:
    """The gradebook, one row per student, notebook and exercise (``CSV_COLUMNS``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([r.student, r.notebook, r.exercise, r.kind, "" if r.points is None else f"{r.points:g}",
                             "" if r.max_points is None else f"{r.max_points:g}", r.status, r.reason, r.flags,
                             r.sandbox])


def read_csv(path: Path) -> list[Row]:
    """Rows back from a gradebook CSV (the summary is built from the file as written)."""
    with open(path, newline="") as f:
        return [Row(d["student"], d["notebook"], d["exercise"], d["kind"],
                    float(d["points"]) if d["points"] else None, float(d["max_points"]) if d["max_points"] else None,
                    d["status"], d["reason"], d.get("flags", ""), d.get("sandbox", "")) for d in csv.DictReader(f)]


def summarise(rows: list[Row], out: Path) -> str:
    """One line per student: autograded points, open written answers, notebooks that could not be graded."""
    lines = [f"gradebook: {out / 'grades.csv'}  feedback: {out / 'feedback'}"]
    if any(r.sandbox == "not sandboxed" for r in rows):
        lines.append("WARNING: bubblewrap is not available here: the submissions ran NOT sandboxed")
    flagged = sorted({(r.student, r.notebook) for r in rows if r.flags})
    if flagged:
        lines.append("flagged for a look: " + ", ".join(f"{s}/{n}" for s, n in flagged))
    for student in sorted({r.student for r in rows}):
        mine = [r for r in rows if r.student == student]
        auto = [r for r in mine if r.kind == "auto"]
        earned, most = sum(r.points or 0 for r in auto), sum(r.max_points or 0 for r in auto)
        open_answers = sum(r.status == "to grade by hand" for r in mine)
        failed = sorted({r.notebook for r in mine if r.status in ("not graded", "missing")})
        lines.append(f"{student}: {earned:g} / {most:g} autograded points; {open_answers} written answer(s) to grade"
                     + (f"; not graded: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)
