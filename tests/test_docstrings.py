"""Every "First used in notebook NN" in a course_utils docstring names the first notebook that uses the helper."""

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

from functools import lru_cache

import course_utils
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
FIRST_USED = re.compile(r"First used in notebook (\d\d)")


def _code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@lru_cache(maxsize=1)
def _notebook_code() -> dict[str, str]:
    """``{"01": code of every notebook numbered 01 (lesson and lab), ...}``."""
    code: dict[str, str] = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb")):
        code[path.name[:2]] = code.get(path.name[:2], "") + "\n" + _code(path)
    return code


def _documented():
    for info in pkgutil.iter_modules(course_utils.__path__):
        module = importlib.import_module(f"course_utils.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            match = FIRST_USED.search(inspect.getdoc(obj) or "")
            if match:
                yield f"{info.name}.{name}", name, match.group(1)


DOCUMENTED = sorted(_documented())


def test_some_helpers_say_where_they_are_first_used():
    assert len(DOCUMENTED) > 40


@pytest.mark.parametrize("qualified, name, number", DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_first_used_names_the_first_notebook_that_uses_it(qualified, name, number):
    # a call, an import or an attribute access: a word in a comment or a string does not count
    used = re.compile(rf"(\b{re.escape(name)}\s*\(|import [^\n]*\b{re.escape(name)}\b|\.{re.escape(name)}\b)")
    users = [nb for nb, code in _notebook_code().items() if used.search(code)]
    assert users, f"{qualified} says 'First used in notebook {number}', but no notebook uses it"
    assert users[0] == number, f"{qualified} says notebook {number}; the first notebook that uses it is {users[0]}"
