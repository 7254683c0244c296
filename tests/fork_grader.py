"""Run a notebook's cells once, and try many answers for each exercise in forks of the running process.

``python tests/fork_grader.py job.json result.json``. ``job.json`` holds ``{"cells": [source, ...],
"variants": {solution cell index: [[label, source], ...]}, "tests": {solution cell index: test cell index}}``.

The notebook's code cells run top to bottom in one IPython shell (the instructor's solutions included), as
nbgrader would run them. At each solution cell, before the instructor's answer runs, the process forks once
per variant: the child runs the variant in place of the solution, then the exercise's test cell, and reports
whether both ran without an exception. The parent's state is untouched, so every variant sees exactly the
state a student's answer would see, and the notebook is executed once instead of once per variant.

``result.json``: ``{"results": {solution cell index: {label: "passed" | error text}}, "failed_cell": ...}``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

VARIANT_SECONDS = 300  # a variant that never ends fails instead of hanging the test


def _run(shell, source: str) -> str | None:
    """Run one cell; None if it finished, else the exception's last line."""
    result = shell.run_cell(source, store_history=False, silent=True)
    error = result.error_before_exec or result.error_in_exec
    return None if error is None else f"{type(error).__name__}: {str(error)[:300]}"


def _try_variant(shell, source: str, test: str) -> str:
    """In a fork: the variant, then the test cell. ``"passed"`` or the first error."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own copy of every tensor, model and RNG state
        os.close(read)
        try:
            import torch

            torch.set_num_threads(1)  # an OpenMP pool does not survive fork(); one thread needs none
            signal.alarm(VARIANT_SECONDS)
            verdict = _run(shell, source)
            verdict = f"the answer itself raised {verdict}" if verdict else _run(shell, test) or "passed"
        except BaseException:  # noqa: BLE001  (the alarm, SystemExit, ...): report it, never continue the parent's work
            verdict = traceback.format_exc(limit=1)[-300:]
        os.write(write, verdict.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks).decode() or f"the process died (status {status})"


def main(job_path: str, result_path: str) -> int:
    from IPython.core.interactiveshell import InteractiveShell

    job = json.loads(Path(job_path).read_text())
    variants = {int(k): v for k, v in job["variants"].items()}
    tests = {int(k): int(v) for k, v in job["tests"].items()}
    shell = InteractiveShell.instance()
    results, failed_cell = {}, None
    for index, source in enumerate(job["cells"]):
        if index in variants:
            results[index] = {label: _try_variant(shell, src, job["cells"][tests[index]])
                              for label, src in variants[index]}
        if source is not None and (error := _run(shell, source)) is not None:
            failed_cell = {"index": index, "error": error}
            break
    Path(result_path).write_text(json.dumps({"results": results, "failed_cell": failed_cell}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
