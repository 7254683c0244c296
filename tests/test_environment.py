"""environment.yml (conda / Binder) parses, installs this package, enables the widgets, and provides every
third-party package that the notebooks and course_utils import.

Binder builds the course from environment.yml alone; a package a notebook imports but the file forgets
shows up only as a ModuleNotFoundError in a student's browser. These tests find imports by parsing the
code (notebook cells and modules), so a new ``import`` without an environment entry fails here first.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "environment.yml"
FIRST_PARTY = {"course_utils"}
# Where a package's conda-forge name differs from its pip (distribution) name.
PIP_TO_CONDA = {"torch": "pytorch"}
# Teacher tooling, not used by any notebook: it needs nbgrader from the `test` extra of pyproject.toml
# (`pip install -e '.[test]'`), which the Binder environment students open does not carry.
TEACHER_ONLY_MODULES = {"homework.py"}


def normalize(name: str) -> str:
    """PEP 503 form, so that jupyterlab_widgets == jupyterlab-widgets and PyYAML == pyyaml."""
    return re.sub(r"[-_.]+", "-", name).lower()


def spec_name(spec: str) -> str:
    """'pytorch>=2.2' -> 'pytorch', 'conda-forge::numpy' -> 'numpy', 'ipywidgets >=8,<9' -> 'ipywidgets'."""
    if not isinstance(spec, str):
        raise TypeError(f"a dependency must be a string, got {spec!r}")
    spec = spec.split("::")[-1].strip()
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", spec)
    if not match:
        raise ValueError(f"cannot read a package name from dependency {spec!r}")
    return normalize(match.group(0))


def spec_constraint(spec: str) -> str:
    """The version part of a dependency, without spaces: 'ipywidgets >=8.1, <9' -> '>=8.1,<9'."""
    spec_name(spec)  # validates
    rest = re.sub(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*", "", spec.split("::")[-1].strip())
    return re.sub(r"\s+", "", rest)


# ----------------------------------------------------------------------------- finding imports


def _is_stdlib(module: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    if names is not None:
        return module in names or module in sys.builtin_module_names
    import importlib.util
    import sysconfig

    spec = importlib.util.find_spec(module)
    origin = getattr(spec, "origin", None) or ""
    return spec is not None and (origin in ("built-in", "frozen") or origin.startswith(sysconfig.get_paths()["stdlib"]))


def imported_modules(source: str) -> set[str]:
    """Top-level names of every absolute import in ``source`` (also those inside functions or try blocks).

    IPython syntax (``%matplotlib inline``, ``!pip ...``) is translated to Python first, so notebook
    cells parse like modules.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in FIRST_PARTY and not _is_stdlib(m) and not m.startswith("_")}


def notebook_imports(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    return set().union(*(imported_modules(c.source) for c in nb.cells if c.cell_type == "code"))


def course_imports() -> dict[str, set[str]]:
    """``{file relative to the repo: third-party top-level imports}`` for the notebooks and course_utils."""
    files = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tests" / "assets").glob("*.ipynb"))
    found = {str(p.relative_to(ROOT)): third_party(notebook_imports(p)) for p in files}
    for path in sorted((ROOT / "course_utils").glob("*.py")):
        if path.name not in TEACHER_ONLY_MODULES:
            found[str(path.relative_to(ROOT))] = third_party(imported_modules(path.read_text()))
    return found


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed package: once is enough


def distribution_names(module: str) -> set[str]:
    """Normalised pip names that provide ``module`` in this environment, e.g. 'PIL' -> {'pillow'}."""
    names = _packages_distributions().get(module)
    if not names:
        raise LookupError(f"'{module}' is imported but no installed package provides it; install it and list it")
    return {normalize(n) for n in names}


# ----------------------------------------------------------------------------- environment.yml


@pytest.fixture(scope="module")
def env() -> dict:
    with open(ENV_FILE, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), "environment.yml must be a mapping with name, channels, dependencies"
    return data


def conda_specs(env: dict) -> list[str]:
    return [d for d in env["dependencies"] if isinstance(d, str)]


def pip_specs(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) <= 1, "environment.yml has more than one pip section"
    return list(sections[0]) if sections else []


def listed_packages(env: dict) -> set[str]:
    """Normalised names of everything the environment installs (conda names, plus pip names)."""
    pip_names = {spec_name(s) for s in pip_specs(env) if not s.startswith(("-", "."))}
    return {spec_name(s) for s in conda_specs(env)} | pip_names


def test_environment_file_parses_with_the_expected_sections(env):
    assert set(env) >= {"name", "channels", "dependencies"}, sorted(env)
    assert "conda-forge" in env["channels"], "pytorch, mlxtend and the jupyter stack all come from conda-forge"
    for spec in conda_specs(env) + [s for s in pip_specs(env) if not s.startswith(("-", "."))]:
        spec_name(spec)  # raises on an entry that is not "name[constraint]"
    names = [spec_name(s) for s in conda_specs(env)]
    assert len(names) == len(set(names)), f"a conda package is listed twice: {names}"


def test_environment_python_satisfies_the_package(env):
    """The pinned Python must be one that pyproject's requires-python accepts, or `pip install -e .` fails."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = [s for s in conda_specs(env) if spec_name(s) == "python"]
    assert len(pinned) == 1, "environment.yml must pin python (Binder otherwise picks whatever is newest)"
    version = tuple(int(p) for p in re.findall(r"\d+", spec_constraint(pinned[0]))[:2])
    minimum = tuple(int(p) for p in re.findall(r"\d+", project["requires-python"])[:2])
    assert version >= minimum, f"environment.yml pins python {version}, pyproject needs {project['requires-python']}"


def test_environment_installs_this_package_with_pip(env):
    assert "pip" in {spec_name(s) for s in conda_specs(env)}, "a pip section needs pip itself in the conda list"
    local = [s for s in pip_specs(env) if re.fullmatch(r"(-e\s+)?\.(\[[\w,]+\])?", s.strip())]
    assert local, f"the pip section must install this checkout ('-e .'), found {pip_specs(env)}"


def test_environment_enables_the_widgets_like_pyproject(env):
    """Sliders render only when ipywidgets 8 meets jupyterlab_widgets 3: both listed, same ranges as pyproject."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {spec_name(s): spec_constraint(s) for s in project["dependencies"]}
    listed = {spec_name(s): spec_constraint(s) for s in conda_specs(env)}
    for package in ("ipywidgets", "jupyterlab-widgets", "jupyterlab", "ipykernel"):
        assert package in listed, f"environment.yml must list {package} for the widgets to work in JupyterLab"
        assert listed[package] == wanted.get(package), (
            f"{package}: environment.yml says {listed[package]!r}, pyproject.toml says {wanted.get(package)!r}"
        )


def test_environment_lists_every_pyproject_dependency(env):
    """Conda must provide all of them, or `pip install -e .` pulls a second copy (e.g. torch) from PyPI."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = listed_packages(env)
    conda_name = {s: normalize(PIP_TO_CONDA.get(spec_name(s), spec_name(s))) for s in project["dependencies"]}
    missing = [s for s, name in conda_name.items() if name not in listed]
    assert not missing, f"pyproject.toml dependencies missing from environment.yml: {missing}"


def test_environment_lists_every_import_of_the_course(env):
    listed = listed_packages(env)
    found = course_imports()
    assert "torch" in found["course_utils/models.py"], "the import scanner missed course_utils' own imports"
    missing: dict[str, list[str]] = {}
    for where, modules in found.items():
        for module in sorted(modules):
            provided = {normalize(PIP_TO_CONDA.get(n, n)) for n in distribution_names(module)}
            if not provided & listed:
                missing.setdefault(f"{module} (package {'/'.join(sorted(provided))})", []).append(where)
    assert not missing, f"imported but not in environment.yml: {missing}"


# ----------------------------------------------------------------------------- the helpers themselves


def test_import_scanner_reads_notebook_syntax_and_skips_stdlib_and_relative_imports():
    cell = (
        "%matplotlib inline\n"
        "!echo hi\n"
        "import os, numpy as np\n"
        "import torch.nn.functional as F\n"
        "from sklearn.metrics import roc_auc_score\n"
        "from . import config\n"
        "from course_utils.models import VAE\n"
        "def f():\n"
        "    from PIL import Image\n"
        "try:\n"
        "    import yaml\n"
        "except ImportError:\n"
        "    pass\n"
    )
    modules = imported_modules(cell)
    assert modules == {"os", "numpy", "torch", "sklearn", "course_utils", "PIL", "yaml"}
    assert third_party(modules) == {"numpy", "torch", "sklearn", "PIL", "yaml"}
    assert distribution_names("sklearn") == {"scikit-learn"}
    with pytest.raises(LookupError, match="no_such_module_anywhere"):
        distribution_names("no_such_module_anywhere")


@pytest.mark.parametrize(
    "spec, name, constraint",
    [("pytorch>=2.2", "pytorch", ">=2.2"), ("conda-forge::numpy", "numpy", ""),
     ("jupyterlab_widgets >=3.0, <4", "jupyterlab-widgets", ">=3.0,<4"), ("python=3.11", "python", "=3.11")],
)
def test_spec_parsing(spec, name, constraint):
    assert spec_name(spec) == name
    assert spec_constraint(spec) == constraint


@pytest.mark.parametrize("bad, err", [(">=1.0", ValueError), ({"pip": []}, TypeError)])
def test_spec_parsing_rejects_non_specs(bad, err):
    with pytest.raises(err):
        spec_name(bad)
