"""Build the course website (`make site`) and the lesson decks (`make slides`) from the committed notebooks.

Nothing is executed: the notebooks' saved outputs are the measured run. Everything a page needs (MathJax,
reveal.js) is copied from installed packages into build/, so the result works from ``file://`` and from any
static host with no network.

    python docs/build.py slides    # build/slides/<notebook>.slides.html, one deck per lesson
    python docs/build.py site      # build/site/ (Sphinx + myst-nb), with the decks under build/site/slides/
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
SRC = BUILD / "site-src"
OUT = BUILD / "site"
SLIDES = BUILD / "slides"

# A cell that builds an explorer calls one of course_utils' explorer builders (as tests/test_browser.py).
EXPLORER_CALL = re.compile(r"\b(?:latent|traversal|code_space|latent_walk|denoising|threshold)_explorer\(")
WIDGET = "application/vnd.jupyter.widget-view+json"
EXPLORER_NOTE = ("**Explorer** (sliders): it needs a live kernel. Open this notebook in JupyterLab or on Binder "
                 "to move them; its snapshot figure is shown in its place.")


def notebooks() -> list[Path]:
    """Every numbered notebook (``NN*.ipynb``: lessons and labs) in teaching order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))


def is_lesson(path: Path) -> bool:
    """A lesson gets a deck; a lab (``02_vae_lab``, ``02b_...``) does not."""
    return "lab" not in path.stem.lower().split("_")[1:] and not re.match(r"\d\d[a-z]", path.stem)


def title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _plain(markdown: str) -> str:
    text = re.sub(r"[`*_$\\]", "", markdown)
    return re.sub(r"\s+", " ", text).strip()


def alt_text(cells: list[dict], i: int) -> str:
    """The 'What to see' sentence after cell ``i`` (its first sentence), else the nearest heading."""
    for cell in cells[i + 1: i + 4]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and src.lstrip().lower().startswith("what to see"):
            body = re.sub(r"^\s*what to see[^:]*:\s*", "", src, flags=re.I)
            return _plain(re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0])[:300]
    for cell in reversed(cells[:i]):
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and src.lstrip().startswith("#"):
            return "Figure: " + _plain(src.lstrip().splitlines()[0].lstrip("# "))
    return "Figure"


def static_copy(nb: dict) -> dict:
    """The notebook as a reader without a kernel sees it: widget views dropped (an explorer's snapshot figure
    follows it), saved widget state removed, every image given alt text."""
    nb = copy.deepcopy(nb)
    nb["metadata"].pop("widgets", None)
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        explorer = bool(EXPLORER_CALL.search("".join(cell["source"])))
        outputs = []
        for out in cell.get("outputs", []):
            if WIDGET in out.get("data", {}):
                if explorer:
                    outputs.append({"output_type": "display_data", "metadata": {},
                                    "data": {"text/markdown": EXPLORER_NOTE, "text/plain": EXPLORER_NOTE}})
                continue
            outputs.append(out)
        cell["outputs"] = outputs
        if any("image/png" in out.get("data", {}) for out in outputs):
            cell["metadata"].setdefault("mystnb", {})["image"] = {"alt": alt_text(cells, i)}
    return nb


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def copy_mathjax(dest: Path) -> None:
    import jupyter_server_mathjax

    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("localization", "*.map"))


def copy_reveal(dest: Path) -> None:
    import sphinx_revealjs

    src = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    shutil.rmtree(dest, ignore_errors=True)
    for part in ("dist", "plugin/notes"):
        shutil.copytree(src / part, dest / part, ignore=shutil.ignore_patterns("*.map", "*.esm.js"))


# --- slides -------------------------------------------------------------------------------------------

def build_slides(out: Path = SLIDES) -> list[Path]:
    import nbformat
    from nbconvert import SlidesExporter

    out.mkdir(parents=True, exist_ok=True)
    copy_reveal(out / "reveal.js")
    copy_mathjax(out / "mathjax")
    exporter = SlidesExporter(
        template_name="course_slides",
        extra_template_basedirs=[str(SITE_DIR / "templates")],
        reveal_url_prefix="reveal.js",
        reveal_scroll=True,
        reveal_number="c/t",
        mathjax_url="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full",
        reveal_theme="white",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    written = []
    for path in filter(is_lesson, notebooks()):
        node = nbformat.reads(json.dumps(static_copy(read(path))), as_version=4)
        body, _ = exporter.from_notebook_node(node,
                                              resources={"metadata": {"name": title(read(path)) or path.stem}})
        target = out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
        print(f"slides: {target.relative_to(ROOT)}")
    return written


# --- site ---------------------------------------------------------------------------------------------

def _section(markdown: str, heading: str) -> str:
    """One ``## heading`` section of the README, without its heading line."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    if not m:
        raise SystemExit(f"README has no section '## {heading}'")
    return m.group(1).strip()


def _site_links(markdown: str) -> str:
    """README links made to work on the site: notebooks become their pages, other repository files plain text."""
    markdown = re.sub(r"\]\(notebooks/([^)]+)\.ipynb\)", r"](\1.ipynb)", markdown)
    markdown = markdown.replace("](figures/", "](_extra/figures/")

    def local(m):
        label, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+:|#|_extra/figures/|[0-9][0-9][^/]*\.ipynb$", target):
            return m.group(0)
        return label  # a repository file the site does not carry
    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)]+)\)", local, markdown)


def write_sources(nbs: list[Path]) -> None:
    shutil.rmtree(SRC, ignore_errors=True)
    (SRC / "_static").mkdir(parents=True)
    shutil.copy(SITE_DIR / "conf.py", SRC / "conf.py")
    shutil.copy(SITE_DIR / "course.css", SRC / "_static" / "course.css")
    copy_mathjax(SRC / "_static" / "mathjax")
    shutil.copytree(ROOT / "figures", SRC / "_extra" / "figures")  # copied as is: the README's <img> tags
    for path in nbs:
        (SRC / path.name).write_text(json.dumps(static_copy(read(path)), ensure_ascii=False), encoding="utf-8")

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    story = readme.partition("\n## ")[0]
    landing = [_site_links(story.strip()), "",
               "## The notebooks", "", _site_links(_section(readme, "The notebooks")), "",
               "## Explorers: sliders in every lesson", "",
               _site_links(_section(readme, "Explorers: sliders in every lesson")), "",
               "## Running the course", "", _site_links(_section(readme, "Two commands")), "",
               "```{toctree}", ":maxdepth: 1", ":caption: Notebooks", "", *[p.stem for p in nbs], "```", "",
               "```{toctree}", ":maxdepth: 1", ":caption: Teaching", "", "teachers", "```", ""]
    (SRC / "index.md").write_text("\n".join(landing), encoding="utf-8")

    decks = ["<ul>", *[f'<li><a href="slides/{p.stem}.slides.html">{p.stem[:2]} · {title(read(p)) or p.stem}</a></li>'
                       for p in nbs if is_lesson(p)], "</ul>"]
    teachers = ["# For teachers", "",
                "## Slides", "",
                ("One reveal.js deck per lesson, built from the notebooks' slideshow metadata "
                 "(space to step through every slide and fragment, arrow keys to move between sections, `s` for speaker notes, `f` for full screen):"), "", *decks, "",
                _site_links(_section(readme, "The course as a website and as slides")), "",
                "## Homework and grading", "", _site_links(_section(readme, "Homework and grading")), ""]
    (SRC / "teachers.md").write_text("\n".join(teachers), encoding="utf-8")


def build_site() -> Path:
    nbs = notebooks()
    build_slides()  # the teachers' page links to the decks, published with the site
    write_sources(nbs)
    shutil.rmtree(OUT, ignore_errors=True)
    # -W: a broken link, a missing image or a notebook outside the table of contents fails the build.
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-j", "1",
                    "-d", str(BUILD / "site-doctrees"), str(SRC), str(OUT)], check=True)
    shutil.copytree(SLIDES, OUT / "slides")
    print(f"site: {OUT.relative_to(ROOT)}/index.html ({len(nbs)} notebooks)")
    return OUT


if __name__ == "__main__":
    what = sys.argv[1:] or ["site"]
    for step in what:
        {"site": build_site, "slides": build_slides}[step]()
