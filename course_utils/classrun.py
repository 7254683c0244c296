"""A class run: shards, parallel sandboxes, feedback pages, and merging the CSVs of several graders.

``grade_students`` grades a share of the class (``--shard i/n``: the students whose sorted index is ``i - 1``
modulo ``n``) with ``jobs`` sandboxes at a time. Each course notebook's reference outputs are computed once per
class, from the instructor's solution, by this trusted process. ``merge(parts, out)`` joins the gradebooks of n
shards into one, refusing a student graded twice and reporting a share that is missing.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .checks import ArgumentError
from .gradebook import CSV_COLUMNS, Row, _readable, _zero_rows, instructor_exercises, read_csv, summarise, write_csv

STUBS = {"", "YOUR ANSWER HERE"}


def parse_shard(shard: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(1, 4)`` (a 0-based index); one clear error otherwise."""
    try:
        i, n = (int(v) for v in str(shard).split("/"))
    except ValueError:
        raise ArgumentError(f"shard must look like 'i/n' with 1 <= i <= n, got {shard!r}") from None
    if not 1 <= i <= n:
        raise ArgumentError(f"shard must look like 'i/n' with 1 <= i <= n, got {shard!r}")
    return i - 1, n


def _seed(seed: int | None) -> int:
    if seed is not None:
        return int(seed)
    env = os.environ.get("COURSE_GRADING_SEED")
    return int(env) if env else secrets.randbits(32)


def _manual_rows(student: str, name: str, nb: dict, exercises: list[dict]) -> list[Row]:
    """Written answers: open for the teacher, or 0 when left as handed out."""
    answers = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): "".join(c.get("source", ""))
               for c in nb.get("cells", []) if c.get("cell_type") == "markdown"}
    rows = []
    for e in exercises:
        if e["kind"] != "manual":
            continue
        text = answers.get(e["exercise"])
        if text is None or text.strip() in STUBS:
            rows.append(Row(student, name, e["exercise"], "manual", 0.0, e["max_points"], "graded",
                            "the written answer was left empty"))
        else:
            rows.append(Row(student, name, e["exercise"], "manual", None, e["max_points"], "to grade by hand"))
    return rows


def _grade_submission(course, student: str, path: Path, exercises: list[dict], work: Path, timeout: int) -> list[Row]:
    problem = _readable(path)
    if problem:
        return _zero_rows(student, path.name, exercises, "not graded", problem)
    nb = json.loads(path.read_text())
    verdicts, sandboxed, _ = course.grade(nb, work, timeout)
    label = "sandboxed" if sandboxed else "not sandboxed"
    by_id = {v.exercise: v for v in verdicts}
    rows = []
    for e in exercises:
        if e["kind"] == "manual":
            rows += _manual_rows(student, path.name, nb, [e])
            continue
        v = by_id.get(e["exercise"])
        if v is None:
            rows.append(Row(student, path.name, e["exercise"], "auto", 0.0, e["max_points"], "not graded",
                            "no trusted probe for this exercise", "", label))
            continue
        flags = "; ".join(f"line {line}: {what}" for line, what in v.flags)
        rows.append(Row(student, path.name, e["exercise"], "auto", v.points, v.max_points, "graded", v.reason, flags, label))
    return rows


def grade_students(students: list[Path], course_files: dict[str, Path], out: Path, timeout: int, jobs: int | None,
                   seed: int | None, probes: dict | None, index: int = 0, count: int = 1) -> list[Row]:
    """Rows for the students of shard ``index`` of ``count``; feedback pages under ``out/feedback``."""
    from .probes import PROBES
    from .verdicts import Course

    probes = PROBES if probes is None else probes
    mine = [s for k, s in enumerate(students) if k % count == index]
    handed_in = {s.name: {p.name: p for p in s.glob("*.ipynb")} for s in students}
    assigned = sorted(n for n in course_files if any(n in f for f in handed_in.values()))
    seed = _seed(seed)
    jobs = max(1, jobs or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="course_grade_") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)
        courses = {n: Course(course_files[n], probes.get(n, []), seed, tmp / Path(n).stem) for n in assigned}
        exercises = {n: instructor_exercises(course_files[n]) for n in assigned}
        tasks, rows_by_task = [], {}
        for s in mine:
            files = handed_in[s.name]
            for n in sorted(set(files) - set(course_files)):
                rows_by_task[(s.name, n)] = [Row(s.name, n, "", "", None, None, "not graded",
                                                 "no course notebook has this name (rename it like the course's, e.g. 02_vae.ipynb)")]
            for n in assigned:
                if n not in files:
                    rows_by_task[(s.name, n)] = _zero_rows(s.name, n, exercises[n], "missing", "not handed in")
                else:
                    tasks.append((s.name, n, files[n]))

        def work(task):
            student, n, path = task
            place = Path(tempfile.mkdtemp(prefix="sub_", dir=tmp))
            os.chmod(place, 0o777)  # the sandbox's nobody user writes its results here
            try:
                return task, _grade_submission(courses[n], student, path, exercises[n], place, timeout)
            finally:
                shutil.rmtree(place, ignore_errors=True)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for (student, n, _), rows in pool.map(work, tasks):
                rows_by_task[(student, n)] = rows
    rows = [r for key in sorted(rows_by_task) for r in rows_by_task[key]]
    for (student, n), task_rows in rows_by_task.items():
        if n in course_files:
            write_feedback(task_rows, out / "feedback" / student / (Path(n).stem + ".html"))
    return rows


def write_feedback(rows: list[Row], path: Path) -> None:
    """A student's feedback page for one notebook: points, reasons and screening flags per exercise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = "".join(f"<tr><td>{html.escape(r.exercise)}</td><td>{'' if r.points is None else f'{r.points:g}'}"
                    f" / {'' if r.max_points is None else f'{r.max_points:g}'}</td><td>{html.escape(r.status)}</td>"
                    f"<td>{html.escape(r.reason)}</td><td>{html.escape(r.flags)}</td></tr>" for r in rows)
    title = html.escape(f"{rows[0].student}: {rows[0].notebook}") if rows else "feedback"
    path.write_text(f"<!doctype html><meta charset='utf-8'><title>{title}</title><h1>{title}</h1><table border=1>"
                    "<tr><th>exercise</th><th>points</th><th>status</th><th>why</th><th>flagged</th></tr>"
                    f"{cells}</table>\n")


def merge(parts: list[str | Path], out: str | Path, students: list[str] | None = None) -> str:
    """Join shard gradebooks (each a ``grades/`` folder) into ``out``: CSV and feedback; return the summary.

    Raises ``ArgumentError`` if a student appears in two parts; ``students`` (the class list) names who is missing.
    """
    out = Path(out)
    rows, owner = [], {}
    for part in map(Path, parts):
        if not (part / "grades.csv").is_file():
            raise FileNotFoundError(f"parts must be gradebook folders holding grades.csv; {part} has none")
        for r in read_csv(part / "grades.csv"):
            if owner.setdefault(r.student, part) != part:
                raise ArgumentError(f"student {r.student!r} is graded in both {owner[r.student]} and {part}")
            rows.append(r)
        if (part / "feedback").is_dir():
            shutil.copytree(part / "feedback", out / "feedback", dirs_exist_ok=True)
    rows.sort(key=lambda r: (r.student, r.notebook))
    write_csv(rows, out / "grades.csv")
    summary = summarise(read_csv(out / "grades.csv"), out)
    missing = sorted(set(students or []) - set(owner))
    return summary + (f"\nMISSING from every part: {', '.join(missing)}" if missing else "")


__all__ = ["CSV_COLUMNS", "grade_students", "merge", "parse_shard", "write_feedback"]
