"""The sandbox, the screening scan and the shard arithmetic: fast checks (no torch in the sandbox)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from course_utils import classrun, config, sandbox, screening
from course_utils.checks import ArgumentError

needs_bwrap = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap cannot run here")


def _run(tmp_path, code, timeout=20):
    job, out = tmp_path / "job", tmp_path / "out"
    job.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    out.chmod(0o777)
    (job / "x.py").write_text(code)
    return sandbox.run([sys.executable, "-I", "/job/x.py"], job, out, timeout, memory_mb=1024), out


@needs_bwrap
def test_the_sandbox_sees_no_course_no_grader_and_no_network(tmp_path):
    secret = tmp_path / "instructor.ipynb"
    secret.write_text("solution")
    code = f"""import os, socket
print("course", os.path.exists({str(secret)!r}), os.path.exists({str(config.REPO_ROOT / "notebooks")!r}), os.path.exists({str(Path.home() / ".ssh")!r}))
print("uid", os.getuid())
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2); print("net yes")
except OSError:
    print("net no")
try:
    open("/job/x.py", "a").write("#"); print("job writable")
except OSError:
    print("job read-only")
"""
    result, _ = _run(tmp_path, code)
    assert result.sandboxed and result.returncode == 0, result.stderr
    assert "course False False False" in result.stdout
    assert "uid 65534" in result.stdout or "uid 0" not in result.stdout
    pids = eval(result.stdout.split("pids ")[1].splitlines()[0])
    assert max(pids) < 10, f"a private PID namespace, not the grader's processes: {pids}"
    assert "net no" in result.stdout and "job read-only" in result.stdout


@needs_bwrap
def test_a_timeout_kills_every_process_the_code_started(tmp_path):
    marker = "/out/late.txt"
    code = f"""import subprocess, time
subprocess.Popen(["/bin/sh", "-c", "sleep 1.5; echo late > {marker}"], start_new_session=True)
time.sleep(60)
"""
    result, out = _run(tmp_path, code, timeout=1)
    assert result.timed_out and result.returncode is None
    time.sleep(2)
    assert not (out / "late.txt").exists(), "a detached child outlived the sandbox"


@needs_bwrap
def test_a_big_allocation_is_refused(tmp_path):
    result, _ = _run(tmp_path, "x = bytearray(3 << 30)\nprint('allocated')")
    assert "allocated" not in result.stdout and "MemoryError" in result.stderr


def test_the_sandbox_checks_its_arguments(tmp_path):
    with pytest.raises(ArgumentError, match="job and out"):
        sandbox.run(["true"], tmp_path / "none", tmp_path, 5)
    with pytest.raises(ArgumentError, match="timeout"):
        sandbox.run(["true"], tmp_path, tmp_path, 0)


def test_screening_flags_what_no_exercise_needs():
    flagged = screening.scan("""import builtins
torch.allclose = lambda *a, **k: True
get_ipython().ast_transformers.append(None)
class Zero(float):
    def __sub__(self, other):
        return Zero(0)
def f(x):
    return open("/proc/1/cmdline").read() + str(sys.modules) + str(globals())
""")
    found = " | ".join(what for _, what in flagged)
    for what in ("imports builtins", "top-level code", "get_ipython", "ast_transformers", "class Zero",
                 "uses open", ".modules", "uses globals", "/proc"):
        assert what in found, f"{what!r} not flagged in {found}"
    assert screening.scan("def f(x):\n    return 2 * x\n") == []


def test_only_definitions_run_and_references_are_caught_statically():
    code = screening.extract_definitions("EPS = 1e-7\n_p = psnr\nprint('hi')\ndef f(x):\n    return _p(x)\n")
    assert "EPS = 1e-07" in code and "_p = psnr" not in code and "print" not in code
    forbidden = screening.forbidden_names('with forbid(globals(), "psnr", attributes=("torch.nn.BCELoss",)):\n    pass')
    assert forbidden == ["psnr", "torch.nn.BCELoss"]
    named = 'CUTS = ("torch.nn.BCELoss", "torch.nn.functional.binary_cross_entropy")\nwith forbid({}, attributes=CUTS):\n    pass'
    assert screening.forbidden_names(named) == ["torch.nn.BCELoss", "torch.nn.functional.binary_cross_entropy"]
    assert screening.uses_reference("def f(a, b):\n    return nn.BCELoss()(a, b)", forbidden) == [(2, "BCELoss")]
    assert screening.uses_reference("def f(a, b):\n    return (a - b) ** 2", forbidden) == []


def test_shards_partition_the_class():
    assert classrun.parse_shard("2/3") == (1, 3)
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(ArgumentError, match="shard must look like"):
            classrun.parse_shard(bad)
