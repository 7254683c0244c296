"""Student versions and grading, done by nbgrader in a throw-away course folder.

* ``generate(out_dir)`` runs ``nbgrader generate_assignment`` on copies of the course notebooks and writes
  the student versions (solutions replaced by nbgrader's stubs, outputs cleared) to ``out_dir``.
* ``grade(submission)`` runs ``nbgrader autograde`` on one submitted notebook against its instructor version
  (locked test cells are restored from the instructor copy, so editing a test earns nothing) and returns
  one row per graded exercise.

Command line (``make homework`` / ``make grade`` call these)::

    python -m course_utils.homework generate --out homework/
    python -m course_utils.homework grade path/to/01_autoencoder.ipynb
    python -m course_utils.homework grade submissions/          # a class: submissions/<student>/<notebook>.ipynb

Nothing is written inside the repository except ``out_dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from . import config

ASSIGNMENT = "course"
STUDENT = "student"


def course_notebooks(folder: Path | None = None) -> list[Path]:
    """The numbered lessons (``notebooks/0N_*.ipynb``) in teaching order: the homework.

    The labs beside them (``0N_*_lab.ipynb``) are deep dives a student reads and runs; they hold no graded
    exercises, so they are not handed out or graded.
    """
    folder = Path(folder) if folder is not None else config.REPO_ROOT / "notebooks"
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if not p.stem.endswith("_lab"))
    if not found:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {folder}")
    return found


def _api(root: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    cfg.Execute.timeout = 600
    cfg.Execute.allow_errors = True  # grading records failures instead of stopping at the first one
    cfg.OverwriteCells.add_missing_cells = True  # a deleted test cell is put back and run, not skipped
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


def _clean_copy(src: Path, dst: Path) -> None:
    """Copy a notebook without its outputs (the source of a student version needs none)."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)


def _release(root: Path, notebooks: list[Path]) -> Path:
    for nb in notebooks:
        _clean_copy(nb, root / "source" / ASSIGNMENT / nb.name)
    with config.environment(PATH=_venv_path()):
        result = _api(root).generate_assignment(ASSIGNMENT, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.get('error') or result.get('log')}")
    return root / "release" / ASSIGNMENT


def generate(out_dir: str | Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write student versions of ``notebooks`` (default: all course notebooks) into ``out_dir``.

    Returns the paths written, one ``.ipynb`` per notebook, same file names as the originals.
    """
    notebooks = [Path(p) for p in notebooks] if notebooks else course_notebooks()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="course_nbgrader_") as tmp:
        release = _release(Path(tmp), notebooks)
        for nb in notebooks:
            shutil.copy(release / nb.name, out_dir / nb.name)
            written.append(out_dir / nb.name)
    return written


def _venv_path() -> str:
    # nbgrader runs its `alembic` command from PATH: put this interpreter's bin/ first, so a venv that
    # was not activated (e.g. `.venv/bin/python -m ...`) still works.
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def grade(
    submission: str | Path, instructor: str | Path | None = None, fast: bool = True, return_notebook: bool = False,
    feedback: str | Path | None = None,
):
    """Autograde one submitted notebook and return ``[{"exercise", "points", "max_points", "kind"}, ...]``.

    ``kind`` is ``"auto"`` for a test cell and ``"manual"`` for a written answer, whose ``points`` stay
    ``None`` until a teacher grades it. With ``return_notebook`` the result is ``(rows, autograded_notebook)``,
    so a caller can see which cells raised. With ``feedback`` (a file path) nbgrader's HTML feedback for
    the student is written there.

    ``instructor`` defaults to the course notebook with the same file name. With ``fast`` (the default)
    the notebook runs under ``COURSE_FAST=1``, so grading takes seconds rather than a full training run.
    """
    from nbgrader.utils import determine_grade, is_grade

    submission = Path(submission)
    if not submission.is_file():
        raise FileNotFoundError(f"submission not found: {submission}")
    instructor = Path(instructor) if instructor else config.REPO_ROOT / "notebooks" / submission.name
    if not instructor.is_file():
        raise FileNotFoundError(
            f"no instructor notebook {instructor.name} in notebooks/: name the submission like the course notebook"
        )
    with tempfile.TemporaryDirectory(prefix="course_nbgrader_") as tmp:
        root = Path(tmp)
        _release(root, [instructor])
        target = root / "submitted" / STUDENT / ASSIGNMENT / instructor.name
        target.parent.mkdir(parents=True)
        shutil.copy(submission, target)
        with config.environment(COURSE_FAST="1" if fast else "0", PATH=_venv_path()):
            result = _api(root).autograde(ASSIGNMENT, STUDENT, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader autograde failed:\n{result.get('error') or result.get('log')}")
        graded = nbformat.read(root / "autograded" / STUDENT / ASSIGNMENT / instructor.name, as_version=4)
        if feedback is not None:
            with config.environment(PATH=_venv_path()):
                done = _api(root).generate_feedback(ASSIGNMENT, STUDENT)
            html = root / "feedback" / STUDENT / ASSIGNMENT / (instructor.stem + ".html")
            if not done["success"] or not html.is_file():
                raise RuntimeError(f"nbgrader generate_feedback failed:\n{done.get('error') or done.get('log')}")
            Path(feedback).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(html, feedback)
    rows = []
    for cell in graded.cells:
        if is_grade(cell):
            earned, max_points = determine_grade(cell)
            # A written answer (a Markdown cell) waits for the teacher (points None), unless it was left as
            # handed out, which nbgrader scores 0 by itself.
            manual = cell.cell_type == "markdown" or earned is None
            rows.append({"exercise": cell.metadata["nbgrader"]["grade_id"],
                         "points": None if earned is None else float(earned), "max_points": float(max_points),
                         "kind": "manual" if manual else "auto"})
    return (rows, graded) if return_notebook else rows


def format_scores(rows: list[dict]) -> str:
    """A plain-text score table with a total line."""
    width = max([len("total (autograded)")] + [len(r["exercise"]) for r in rows])
    lines = [f"{'exercise':<{width}}  points", "-" * (width + 12)]
    lines += [f"{r['exercise']:<{width}}  " + ("to grade by hand" if r["points"] is None else f"{r['points']:g}")
              + f" / {r['max_points']:g}" for r in rows]
    auto = [r for r in rows if r["kind"] == "auto"]
    total, most = sum(r["points"] for r in auto), sum(r["max_points"] for r in auto)
    lines += ["-" * (width + 12), f"{'total (autograded)':<{width}}  {total:g} / {most:g}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.homework", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write student versions of the notebooks")
    gen.add_argument("--out", default=str(config.REPO_ROOT / "homework"), help="output folder")
    gen.add_argument("notebooks", nargs="*", help="notebooks (default: all course notebooks)")
    grd = sub.add_parser("grade", help="autograde one submitted notebook, or a class folder <student>/<notebook>.ipynb")
    grd.add_argument("submission", help="a notebook, or a folder with one sub-folder per student")
    grd.add_argument("--full", action="store_true", help="run in full mode instead of COURSE_FAST=1")
    grd.add_argument("--out", help="class folder only: where the CSV and feedback go (default: <folder>/grades)")
    grd.add_argument("--timeout", type=int, default=600, help="class folder only: seconds allowed per notebook")
    grd.add_argument("--instructor", help="folder of instructor notebooks (default: the course's notebooks/)")
    grd.add_argument("--jobs", type=int, help="class folder only: submissions graded at once (default: the cores)")
    grd.add_argument("--shard", default="1/1", help="class folder only: grade share i of n (a job array's task)")
    grd.add_argument("--seed", type=int, help="class folder only: seed of the hidden inputs (shards must share it)")
    mrg = sub.add_parser("merge", help="join the gradebooks of several shards into one")
    mrg.add_argument("parts", nargs="+", help="the shards' grades/ folders")
    mrg.add_argument("--out", required=True, help="where the merged grades.csv and feedback go")
    mrg.add_argument("--class-folder", help="the class folder, to report students missing from every part")
    grd.add_argument("--json", help="one notebook only: also write the score rows to this JSON file")
    grd.add_argument("--feedback", help="one notebook only: write nbgrader's HTML feedback to this file")
    args = parser.parse_args(argv)
    if args.command == "generate":
        for path in generate(args.out, [Path(p) for p in args.notebooks] or None):
            print("wrote", path)
        return 0
    if args.command == "merge":
        from .classrun import merge

        folder = Path(args.class_folder) if args.class_folder else None
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != "grades") if folder else None
        print(merge(args.parts, args.out, names))
        return 0
    if Path(args.submission).is_dir():
        import signal

        from .gradebook import grade_class

        # A scheduler's SIGTERM (a cancelled job) unwinds normally, so the temporary grading folder is removed.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

        summary = grade_class(args.submission, out=args.out, timeout=args.timeout, fast=not args.full,
                              instructor_dir=args.instructor, jobs=args.jobs, shard=args.shard, seed=args.seed)
        print(summary)
        return 0
    instructor = Path(args.instructor) / Path(args.submission).name if args.instructor else None
    rows = grade(args.submission, instructor=instructor, fast=not args.full, feedback=args.feedback)
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    print(format_scores(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
