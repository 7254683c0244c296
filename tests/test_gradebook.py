"""A class folder is graded into one CSV and feedback pages; no broken submission stops the others.

Uses a tiny instructor notebook (two autograded exercises, each with its hidden probe, and one written answer) so the whole class
grades in under a minute, through the same path as ``make grade NB=submissions/``. Grading a class starts
nbgrader once per submission, so these tests carry the ``grading`` marker: ``make test-grading`` (and CI) runs them.
"""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from course_utils import gradebook, homework
from course_utils.probes import Probe
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NAME = "01_tiny.ipynb"
# The trusted grader's hidden calls for the tiny notebook (the course's own are in course_utils.probes).
PROBES = {NAME: [Probe("area-test", "area", lambda rng: [("area(r)", {"r": rng.random(3)}), ("area(3.5)", {})]),
                 Probe("double-test", "double", lambda rng: [("double(x)", {"x": rng.standard_normal(4)})])]}


def _graded(cell, grade_id, solution=False, grade=False, points=0):
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": not solution, "schema_version": 3}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def instructor_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_code_cell("import math"),
        _graded(new_code_cell("def area(r):\n    ### BEGIN SOLUTION\n    return math.pi * r * r\n    ### END SOLUTION"),
                "area", solution=True),
        _graded(new_code_cell("assert abs(area(2) - 4 * math.pi) < 1e-9"), "area-test", grade=True, points=2),
        _graded(new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
                "double", solution=True),
        _graded(new_code_cell("assert double(21) == 42"), "double-test", grade=True, points=1),
        _graded(new_markdown_cell("Why does the area grow with the square of r?"), "why-question"),
        _graded(new_markdown_cell("Doubling r doubles both sides of every small square."), "why-answer",
                solution=True, grade=True, points=3),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def submission(area="math.pi * r * r", double_name="double", drop_test=None, answer="Because of scaling."):
    nb = instructor_notebook()
    nb.cells[1].source = f"def area(r):\n    return {area}"
    nb.cells[3].source = f"def {double_name}(x):\n    return 2 * x"
    nb.cells[6].source = answer
    if drop_test:
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != drop_test]
    return nb


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    instructor = root / "instructor"
    instructor.mkdir()
    nbformat.write(instructor_notebook(), instructor / NAME)
    subs = root / "submissions"
    for student, nb in {
        "alice": submission(),                                    # everything right
        "carol": submission(area="next(x for x in iter(int, 1) if x)"),  # a call that never ends
        "dave": submission(double_name="twice", drop_test="area-test"),  # renamed function, deleted test cell
    }.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / NAME)
    (subs / "bob").mkdir()
    (subs / "bob" / NAME).write_text('{"cells": [')  # invalid JSON
    (subs / "frank").mkdir()
    nbformat.write(submission(), subs / "frank" / "99_other.ipynb")  # wrong name, and 01_tiny not handed in
    # 20 s: room for nbgrader to start on a busy machine; carol's endless cell uses all of it.
    summary = gradebook.grade_class(subs, timeout=20, instructor_dir=instructor, probes=PROBES, jobs=2)
    with open(subs / "grades" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return subs, summary, rows


def rows_of(rows, student):
    return {r["exercise"]: r for r in rows if r["student"] == student}


@pytest.mark.grading
def test_a_correct_submission_earns_every_autograded_point_and_leaves_the_answer_open(graded_class):
    subs, summary, rows = graded_class
    alice = rows_of(rows, "alice")
    assert (alice["area-test"]["points"], alice["double-test"]["points"]) == ("2", "1")
    assert alice["why-answer"]["status"] == "to grade by hand" and alice["why-answer"]["points"] == ""
    assert alice["why-answer"]["max_points"] == "3"
    assert "alice: 3 / 3 autograded points; 1 written answer(s) to grade" in summary
    page = (subs / "grades" / "feedback" / "alice" / "01_tiny.html").read_text()
    assert "area-test" in page and "to grade by hand" in page, "the feedback page for the student"


@pytest.mark.grading
def test_broken_submissions_score_zero_with_a_reason_and_do_not_stop_the_class(graded_class):
    _, summary, rows = graded_class
    assert {r["student"] for r in rows} == {"alice", "bob", "carol", "dave", "frank"}
    bob = rows_of(rows, "bob")
    assert bob["area-test"]["points"] == "0" and "not a readable notebook" in bob["area-test"]["reason"]
    carol = rows_of(rows, "carol")
    assert carol["area-test"]["points"] == "0" and "after the 20 s allowed" in carol["area-test"]["reason"]
    assert carol["double-test"]["points"] == "1", "a timeout zeroes only the exercise it stopped"
    frank = [r for r in rows if r["student"] == "frank"]
    assert any(r["notebook"] == "99_other.ipynb" and "no course notebook" in r["reason"] for r in frank)
    assert any(r["notebook"] == NAME and r["status"] == "missing" and r["points"] == "0" for r in frank)
    assert "frank: 0 / 3" in summary


@pytest.mark.grading
def test_a_deleted_test_cell_is_put_back_and_a_renamed_function_fails_only_its_exercise(graded_class):
    _, _, rows = graded_class
    dave = rows_of(rows, "dave")
    assert dave["area-test"]["points"] == "2", "the deleted test cell was restored and run"
    assert dave["double-test"]["points"] == "0" and "NameError" in dave["double-test"]["reason"]


@pytest.mark.grading
def test_the_command_line_grades_a_class_folder(graded_class, tmp_path, capsys):
    subs, _, _ = graded_class
    only_bob = tmp_path / "class"
    (only_bob / "bob").mkdir(parents=True)
    (only_bob / "bob" / NAME).write_text("not json")
    assert homework.main(["grade", str(only_bob), "--instructor", str(subs.parent / "instructor"), "--timeout", "30"]) == 0
    assert "bob: 0 / 3 autograded points" in capsys.readouterr().out
    assert (only_bob / "grades" / "grades.csv").is_file()


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory of <student>"):
        gradebook.grade_class(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no student folders"):
        gradebook.grade_class(tmp_path)
    with pytest.raises(ValueError, match=r"timeout must be .*\[10, 86400\]"):
        gradebook.grade_class(tmp_path, timeout=1)


@pytest.mark.grading
def test_single_notebook_json_output(graded_class, tmp_path):
    subs, _, _ = graded_class
    out = tmp_path / "scores.json"
    homework.main(["grade", str(subs / "alice" / NAME), "--instructor", str(subs.parent / "instructor"), "--json", str(out)])
    scores = {r["exercise"]: r for r in json.loads(out.read_text())}
    assert scores["area-test"]["points"] == 2 and scores["why-answer"]["kind"] == "manual"


@pytest.mark.grading
def test_sharded_runs_merge_to_the_same_csv_as_one_run(graded_class, tmp_path):
    from course_utils import classrun

    subs, _, _ = graded_class
    instructor = subs.parent / "instructor"
    one = tmp_path / "one"
    gradebook.grade_class(subs, out=one, timeout=20, instructor_dir=instructor, probes=PROBES, seed=3)
    parts = [tmp_path / f"part{i}" for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        gradebook.grade_class(subs, out=part, timeout=20, instructor_dir=instructor, probes=PROBES, seed=3, shard=f"{i}/2")
    shard_students = [{r["student"] for r in csv.DictReader(open(p / "grades.csv"))} for p in parts]
    assert shard_students[0] and shard_students[1] and not shard_students[0] & shard_students[1]
    summary = classrun.merge(parts, tmp_path / "merged", students=["alice", "bob", "carol", "dave", "frank", "zoe"])
    assert (tmp_path / "merged" / "grades.csv").read_text() == (one / "grades.csv").read_text()
    assert "MISSING from every part: zoe" in summary
    assert (tmp_path / "merged" / "feedback" / "alice" / "01_tiny.html").is_file()
    with pytest.raises(ValueError, match="graded in both"):
        classrun.merge([parts[0], one], tmp_path / "overlap")
