"""Tampering submissions against the trusted grader: nothing earned for what was not solved, flagged, and no harm.

A class is graded on notebook 06 (four autograded exercises: ``my_salt_and_pepper``, ``my_psnr``, ``my_unmix``, ``denoising_step``). The
honest students hand in the instructor's solutions; each cheat hands in one attack in place of ``my_psnr``
(the correct answer is never written). Every attack seen against the old in-kernel grader is here: replaced
comparisons, ``forbid`` bypassed, IPython hooks, a float subclass, the reference read from disk or from the
test's globals, and the class-run attacks (the grader's command line, a classmate's notebook, the instructor
copy, a detached process rewriting ``grades.csv``), plus a dead process and a cell that never ends.
Grading a class starts many sandboxes: marker ``grading`` (``make test-grading``).
"""

from __future__ import annotations

import csv
import hashlib
import time

import nbformat
import pytest
from course_utils import config, gradebook, sandbox

NAME = "06_noisy_data.ipynb"
STUB = "def my_psnr(estimate, target):\n    return torch.zeros(len(estimate))\n"


def attacks(paths: dict) -> dict[str, str]:
    """``{student: source of the my_psnr cell}``; ``paths`` holds the class's real file names."""
    return {
        "allclose-replaced": "torch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"
                             "np_allclose = None\n" + STUB,
        "abs-shadowed": "import builtins\nbuiltins.abs = lambda x: 0\n" + STUB,
        "forbid-noop": "import course_utils.exercises as E\nimport contextlib\nE.forbid = lambda *a, **k: contextlib.nullcontext()\n"
                       "forbid = E.forbid\ndef my_psnr(estimate, target):\n    return psnr(estimate, target)\n",
        "forbid-alias": "_ref = psnr\ndef my_psnr(estimate, target):\n    return _ref(estimate, target)\n",
        "module-reloaded": "def my_psnr(estimate, target):\n    import importlib, course_utils.image_metrics as m\n"
                           "    return importlib.reload(m).psnr(estimate, target)\n",
        "ast-transformer": "import ast\nclass Drop(ast.NodeTransformer):\n    def visit_Assert(self, node):\n        return None\n"
                           "get_ipython().ast_transformers.append(Drop())\n" + STUB,
        "input-transformer": "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n" + STUB,
        "custom-exc": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n" + STUB,
        "post-run": "get_ipython().events.register('post_run_cell', lambda r: None)\n" + STUB,
        "float-zero": "class Zero(float):\n    def __sub__(self, other):\n        return Zero(0)\n    def __abs__(self):\n"
                      "        return Zero(0)\ndef my_psnr(estimate, target):\n    return Zero(0)\n",
        "test-globals": "import sys\ndef my_psnr(estimate, target):\n    return sys._getframe(1).f_globals['expected']\n",
        "solution-from-disk": "def my_psnr(estimate, target):\n    import json\n"
                              f"    nb = json.load(open({str(config.REPO_ROOT / 'notebooks' / NAME)!r}))\n"
                              "    src = [''.join(c['source']) for c in nb['cells'] if 'def my_psnr' in ''.join(c['source'])][0]\n"
                              "    ns = dict(globals()); exec(src, ns)\n    return ns['my_psnr'](estimate, target)\n",
        "class-run-harm": "def my_psnr(estimate, target):\n    import os, subprocess\n"
                          "    cmd = open('/proc/%d/cmdline' % os.getppid()).read()\n"
                          f"    for victim in ({str(paths['classmate'])!r}, {str(paths['instructor'])!r}):\n"
                          "        try:\n            open(victim, 'w').write('{}')\n        except OSError:\n            pass\n"
                          "    subprocess.Popen(['/bin/sh', '-c', 'sleep 4; echo cheat > "
                          f"{paths['csv']}'], start_new_session=True)\n"
                          "    return torch.zeros(len(estimate))\n",
    }


PLACE = {"os-exit": ("06-unmix", "def my_unmix(y, p):\n    import os\n    os._exit(3)\n"),
         "never-ends": ("06-unmix", "def my_unmix(y, p):\n    while True:\n        pass\n")}


def _notebook(instructor, grade_id=None, source=None):
    nb = nbformat.read(instructor, as_version=4)
    if grade_id:
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack")
    instructor_dir = root / "instructor"
    instructor_dir.mkdir()
    instructor = instructor_dir / NAME
    nbformat.write(nbformat.read(config.REPO_ROOT / "notebooks" / NAME, as_version=4), instructor)
    subs = root / "class"
    paths = {"classmate": subs / "zz-honest" / NAME, "instructor": instructor, "csv": subs / "grades" / "grades.csv"}
    students = {s: ("06-psnr", src) for s, src in attacks(paths).items()} | PLACE
    for student, (grade_id, source) in students.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(_notebook(instructor, grade_id, source), subs / student / NAME)
    for honest in ("aa-honest", "zz-honest"):
        (subs / honest).mkdir(parents=True)
        nbformat.write(_notebook(instructor), subs / honest / NAME)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (instructor, paths["classmate"])}
    summary = gradebook.grade_class(subs, timeout=25, instructor_dir=instructor_dir, jobs=2, seed=5)
    written = paths["csv"].read_text()
    time.sleep(6)  # a detached process of the class-run attack would have rewritten the CSV by now
    with open(paths["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    return {"rows": rows, "summary": summary, "written": written, "paths": paths, "before": before, "cheats": set(attacks(paths))}


def _row(rows, student, exercise):
    return next(r for r in rows if r["student"] == student and r["exercise"] == f"{exercise}-tests")


@pytest.mark.grading
def test_every_attack_earns_nothing_for_the_unsolved_exercise_and_is_flagged(graded):
    rows, problems = graded["rows"], []
    for student in sorted(graded["cheats"]):
        r = _row(rows, student, "06-psnr")
        if r["points"] != "0":
            problems.append(f"{student}: earned {r['points']} ({r['reason']})")
        if not r["flags"] and "write this one yourself" not in r["reason"]:
            problems.append(f"{student}: not flagged ({r['reason']})")
        for other in ("06-salt-and-pepper", "06-unmix", "06-denoising-step"):
            if _row(rows, student, other)["points"] != _row(rows, student, other)["max_points"]:
                problems.append(f"{student}: lost the points of {other}, which it solved")
    assert not problems, "\n".join(problems)


@pytest.mark.grading
def test_honest_students_keep_full_marks_and_nothing_outside_changed(graded):
    rows = graded["rows"]
    for honest in ("aa-honest", "zz-honest"):
        mine = [r for r in rows if r["student"] == honest and r["kind"] == "auto"]
        assert mine and all(r["points"] == r["max_points"] for r in mine), mine
    for path, digest in graded["before"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was changed by a submission"
    assert graded["paths"]["csv"].read_text() == graded["written"], "grades.csv changed after the class run"
    label = "sandboxed" if sandbox.available() else "not sandboxed"
    assert {r["sandbox"] for r in rows if r["kind"] == "auto"} == {label}


@pytest.mark.grading
def test_a_dead_process_and_an_endless_call_zero_only_what_they_prevented(graded):
    rows = graded["rows"]
    dead, endless = _row(rows, "os-exit", "06-unmix"), _row(rows, "never-ends", "06-unmix")
    assert dead["points"] == "0" and "died" in dead["reason"], dead
    assert endless["points"] == "0" and "25 s" in endless["reason"], endless
    for student in ("os-exit", "never-ends"):
        for solved in ("06-salt-and-pepper", "06-psnr", "06-denoising-step"):
            r = _row(rows, student, solved)
            assert r["points"] == r["max_points"], f"{student} lost {solved}: {r['reason']}"


@pytest.mark.grading
def test_the_summary_is_built_from_the_final_csv(graded):
    auto = [r for r in graded["rows"] if r["student"] == "zz-honest" and r["kind"] == "auto"]
    total = sum(float(r["max_points"]) for r in auto)
    assert len(auto) == 4 and total == 8, "06 has four autograded exercises worth 2 + 2 + 1 + 3 points"
    lines = [line for line in graded["summary"].splitlines()[1:] if line.startswith("zz-honest:")]
    assert lines and all(line.startswith(f"zz-honest: {total:g} / {total:g}") for line in lines), lines
