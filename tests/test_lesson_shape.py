"""The shape of a lesson and its lab, checked on the committed notebooks (no execution).

A lesson (``NN_topic.ipynb``) is what a teacher finishes in one 75–90-minute class; its lab
(``NN_topic_lab.ipynb``) holds the deep dives. What is checked here is what can be checked without running
them: prose words a student reads, code cell length, slide count, a lab beside every lesson, and that no
notebook points at documents its reader does not have, and that full mode evaluates a fixed-size test sample
(so a notebook takes as long on full MNIST). The time budgets are measured by ``make bench``.
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if not p.stem.endswith("_lab"))
LABS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*_lab.ipynb"))
ALL = LESSONS + LABS

MAX_LESSON_WORDS = 3500  # prose a student reads in class (model answers, rubrics, reading list not counted)
MAX_CODE_LINES = 40  # a helper that needs more belongs in course_utils
SLIDES = range(25, 41)  # cells marked "slide" or "subslide" in a lesson

# Markdown a student does not read in class: model answers and rubrics (for the teacher), the reading list.
NOT_READ_IN_CLASS = re.compile(r"^\s*(\*\*(model answer|rubric)|#+\s*further reading)", re.I)
# Documents the reader does not have, and "seed" in any other sense than the random seed.
FOREIGN = re.compile(r"\b(seed|source)[ _-]?00\d\b|\bsource (write-?ups?|notes|material|post|code)\b"
                     r"|\bthe sources?['’]|\b(?:in|from|by|as in|of) the sources?\b(?! (?:of|code of)\b)|\bseed documents?\b", re.I)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)
_MARKUP = re.compile(r"<[^>]+>|\(https?://[^)]*\)|https?://\S+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def prose_words(markdown: str) -> int:
    """Words of prose in one Markdown cell: math, code spans and markup removed."""
    for pattern in (_MATH, _CODE, _MARKUP):
        markdown = pattern.sub(" ", markdown)
    return len(_WORD.findall(markdown))


def lesson_words(path: Path) -> int:
    return sum(prose_words(text(c)) for c in cells(path)
               if c["cell_type"] == "markdown" and not NOT_READ_IN_CLASS.match(text(c)))


def slide_count(path: Path) -> int:
    return sum(c.get("metadata", {}).get("slideshow", {}).get("slide_type") in ("slide", "subslide")
               for c in cells(path))


def test_prose_words_ignore_math_code_and_links():
    assert prose_words("The KL term $\\frac{1}{2}\\sum_j \\mu_j^2$ is `kl(mu, logvar)`, see [x](https://a.b/c).") == 6
    assert prose_words("$$\na = b\n$$ two words") == 2


def test_foreign_references_are_caught():
    for bad in ("as seed 002 does", "the source write-up", "Source_003's loop", "the sources' VAE bugs", "as in the source, we"):
        assert FOREIGN.search(bad), bad
    for fine in ("COURSE_SEED=1", "seed 0 and seed 1", "an open-source course", "the source of a method", "the code of the source of x"):
        assert not FOREIGN.search(fine), fine


def test_every_lesson_has_a_lab_and_every_lab_a_lesson():
    assert len(LESSONS) == 7
    assert [p.stem + "_lab" for p in LESSONS] == [p.stem for p in LABS]


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_a_lesson_fits_one_class(path):
    words = lesson_words(path)
    assert words <= MAX_LESSON_WORDS, f"{path.name}: {words} prose words, at most {MAX_LESSON_WORDS}"
    assert slide_count(path) in SLIDES, f"{path.name}: {slide_count(path)} slides, want {SLIDES.start}-{SLIDES.stop - 1}"


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_code_cells_are_short(path):
    long = {i: len(text(c).splitlines()) for i, c in enumerate(cells(path))
            if c["cell_type"] == "code" and len(text(c).splitlines()) > MAX_CODE_LINES}
    assert not long, f"{path.name}: code cells over {MAX_CODE_LINES} lines (cell index: lines): {long}"


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_no_reference_to_documents_the_reader_lacks(path):
    hits = [(i, m.group(0)) for i, c in enumerate(cells(path)) for m in FOREIGN.finditer(text(c))]
    assert not hits, f"{path.name}: {hits[:8]}"


# The full-mode contract: every evaluation reads a fixed-size test sample, so a notebook takes as long on the
# full 60,000/10,000 MNIST as on the offline 4,000/1,000 digits (the warm budget of 30 s held on both).
MAX_TEST_IMAGES = 1000
TEST_SPLIT = re.compile(r"^\s*(?P<target>[\w, ]+?)\s*=\s*load_(?:mnist|dataset|fashion_mnist)\((?P<args>.*train=False.*)$",
                        re.M)
# Notebooks that read the whole test split on purpose, and why.
WHOLE_TEST_SPLIT = {
    "02_vae": "the headline test -ELBO is the whole test split's, as in the literature (one cheap pass)",
    "02_vae_lab": "it reproduces the lesson's whole-split test -ELBO row",
}


def full_mode_limit(args: str, source: str) -> int | None:
    """The number of test images a ``load_mnist(train=False, ...)`` call keeps in full mode (None: all)."""
    match = re.search(r"limit=(pick\(\s*(\w+)|len\(|\w+)", args)
    if match is None:
        return None
    value = match.group(1)
    if value.startswith("len("):
        return 0  # as many as another (capped) set
    if match.group(2) is not None:
        value = match.group(2)
    if not value.isdigit():  # a name: its definition in the notebook, a number or pick(number, ...)
        defined = re.search(rf"^{value}\s*=\s*(?:pick\(\s*)?(\w+)", source, re.M)
        value = defined.group(1) if defined else "None"
    return int(value) if value.isdigit() else None


def test_full_mode_limit_reads_the_full_value():
    source = "N_TEST = pick(1000, fast=300)\nN_ALL = pick(None, fast=5)\n"
    assert full_mode_limit("train=False, limit=pick(1000, 500)", "") == 1000
    assert full_mode_limit("train=False, limit=N_TEST", source) == 1000
    assert full_mode_limit("train=False, limit=N_ALL", source) is None
    assert full_mode_limit("train=False, limit=pick(None, 500)", "") is None
    assert full_mode_limit("train=False", "") is None


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_full_mode_evaluates_a_fixed_size_test_sample(path):
    if path.stem in WHOLE_TEST_SPLIT:
        pytest.skip(WHOLE_TEST_SPLIT[path.stem])
    source = "\n".join(text(c) for c in cells(path) if c["cell_type"] == "code")
    loads = list(TEST_SPLIT.finditer(source))
    assert loads, f"{path.name}: no test split loaded"
    for load in loads:
        kept = full_mode_limit(load["args"], source)
        if kept is None:  # the whole split, allowed only when a fixed-size balanced subset is drawn from it
            images = load["target"].split(",")[0].strip()
            assert re.search(rf"balanced_subset\({images}\b", source), \
                f"{path.name}: `{load.group(0)}` keeps the whole test split in full mode"
        else:
            assert kept <= MAX_TEST_IMAGES, f"{path.name}: `{load.group(0)}` keeps {kept} test images"
