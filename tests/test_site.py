"""The website (`make site`) and the lesson decks (`make slides`), built once and opened in headless Chromium.

Built once per session from the committed notebooks (docs/build.py, nothing executed), then:

* every numbered notebook in notebooks/ has its page, in the navigation in teaching order, and every lesson
  its deck; every local link and image of every page and deck points to a file that exists;
* every page loads from ``file://`` with no request that leaves the machine (all are recorded), every image
  loads and has alt text, math is typeset (MathJax output present, no raw ``$$`` or ``\\(`` left), an
  explorer shows its note and snapshot instead of sliders, and search finds "reparameterisation";
* every deck has 25-40 slides, steps through every slide and fragment with the right-arrow key without a
  console error, and typesets its math.

Screenshots of the landing page and of one deck's first slide go to build/screenshots/. Select with
``pytest -m site`` (`make test-site`); without Chromium or playwright it is skipped, except under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("course_docs_build", ROOT / "docs" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "build" / "screenshots"
LESSONS = [p for p in build.notebooks() if build.is_lesson(p)]


# ----------------------------------------------------------------------------- discovery (no build needed)


def test_discovery_finds_labs_beside_their_lessons(tmp_path, monkeypatch):
    for name in ["02_vae.ipynb", "01_autoencoder.ipynb", "02_vae_lab.ipynb", "01b_pitfalls.ipynb",
                 "README.ipynb", "scratch.ipynb"]:
        (tmp_path / name).write_text("{}")
    monkeypatch.setattr(build, "NOTEBOOKS", tmp_path)
    found = [p.name for p in build.notebooks()]
    assert found == ["01_autoencoder.ipynb", "01b_pitfalls.ipynb", "02_vae.ipynb", "02_vae_lab.ipynb"]
    assert [build.is_lesson(tmp_path / n) for n in found] == [True, False, True, False]


def test_static_copy_replaces_widgets_and_gives_images_alt_text():
    nb = {"metadata": {"widgets": {}}, "cells": [
        {"cell_type": "code", "source": "e = latent_explorer(vae)\ndisplay(e)", "metadata": {},
         "outputs": [{"output_type": "display_data", "data": {build.WIDGET: {}, "text/plain": "VBox()"}}]},
        {"cell_type": "code", "source": "plot()", "metadata": {},
         "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}},
                     {"output_type": "display_data", "data": {build.WIDGET: {}, "text/plain": "tqdm"}}]},
        {"cell_type": "markdown", "source": "What to see: the codes fill a disc. Then more.", "metadata": {}}]}
    out = build.static_copy(nb)
    assert "widgets" not in out["metadata"] and "widgets" in nb["metadata"]
    explorer, figure = out["cells"][0], out["cells"][1]
    assert [o["data"]["text/markdown"] for o in explorer["outputs"]] == [build.EXPLORER_NOTE]
    assert len(figure["outputs"]) == 1 and "image/png" in figure["outputs"][0]["data"]
    assert figure["metadata"]["mystnb"]["image"]["alt"] == "the codes fill a disc."


# ----------------------------------------------------------------------------- the build


@pytest.fixture(scope="session")
def built():
    """Build the slides and the site once (docs/build.py site does both) and return the output folder."""
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "site"], check=True, cwd=ROOT)
    print(f"\nsite and slides built in {time.perf_counter() - start:.0f} s")
    return build.OUT


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.refs.append(value)


def _local_targets(page: Path):
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    for ref in parser.refs:
        parts = urlsplit(ref)
        if parts.scheme or ref.startswith(("#", "//")) or not parts.path:
            continue
        yield ref, (page.parent / unquote(parts.path)).resolve()



@pytest.mark.site
def test_every_notebook_has_a_page_in_teaching_order(built):
    html = (built / "index.html").read_text(encoding="utf-8")
    positions = []
    for nb in build.notebooks():
        assert (built / f"{nb.stem}.html").is_file(), f"{nb.name} has no page on the site"
        m = re.search(rf'class="reference internal" href="{re.escape(nb.stem)}\.html"', html)
        assert m, f"{nb.name} is missing from the site's navigation"
        positions.append(m.start())
    assert positions == sorted(positions), "navigation is not in teaching order"
    assert (built / "teachers.html").is_file()


@pytest.mark.site
def test_every_lesson_has_a_deck_linked_from_the_teachers_page(built):
    teachers = (built / "teachers.html").read_text(encoding="utf-8")
    for nb in LESSONS:
        assert (build.SLIDES / f"{nb.stem}.slides.html").is_file(), f"{nb.name} has no deck"
        assert f'href="slides/{nb.stem}.slides.html"' in teachers


@pytest.mark.site
def test_no_broken_local_link_or_image(built):
    pages = sorted(built.glob("*.html")) + sorted((built / "slides").glob("*.html"))
    broken = [f"{page.relative_to(built)}: {ref}" for page in pages
              for ref, target in _local_targets(page) if not target.exists()]
    assert not broken, "broken links:\n" + "\n".join(broken)


# ----------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright missing") if os.environ.get("CI") == "true" else pytest.skip("no playwright")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("no Chromium") if os.environ.get("CI") == "true" else pytest.skip(f"no {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Visit:
    """A page opened from file://, with every request and every console error recorded."""

    def __init__(self, browser, path: Path, query: str = ""):
        self.requests, self.errors = [], []
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.goto(path.as_uri() + query, wait_until="load")

    def offline(self):
        away = [u for u in self.requests if not re.match(r"(file|data|blob|about):|https?://(localhost|127\.0\.0\.1)[:/]", u)]
        assert not away, f"requests that leave the machine: {away[:5]}"

    def typeset(self, timeout=60_000):
        if self.page.evaluate("typeof MathJax") != "undefined":  # Sphinx loads MathJax only where there is math
            self.page.wait_for_function("() => MathJax.isReady === true", timeout=timeout)
            # A callback queued now runs after the page's first typeset.
            self.page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
        return self.page.evaluate("""() => ({
            jax: document.querySelectorAll('script[type^="math/tex"]').length,
            errors: document.querySelectorAll('.MathJax_Error, .merror').length,
            raw: /\\$\\$|\\\\\\(|\\\\\\[/.test(document.body.innerText),
        })""")


def _pages(built):
    return ["index.html", "teachers.html"] + [f"{nb.stem}.html" for nb in build.notebooks()]


@pytest.mark.site
def test_pages_load_offline_with_images_and_math(built, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name in _pages(built):
        v = Visit(browser, built / name)
        v.offline()
        math = v.typeset()
        imgs = v.page.evaluate("""() => [...document.images].map(i => ({src: i.src, ok: i.complete &&
                                  i.naturalWidth > 0, alt: i.getAttribute('alt') || ''}))""")
        problems += [f"{name}: image did not load: {i['src'][:100]}" for i in imgs if not i["ok"]]
        article = [i for i in imgs if "_images/" in i["src"]]
        problems += [f"{name}: image without alt text: {i['src'][-70:]}" for i in article if not i["alt"].strip()]
        problems += [f"{name}: console: {e}" for e in v.errors]
        if math["raw"]:
            problems.append(f"{name}: raw TeX delimiters left in the text")
        if math["errors"]:
            problems.append(f"{name}: {math['errors']} MathJax errors")
        if name[:2].isdigit():
            nb = json.loads((build.NOTEBOOKS / name.replace(".html", ".ipynb")).read_text(encoding="utf-8"))
            has_math = any("$" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
            if has_math and math["jax"] == 0:
                problems.append(f"{name}: math not typeset")
            wanted = 3 if build.is_lesson(build.NOTEBOOKS / name.replace(".html", ".ipynb")) else 1
            if len(article) < wanted:  # a lesson teaches with figures; a lab's deep dive needs at least one
                problems.append(f"{name}: only {len(article)} figures")
            explorers = sum(bool(build.EXPLORER_CALL.search("".join(c["source"])))
                            for c in nb["cells"] if c["cell_type"] == "code")
            notes = v.page.locator("text=it needs a live kernel").count()
            if notes != explorers:
                problems.append(f"{name}: {notes} explorer notes for {explorers} explorers")
        if name == "index.html":
            v.page.screenshot(path=str(SHOTS / "site_landing.png"))
        v.page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.site
def test_search_finds_reparameterisation(built, browser):
    v = Visit(browser, built / "search.html", "?q=reparameterisation")
    v.page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    hits = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    v.offline()
    assert any("02_vae.html" in h for h in hits), hits
    v.page.close()


def _slides_in_metadata(path: Path) -> int:
    """Slides the notebook's slideshow metadata asks for (a deck always starts with one)."""
    kinds = [c.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
             for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    shown = [k for k in kinds if k not in ("skip", "notes")]
    return sum(k in ("slide", "subslide") for k in shown) + (bool(shown) and shown[0] not in ("slide", "subslide"))


@pytest.mark.site
@pytest.mark.parametrize("lesson", [nb.stem for nb in LESSONS])
def test_deck_steps_through_every_slide(built, browser, lesson):
    v = Visit(browser, built / "slides" / f"{lesson}.slides.html")
    v.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=30_000)
    total = v.page.evaluate("Reveal.getTotalSlides()")
    assert 25 <= total <= 40, f"{lesson}: {total} slides (a lesson's deck should have 25-40)"
    assert total == _slides_in_metadata(build.NOTEBOOKS / f"{lesson}.ipynb"), f"{lesson}: deck ignores its metadata"
    math = v.typeset()
    if lesson == LESSONS[1].stem:
        v.page.screenshot(path=str(SHOTS / f"{lesson}_slide1.png"))
    seen = set()
    for _ in range(total * 8):
        state = v.page.evaluate("""() => ({i: Reveal.getIndices(), last: Reveal.isLastSlide(),
                                           more: Reveal.availableFragments().next})""")
        seen.add((state["i"]["h"], state["i"]["v"]))
        if state["last"] and not state["more"]:
            break
        v.page.keyboard.press("Space")  # next slide, sub-slides included (ArrowRight skips them)
    assert len(seen) == total, f"{lesson}: visited {len(seen)} of {total} slides"
    v.offline()
    assert not v.errors, f"{lesson}: console errors {v.errors[:5]}"
    assert math["jax"] > 0 and not math["errors"] and not math["raw"], f"{lesson}: math {math}"
    v.page.close()
