"""JupyterLab in a real (headless) Chromium: the latent sliders render as widgets and redraw the digit.

Sliders that show up as plain text (``VBox(children=...)``, ``Loading widget...``) are a known failure
when the Python side (ipywidgets 8) and the browser side (jupyterlab_widgets 3) do not match. Only a
browser can see it, so this test starts JupyterLab from the current environment on a free localhost port
with a token, opens ``tests/assets/widget_demo.ipynb`` (a copy, in a temporary folder the server serves),
runs its cells in fast mode, and then checks in the page:

* the explorer's sliders are real slider widgets (noUiSlider handles with ``role="slider"``);
* moving a slider with the keyboard, and another by dragging it, changes its value and the digit's pixels.

Everything the server and the browser write (config, runtime files, settings, workspaces, the Chromium
profile) stays in one temporary folder. The server is shut down even when the test fails, and a failing
test saves a screenshot and the server log in a temporary folder and prints their paths.

Select it with ``pytest -m browser``; it finishes in well under two minutes. Without Chromium or Python
``playwright`` it is skipped with the reason, except when ``CI=true``: then it fails, because CI must run it.
"""

from __future__ import annotations

import io
import json
import os
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

DEMO = Path(__file__).parent / "assets" / "widget_demo.ipynb"
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
TEST_BUDGET_S = 110  # the whole test, server start included, must stay under two minutes
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


@pytest.fixture
def lab_server():
    """JupyterLab serving a temporary copy of the widget demo, with COURSE_FAST=1 for its kernels."""
    chromium = _require_browser_tools()
    tmp = Path(tempfile.mkdtemp(prefix="course_browser_"))
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(DEMO, root / DEMO.name)
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
            pytest.fail("the browser test ran out of its two-minute budget")
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
    result = page.evaluate(RUN_ALL_JS, deadline.ms(60) - 2000)
    assert "error" not in result, result["error"]
    errors = [e for cell in result["cells"] for e in cell["errors"]]
    assert not errors, f"the demo notebook raised in the browser's kernel: {errors}"
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


def test_latent_sliders_render_and_redraw_in_jupyterlab(lab_server):
    from playwright.sync_api import sync_playwright

    deadline = Deadline(TEST_BUDGET_S - SERVER_START_S)  # the server's start had its own allowance
    profile = lab_server.tmp / "chromium-profile"  # a fresh user-data dir, deleted with the folder
    # Chromium's GTK side (dconf, fontconfig caches) writes under XDG folders: keep them in the temp folder.
    browser_env = dict(os.environ)
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        folder = lab_server.tmp / variable.lower()
        folder.mkdir(mode=0o700)
        browser_env[variable] = str(folder)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=lab_server.chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000}, env=browser_env,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            with evidence_on_failure(page, lab_server):
                page.goto(f"{lab_server.url}/lab/tree/{DEMO.name}?token={lab_server.token}", timeout=deadline.ms(30))
                started = time.monotonic()
                _run_all_cells(page, deadline)
                print(f"\nthe demo notebook ran in the browser in {time.monotonic() - started:.1f} s")

                # The explorer must be a rendered widget view, not its text stand-in.
                explorer = page.locator(".widget-demo-explorer")
                try:
                    explorer.wait_for(state="visible", timeout=deadline.ms(20))
                except Exception:
                    shown = page.locator(".jp-OutputArea-output").all_inner_texts()
                    stand_ins = [t[:120] for t in shown if any(s in t for s in WIDGET_FALLBACK_TEXTS)]
                    pytest.fail(
                        "the explorer widget did not render in JupyterLab (do ipywidgets 8 and "
                        f"jupyterlab_widgets 3 match?); the page shows text instead: {stand_ins}"
                    )
                outputs_text = page.locator(".jp-OutputArea").all_inner_texts()
                for stand_in in WIDGET_FALLBACK_TEXTS:
                    assert not any(stand_in in t for t in outputs_text), f"widget shown as text: {stand_in!r}"

                sliders = explorer.locator(".widget-slider")
                assert sliders.count() == 2, f"expected the two sliders z[0], z[1], found {sliders.count()}"
                for i in range(2):
                    handle = sliders.nth(i).locator(".noUi-handle")
                    assert handle.count() == 1, f"slider {i} has no noUiSlider handle: not a real slider widget"
                    assert handle.get_attribute("role") == "slider"
                    assert float(handle.get_attribute("aria-valuenow")) == 0.0, "sliders start at the prior mean"
                labels = explorer.locator(".widget-slider .widget-label").all_inner_texts()
                assert [t.strip() for t in labels] == ["z[0]", "z[1]"], labels
                image = explorer.locator("img")
                assert image.count() == 1, f"expected one decoded image, found {image.count()}"
                image.wait_for(state="visible", timeout=deadline.ms(10))
                start = _pixels(image)
                assert start.std() > 0, "the first decoded digit is a flat image"

                # 1) keyboard: focus z[0]'s handle and step it up ten times (step 0.1 -> +1.0).
                z0 = sliders.nth(0)
                z0.locator(".noUi-handle").focus()
                for _ in range(10):
                    page.keyboard.press("ArrowRight")
                value, readout = _slider_state(z0)
                assert float(value) == pytest.approx(1.0), f"keyboard did not move z[0]: aria-valuenow={value}"
                assert readout == "1.00", readout
                after_keys = _wait_for_new_pixels(image, start, deadline)

                # 2) mouse: drag z[1]'s handle a third of the track to the left.
                z1 = sliders.nth(1)
                track = z1.locator(".noUi-target").bounding_box()
                handle = z1.locator(".noUi-handle").bounding_box()
                x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
                page.mouse.move(x, y)
                page.mouse.down()
                page.mouse.move(x - track["width"] / 3, y, steps=8)
                page.mouse.up()
                value, readout = _slider_state(z1)
                assert float(value) < -0.5, f"dragging did not move z[1]: aria-valuenow={value}"
                assert readout == f"{float(value):.2f}", (value, readout)
                after_drag = _wait_for_new_pixels(image, after_keys, deadline)

                changed = [(a != b).any(axis=-1).mean() for a, b in ((start, after_keys), (after_keys, after_drag))]
                print(f"pixels changed: {changed[0]:.1%} after the key presses, {changed[1]:.1%} after the drag")
        finally:
            context.close()
