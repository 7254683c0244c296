"""Trusted verdicts: a submission's functions are probed in the sandbox; the grade is decided out here.

``Course.load(instructor_notebook, probes, seed)`` reads the instructor notebook once per class: where each
exercise's solution cell and test cell are, which references its test switches off, and the reference
outputs (the instructor's solution run on the probes' hidden inputs). ``Course.grade(notebook_json, work)``
then grades one submission: it extracts the student's definitions (nothing at top level runs), refuses a
solution that names a switched-off reference, runs the rest in the sandbox, loads the plain data that comes
back (``.npy`` without pickle, JSON) and compares it with the reference. Returns ``[Verdict, ...]``.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import probe_runner, sandbox
from .probes import BASE_PREAMBLE, Probe
from .screening import extract_definitions, forbidden_names, scan, uses_reference


@dataclass
class Verdict:
    """One autograded exercise: points earned of ``max_points``, why not all, and what screening found."""

    exercise: str
    points: float
    max_points: float
    reason: str = ""
    flags: list = field(default_factory=list)


def exercise_cells(nb: dict) -> dict[str, tuple[str, str, float]]:
    """``{test grade_id: (solution grade_id, test source, points)}``: each solution cell with the graded cell after it."""
    found, pending = {}, None
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code":
            continue
        if meta.get("solution"):
            pending = meta.get("grade_id")
        elif meta.get("grade") and pending:
            found[meta["grade_id"]] = (pending, _source(cell), float(meta.get("points", 0)))
            pending = None
    return found


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def solution_sources(nb: dict) -> dict[str, str]:
    """``{grade_id: source}`` of a notebook's code solution cells."""
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            out[meta["grade_id"]] = _source(cell)
    return out


class Course:
    """One instructor notebook, ready to grade submissions against: exercises, forbidden names, references."""

    def __init__(self, instructor: Path, probes: list[Probe], seed: int, work: Path, timeout: float = 120):
        self.instructor = Path(instructor)
        nb = json.loads(self.instructor.read_text())
        self.cells = exercise_cells(nb)
        self.probes = [p for p in probes if p.exercise in self.cells]
        self.instructor_sources = {_source(c) for c in nb["cells"] if c.get("cell_type") == "code"}
        self.forbidden = {p.exercise: forbidden_names(self.cells[p.exercise][1]) for p in self.probes}
        self.inputs = {p.exercise: p.calls(np.random.default_rng([seed, i])) for i, p in enumerate(self.probes)}
        self.job = Path(work) / "job"
        self._write_inputs()
        self.reference = self._run(solution_sources(nb), Path(work) / "reference", timeout, trusted=True)[0]

    def _write_inputs(self) -> None:
        self.job.mkdir(parents=True, exist_ok=True)
        shutil.copy(probe_runner.__file__, self.job / "probe_runner.py")
        self.calls = {}
        for p in self.probes:
            calls = []
            for k, (expr, inputs) in enumerate(self.inputs[p.exercise]):
                files = {}
                for name, array in inputs.items():
                    files[name] = f"{p.exercise}_{k}_{name}.npy"
                    np.save(self.job / files[name], np.ascontiguousarray(array), allow_pickle=False)
                calls.append({"expr": expr, "inputs": files})
            self.calls[p.exercise] = calls

    def _run(self, sources: dict[str, str], out: Path, timeout: float, trusted: bool = False, only=None):
        """Run the probes on ``sources`` (``{solution grade_id: source}``); ``({exercise: outputs}, Result)``."""
        job, skipped = {"preamble": BASE_PREAMBLE, "exercises": []}, {}
        for p in self.probes:
            if only is not None and p.exercise not in only:
                continue
            source = sources.get(self.cells[p.exercise][0])
            if source is None:
                skipped[p.exercise] = "the solution cell is missing from the notebook"
                continue
            try:
                code = extract_definitions(source)
            except SyntaxError as err:
                skipped[p.exercise] = f"the solution cell does not parse (SyntaxError, line {err.lineno})"
                continue
            hits = [] if trusted else uses_reference(code, self.forbidden[p.exercise])
            if hits:
                skipped[p.exercise] = f"the solution uses {hits[0][1]} (line {hits[0][0]}): write this one yourself"
                continue
            job["exercises"].append({"exercise": p.exercise, "support": p.extra_imports + p.support, "solution": code,
                                     "forbidden": self.forbidden[p.exercise], "calls": self.calls[p.exercise]})
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(0o777)  # the sandbox's user (nobody) writes its results here
        (out / "job.json").write_text(json.dumps(job))  # read once, before any student code runs
        argv = [str(Path(sys.executable)), "-I", "/job/probe_runner.py", "/job", "/out"]
        result = sandbox.run(argv, self.job, out, timeout, sandbox=None if not trusted else False)
        (out / "job.json").unlink(missing_ok=True)  # the instructor's solutions do not stay on disk
        outputs = {}
        for p in self.probes:
            if p.exercise in skipped:
                outputs[p.exercise] = skipped[p.exercise]
            elif (out / f"{p.exercise}.json").is_file():
                outputs[p.exercise] = _load(out, p.exercise)
        if trusted:
            missing = [p.exercise for p in self.probes if not isinstance(outputs.get(p.exercise), list)
                       or len(outputs[p.exercise]) < len(self.calls[p.exercise])
                       or any(isinstance(v, dict) for v in outputs[p.exercise])]
            if missing:
                raise RuntimeError(f"the instructor's solution did not run on the probes {missing}: "
                                   f"{[outputs.get(e) for e in missing]} {result.stderr[-800:]}")
        return outputs, result

    def grade(self, nb: dict, work: Path, timeout: float) -> tuple[list[Verdict], bool, str]:
        """Grade one submission (parsed notebook JSON); ``(verdicts, sandboxed, note on how the run ended)``."""
        sources = solution_sources(nb)
        outputs, notes, sandboxed, todo = {}, {}, True, [p.exercise for p in self.probes]
        for attempt in range(len(self.probes)):  # after a crash, the exercises it prevented run again without it
            got, result = self._run(sources, Path(work) / f"run{attempt}", timeout, only=todo)
            sandboxed &= result.sandboxed
            outputs.update({e: v for e, v in got.items() if e in todo})
            unfinished = [e for e in todo if not _finished(outputs.get(e), len(self.calls[e]))]
            if not unfinished:
                break
            culprit = unfinished[0]
            if result.timed_out:
                notes[culprit] = f"stopped after the {timeout:g} s allowed (a call that never ends?)"
            elif result.returncode not in (0, None):
                notes[culprit] = f"the process running your code died (exit code {result.returncode}) in this exercise"
            else:
                notes[culprit] = "the process running your code stopped early in this exercise"
            todo = unfinished[1:]
            if not todo:
                break
        note = "did not finish"
        verdicts = []
        for p in self.probes:
            solution_id, _, points = self.cells[p.exercise]
            flags = scan(sources.get(solution_id, ""))
            got = outputs.get(p.exercise)
            if isinstance(got, str):
                reason = got
            elif not _finished(got, len(self.calls[p.exercise])):
                reason = f"not graded: {notes.get(p.exercise, note)}"
            else:
                reason = _compare(p, got, self.reference[p.exercise], self.inputs[p.exercise]) or ""
            verdicts.append(Verdict(p.exercise, points if not reason else 0.0, points, reason, flags))
        for cell in nb.get("cells", []):  # code the student added elsewhere: screened, not run
            if cell.get("cell_type") == "code" and not cell.get("metadata", {}).get("nbgrader", {}).get("solution") \
                    and _source(cell) not in self.instructor_sources and verdicts:
                verdicts[0].flags += [(line, f"{what} (in a cell of your own)") for line, what in scan(_source(cell))]
        return verdicts, sandboxed, note


def _finished(got, calls: int) -> bool:
    """A reason (str) or one output per call: the exercise ran to its end."""
    return isinstance(got, str) or (isinstance(got, list) and len(got) >= calls)


def _load(out: Path, exercise: str) -> list:
    """A result file's entries as numbers, arrays (no pickle) or ``{"error": ...}``."""
    try:
        entries = json.loads((out / f"{exercise}.json").read_text())
    except (OSError, ValueError):
        return []
    loaded = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or "error" in e:
            loaded.append({"error": str(e.get("error") if isinstance(e, dict) else e)[:300]})
        elif "file" in e:
            try:
                loaded.append(np.load(out / Path(str(e["file"])).name, allow_pickle=False))
            except (OSError, ValueError):
                loaded.append({"error": "an output file could not be read"})
        else:
            value = e.get("value")
            loaded.append(float("nan") if value == "nan" else value)
    return loaded


def _compare(p: Probe, got: list, want: list, inputs: list) -> str | None:
    """None if the student's outputs pass; else the first reason (the inputs stay hidden)."""
    for k, g in enumerate(got):
        if isinstance(g, dict):
            return f"call {k + 1} of the grader's hidden checks raised {g['error']}"
    if p.check is not None:
        try:
            return p.check(got, [i for _, i in inputs])
        except Exception as err:  # malformed outputs (a list where a number belongs, ...)
            return f"the outputs have the wrong form ({type(err).__name__})"
    for k, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, np.ndarray) != isinstance(g, np.ndarray):
            kind = "a tensor" if isinstance(w, np.ndarray) else "a Python number"
            return f"call {k + 1} of the hidden checks: return {kind}"
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape:
            return f"call {k + 1} of the hidden checks: expected shape {w.shape}, got {g.shape}"
        if not np.allclose(g, w, rtol=p.rtol, atol=p.atol, equal_nan=True):
            return f"call {k + 1} of the hidden checks: the values differ from the reference"
    return None
