"""JupyterLab in a real (headless) Chromium: every explorer in the course's own notebooks renders and reacts.

Sliders that show up as plain text (``VBox(children=...)``, ``Loading widget...``) are a known failure
when the Python side (ipywidgets 8) and the browser side (jupyterlab_widgets 3) do not match, and an
explorer can break in the browser while its Python side passes every unit test. Only a browser sees it,
so this test starts JupyterLab from the current environment on a free localhost port with a token (one
server and one browser for the whole module) and, for each notebook that builds an explorer:

* serves a copy cut after the notebook's last explorer cell (the cells after it cannot affect the widgets),
  runs it in fast mode, and checks that no cell raised;
* finds every explorer (the ``course-explorer`` CSS class), as many as the copy has explorer cells, and
  checks that its sliders are real slider widgets (noUiSlider handles with ``role="slider"``), not text;
* moves every slider with the keyboard and checks that the explorer's pictures change; drags one slider
  with the mouse and checks again.

Everything the server and the browser write stays in one temporary folder; the server is shut down even
when a test fails, and a failing case saves a screenshot and the server log and prints their paths. The
kernels run in fast mode (a few seconds of training per notebook).

Select it with ``make test-browser`` (``pytest -m browser``); `make test` skips it to stay within its budget. Without Chromium or Python ``playwright`` it is skipped with the
reason, except when ``CI=true``: then it fails, because CI must run it.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# A cell that builds an explorer calls one of course_utils' explorer builders.
EXPLORER_CALL = re.compile(r"\b(?:latent|traversal|code_space|latent_walk|denoising|threshold)_explorer\(")


def explorer_cells(path: Path) -> list[int]:
    """Indices of the notebook's code cells that build an explorer."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [i for i, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "code" and EXPLORER_CALL.search("".join(cell["source"]))]


def cut_after_last_explorer(path: Path, target: Path) -> int:
    """Write ``path`` without its cells after the last explorer cell, outputs cleared; return the explorer count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = explorer_cells(path)
    nb["cells"] = nb["cells"][: cells[-1] + 1]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.get("metadata", {}).pop("widgets", None)  # saved widget state would show without a kernel
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    return len(cells)


EXPLORER_NOTEBOOKS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if explorer_cells(p))
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
# The machine may be offline: no component updates, sync, first-run pages or background fetches.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOTEBOOK_BUDGET_S = 90  # one notebook: open, run in fast mode (models cached by the notebook tests), check
SERVER_START_S = 40
# Text JupyterLab shows instead of a widget when the front end cannot render it.
WIDGET_FALLBACK_TEXTS = ("Loading widget", "VBox(children", "LatentExplorer(children", "HBox(children")


# ----------------------------------------------------------------------------- availability


def _unavailable(reason: str) -> None:
    """Skip on a user's machine, but fail in CI (``CI=true``), where the browser must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true, so this is a failure: install it (.ci/run does with apt-get)")
    pytest.skip(reason)


def _find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _require_browser_tools() -> str:
    """Path of a Chromium executable, after checking that playwright and JupyterLab import."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Python playwright is not installed (pip install -e '.[test]')")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _unavailable("JupyterLab is not installed in this environment")
    chromium = _find_chromium()
    if chromium is None:
        _unavailable(f"no Chromium executable found (looked for {', '.join(CHROMIUM_CANDIDATES)})")
    return chromium


# ----------------------------------------------------------------------------- the JupyterLab server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Requests to our own localhost server must never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the folder JupyterLab serves
    log: Path  # the server's stdout and stderr
    process: subprocess.Popen
    chromium: str  # the browser executable to drive
    tmp: Path  # the temporary folder holding everything above

    def api(self, method: str, path: str, timeout: float = 5.0):
        """Call the server's REST API with the token; returns the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"},
            data=b"" if method in ("POST", "PUT") else None,
        )
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError as err:
            return f"(no server log: {err})"


def _wait_until_ready(server: LabServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer within {timeout_s:.0f} s:\n{server.log_tail()}")


def _shutdown(server: LabServer) -> None:
    """Stop the kernels, then the server; escalate to terminate/kill if it does not stop by itself."""
    if server.process.poll() is None:
        try:
            for kernel in server.api("GET", "/api/kernels") or []:
                server.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)
            server.api("POST", "/api/shutdown")
        except (urllib.error.URLError, ConnectionError, OSError):
            pass  # the server is already gone or not answering: the signals below still stop it
    for stop in (None, server.process.terminate, server.process.kill):
        if stop is not None:
            stop()
        try:
            server.process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def lab_server():
    """JupyterLab serving cut copies of the course's explorer notebooks, with COURSE_FAST=1 for its kernels."""
    chromium = _require_browser_tools()
    tmp = Path(tempfile.mkdtemp(prefix="course_browser_"))
    root = tmp / "notebooks"
    root.mkdir()
    for name in EXPLORER_NOTEBOOKS:
        cut_after_last_explorer(NOTEBOOKS / name, root / name)
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "ipython", "settings", "workspaces", "npm")}
    for path in dirs.values():
        path.mkdir(mode=0o700)
    # No "get notified about Jupyter news?" toast over the page (and no fetch attempt on an offline machine).
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ)
    env.update(
        COURSE_FAST="1",  # the kernels inherit the server's environment
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),  # with the three above: nothing read from or written to ~
        npm_config_cache=str(dirs["npm"]),  # JupyterLab asks npm for its prefix; npm logs into its cache
    )
    port, token = _free_port(), secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={dirs['settings']}", f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run cells through Lab's own commands
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root; the server listens on localhost only
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, process, chromium, tmp)
    try:
        _wait_until_ready(server, SERVER_START_S)
        yield server
    finally:
        _shutdown(server)
        leftover = list(dirs["runtime"].glob("kernel-*.json"))
        shutil.rmtree(tmp, ignore_errors=True)
        assert server.process.returncode is not None, "the JupyterLab server is still running"
        assert not leftover, f"kernels were not shut down: {leftover}"


# ----------------------------------------------------------------------------- the browser


class Deadline:
    """Milliseconds left of the whole test's budget, for playwright's timeouts."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def ms(self, at_most: float = float("inf")) -> float:
        left = (self.end - time.monotonic()) * 1000
        if left <= 0:
            pytest.fail("this notebook's browser check ran out of its time budget")
        return min(left, at_most * 1000)


@contextmanager
def evidence_on_failure(page, server: LabServer):
    """On any failure save a screenshot and the server log to a new temporary folder and print its paths."""
    try:
        yield
    except BaseException:
        folder = Path(tempfile.mkdtemp(prefix="course_browser_failure_"))
        shot = folder / "jupyterlab.png"
        try:
            # JupyterLab scrolls inside its own panel: bring the last cell (the widget) into the picture.
            cells = page.locator(".jp-Notebook .jp-Cell")
            if cells.count():
                cells.last.scroll_into_view_if_needed(timeout=2000)
            page.screenshot(path=str(shot))
        except Exception as err:  # the page may be gone; the log is still worth keeping
            shot = f"(no screenshot: {err})"
        shutil.copy(server.log, folder / "jupyterlab.log")
        print(f"\nbrowser test failed: screenshot {shot}, server log {folder / 'jupyterlab.log'}")
        raise


RUN_ALL_JS = """
async (timeoutMs) => {
  const work = async () => {
    const app = window.jupyterapp;
    await app.started;
    await app.restored;
    const panel = app.shell.currentWidget;
    if (!panel || !panel.sessionContext) return {error: 'no notebook is open: ' + (panel && panel.title.label)};
    await panel.context.ready;
    await panel.sessionContext.ready;  // the kernel has started
    await app.commands.execute('notebook:run-all-cells');  // resolves when the last cell has run
    const cells = [];
    for (const cell of panel.content.model.cells) {
      if (cell.type !== 'code') continue;
      const outputs = cell.toJSON().outputs || [];
      cells.push({
        count: cell.executionCount,
        errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      });
    }
    return {cells};
  };
  const late = new Promise(resolve => setTimeout(
    () => resolve({error: 'the kernel did not start or the cells were still running after ' + timeoutMs + ' ms'}),
    timeoutMs));
  return await Promise.race([work(), late]);
}
"""


def _run_all_cells(page, deadline: Deadline) -> None:
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget",
                           timeout=deadline.ms(40))
    result = page.evaluate(RUN_ALL_JS, deadline.ms(75) - 2000)
    assert "error" not in result, result["error"]
    errors = [e for cell in result["cells"] for e in cell["errors"]]
    assert not errors, f"the notebook raised in the browser's kernel: {errors}"
    assert all(cell["count"] for cell in result["cells"]), f"not every code cell ran: {result['cells']}"


def _pixels(locator) -> np.ndarray:
    """The element as the browser draws it: a (H, W, 3) uint8 array from a screenshot."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"))


def _wait_for_new_pixels(image, before: np.ndarray, deadline: Deadline, at_most_s: float = 15) -> np.ndarray:
    """Poll the image until its pixels differ from ``before`` (the kernel's redraw arrives asynchronously)."""
    stop = time.monotonic() + deadline.ms(at_most_s) / 1000
    while True:
        after = _pixels(image)
        if after.shape != before.shape or (after != before).any():
            return after
        if time.monotonic() > stop:
            pytest.fail(f"the decoded image did not change within {at_most_s:.0f} s of moving the slider")
        time.sleep(0.2)


def _slider_state(slider) -> tuple[str, str]:
    """(aria-valuenow of the handle, the readout text) of one ipywidgets slider."""
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout").inner_text().strip()
    return handle.get_attribute("aria-valuenow"), readout.replace("\u2212", "-")  # d3-format writes U+2212


@pytest.fixture(scope="module")
def browser(lab_server):
    """One headless Chromium (a fresh profile in the server's temporary folder) for every notebook."""
    from playwright.sync_api import sync_playwright

    # Chromium's GTK side (dconf, fontconfig caches) writes under XDG folders: keep them in the temp folder.
    browser_env = dict(os.environ)
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        folder = lab_server.tmp / variable.lower()
        folder.mkdir(mode=0o700)
        browser_env[variable] = str(folder)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab_server.tmp / "chromium-profile"), executable_path=lab_server.chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000}, env=browser_env,
        )
        try:
            yield context
        finally:
            context.close()


def _panels(explorer):
    return explorer.locator(".course-explorer-panels")


def _move_until_redrawn(page, slider, panels, before: np.ndarray, deadline: Deadline, label: str) -> np.ndarray:
    """Press an arrow key on the slider's handle (towards its far end) until the pictures change."""
    handle = slider.locator(".noUi-handle")
    value, low, high = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    key = "ArrowRight" if value - low <= high - value else "ArrowLeft"
    readout = _slider_state(slider)[1]
    handle.focus()
    for presses in range(1, 41):
        page.keyboard.press(key)
        if presses % 4:
            continue
        # The readout, not aria-valuenow: noUiSlider rounds the latter (0.24 reads "0.2").
        moved = _slider_state(slider)[1]
        assert moved != readout, f"the keyboard did not move slider {label!r} (its readout stays {readout})"
        try:
            return _wait_for_new_pixels(panels, before, deadline, at_most_s=1.5)
        except pytest.fail.Exception:
            continue  # a small step may not change a picture (a threshold between two scores): go on
    pytest.fail(f"moving slider {label!r} by 40 steps never changed the explorer's pictures")


@pytest.mark.parametrize("notebook", EXPLORER_NOTEBOOKS)
def test_explorers_render_and_react_in_jupyterlab(lab_server, browser, notebook):
    expected = len(explorer_cells(lab_server.root / notebook))
    deadline = Deadline(NOTEBOOK_BUDGET_S)
    page = browser.new_page()
    try:
        with evidence_on_failure(page, lab_server):
            # ?reset: an empty workspace, so no notebook opened by an earlier case is restored (and run).
            page.goto(f"{lab_server.url}/lab/tree/{notebook}?reset&token={lab_server.token}", timeout=deadline.ms(30))
            started = time.monotonic()
            _run_all_cells(page, deadline)
            print(f"\n{notebook}: the cells up to its last explorer ran in the browser in {time.monotonic() - started:.1f} s")

            explorers = page.locator(".course-explorer")
            try:
                explorers.first.wait_for(state="attached", timeout=deadline.ms(20))
            except Exception:
                shown = page.locator(".jp-OutputArea-output").all_inner_texts()
                stand_ins = [t[:120] for t in shown if any(s in t for s in WIDGET_FALLBACK_TEXTS)]
                pytest.fail(
                    "no explorer widget rendered in JupyterLab (do ipywidgets 8 and jupyterlab_widgets 3 "
                    f"match?); the page shows text instead: {stand_ins}"
                )
            outputs_text = page.locator(".jp-OutputArea").all_inner_texts()
            for stand_in in WIDGET_FALLBACK_TEXTS:
                assert not any(stand_in in t for t in outputs_text), f"widget shown as text: {stand_in!r}"
            assert explorers.count() == expected, f"{expected} explorer cells but {explorers.count()} explorers shown"

            dragged = False
            for e in range(expected):
                explorer = explorers.nth(e)
                explorer.scroll_into_view_if_needed(timeout=deadline.ms(10))
                panels = _panels(explorer)
                images = panels.locator("img")
                assert images.count() >= 1, f"explorer {e} shows no picture"
                images.first.wait_for(state="visible", timeout=deadline.ms(10))
                before = _pixels(panels)
                assert before.std() > 0, f"explorer {e} starts with a flat picture"
                sliders = explorer.locator(".widget-slider")
                assert sliders.count() >= 1, f"explorer {e} has no slider"
                for i in range(sliders.count()):
                    slider = sliders.nth(i)
                    handle = slider.locator(".noUi-handle")
                    assert handle.count() == 1, f"explorer {e}, slider {i} has no noUiSlider handle: not a real slider"
                    assert handle.get_attribute("role") == "slider"
                    label = slider.locator(".widget-label").inner_text().strip()
                    before = _move_until_redrawn(page, slider, panels, before, deadline, label)
                if not dragged:  # the mouse too, once per notebook: drag the first slider a quarter of its track
                    slider = sliders.nth(0)
                    handle = slider.locator(".noUi-handle")
                    start_readout = _slider_state(slider)[1]
                    track, box = slider.locator(".noUi-target").bounding_box(), handle.bounding_box()
                    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                    direction = -1 if x - track["x"] > track["width"] / 2 else 1
                    page.mouse.move(x, y)
                    page.mouse.down()
                    page.mouse.move(x + direction * track["width"] / 4, y, steps=8)
                    page.mouse.up()
                    readout = _slider_state(slider)[1]
                    assert readout != start_readout, f"dragging did not move the slider (its readout stays {readout})"
                    _wait_for_new_pixels(panels, before, deadline)
                    dragged = True
    finally:
        page.close()
        for kernel in lab_server.api("GET", "/api/kernels") or []:  # free the CPU for the next notebook
            lab_server.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)
