"""Run an untrusted command in a bubblewrap sandbox: a private view, no network, no way back to the grader.

``run(argv, job, out, timeout)`` starts ``argv`` inside ``bwrap`` with

* only the system (``/usr``, ``/etc``), the Python installation and its environment mounted, read-only;
  ``job`` (the grader's inputs) read-only at ``/job`` and ``out`` (where results go) writable at ``/out``;
  nothing else of the machine: no course checkout, no instructor notebook, no class folder, no home;
* a private ``/tmp`` (a size-capped tmpfs), no network, its own PID, IPC and UTS namespaces (no ``/proc``
  view of the grader), uid/gid 65534 (nobody);
* resource limits set before ``exec``: address space (``memory_mb``), file size (``file_mb``), CPU seconds,
  number of processes (effective for unprivileged graders), and a cap on how much of stdout/stderr is kept;
* ``--die-with-parent`` and a fresh PID namespace: killing the sandbox (on a timeout) kills every process the
  student's code started, detached or not.

Where bubblewrap cannot run (a teacher's Mac), ``run`` still runs the command, unsandboxed, and says so in
``Result.sandboxed``: the gradebook marks every such row "not sandboxed".
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .checks import ArgumentError

KEEP_OUTPUT = 64_000  # characters of stdout/stderr kept


@dataclass
class Result:
    """What a sandboxed command did: exit code (``None`` if killed on the timeout), output, and how it ran."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    sandboxed: bool
    timed_out: bool


def _python_roots() -> list[str]:
    """Folders the interpreter needs: the venv (``sys.prefix``) and the base installation, resolved."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent.parent}
    return sorted(str(r) for r in roots if not str(r).startswith("/usr"))


def bwrap_argv(argv: list[str], job: Path, out: Path, tmp_mb: int = 256) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` with ``job`` at ``/job`` (ro) and ``out`` at ``/out`` (rw)."""
    cmd = ["bwrap", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), f"/{link}"]
    cmd += ["--dev", "/dev", "--proc", "/proc", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    for root in _python_roots():  # after the private /tmp: a checkout (and its venv) may itself live under /tmp
        cmd += ["--ro-bind", root, root]
    cmd += ["--ro-bind", str(job), "/job", "--bind", str(out), "/out", "--chdir", "/tmp",
            "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "PYTHONNOUSERSITE", "1",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "OMP_NUM_THREADS", "1",
            "--setenv", "MPLBACKEND", "Agg"]
    if os.geteuid() == 0:
        cmd += ["--uid", "65534", "--gid", "65534"]
    return cmd + ["--"] + argv


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True if bubblewrap is installed and can start a sandbox here (user namespaces allowed)."""
    if shutil.which("bwrap") is None:
        return False
    probe = Path("/tmp")
    try:
        done = subprocess.run(bwrap_argv(["/usr/bin/true"], probe, probe), capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _limits(memory_mb: int, file_mb: int, cpu_s: int, processes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run(argv: list[str], job: str | Path, out: str | Path, timeout: float, memory_mb: int = 4096,
        file_mb: int = 64, processes: int = 256, sandbox: bool | None = None) -> Result:
    """Run ``argv`` in the sandbox (or plainly where bubblewrap is unavailable) and wait at most ``timeout`` s.

    Args:
        argv: the command; paths in it should be the sandbox's (``/job/...``, ``/out/...``).
        job: folder mounted read-only at ``/job``.
        out: folder mounted writable at ``/out`` (must exist).
        timeout: seconds, > 0; on expiry the sandbox and all its processes are killed (``timed_out``).
        memory_mb: address-space limit in MiB, >= 256.
        file_mb: largest file the command may write, MiB.
        processes: RLIMIT_NPROC (not enforced on processes of root).
        sandbox: force (True) or skip (False) bubblewrap; default: use it where available.
    """
    job, out = Path(job), Path(out)
    if not job.is_dir() or not out.is_dir():
        raise ArgumentError(f"job and out must be existing folders, got {job} and {out}")
    if not timeout > 0:
        raise ArgumentError(f"timeout must be > 0 seconds, got {timeout}")
    if memory_mb < 256:
        raise ArgumentError(f"memory_mb must be >= 256, got {memory_mb}")
    use = available() if sandbox is None else sandbox
    if use:
        command = bwrap_argv(argv, job, out)
        env = {"PATH": "/usr/bin:/bin"}
    else:  # no isolation: map /job and /out onto the real folders
        command = [_unsandboxed_path(a, job, out) for a in argv]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(out), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
               "COURSE_SANDBOX_JOB": str(job), "COURSE_SANDBOX_OUT": str(out)}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(out),
                               start_new_session=True, preexec_fn=_limits(memory_mb, file_mb, int(timeout) + 5, processes))
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(process)
        stdout, stderr = process.communicate()
    return Result(None if timed_out else process.returncode, stdout.decode(errors="replace")[-KEEP_OUTPUT:],
                  stderr.decode(errors="replace")[-KEEP_OUTPUT:], time.perf_counter() - start, use, timed_out)


def _unsandboxed_path(arg: str, job: Path, out: Path) -> str:
    """``/job/x`` -> ``<job>/x`` and ``/out`` -> ``<out>``: the sandbox's paths on the real file system."""
    for mount, real in (("/job", job), ("/out", out)):
        if arg == mount or arg.startswith(mount + "/"):
            return str(real) + arg[len(mount):]
    return arg


def _kill(process: subprocess.Popen) -> None:
    """Kill the command's process group; in the sandbox that ends its PID namespace, so every process in it."""
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass
