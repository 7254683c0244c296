"""Screening for the teacher: an AST scan of a student's cells for what no exercise needs.

``scan(source)`` returns ``[(line, what), ...]``: introspection and hooks (``get_ipython``, ``set_custom_exc``,
``events``, ``*_transformers``, ``sys.modules``, ``builtins``, ``importlib``, ``exec``/``eval``, ``globals()``,
``sys._getframe``), the file system and processes (``open``, ``os``, ``subprocess``, ``/proc``), classes with
dunder methods (a float whose difference is always 0), and top-level code outside the ``def``. A flagged
submission is still graded; the flags go into the gradebook and the feedback. ``extract_definitions`` keeps
only what the sandbox runs of a solution cell: ``def``/``class``, imports, and constants.
"""

from __future__ import annotations

import ast

from .checks import ArgumentError

NAMES = {"get_ipython", "exec", "eval", "compile", "open", "globals", "locals", "vars", "__import__", "getattr",
         "setattr", "delattr", "importlib", "builtins", "__builtins__", "subprocess", "os", "sys", "ctypes", "pickle",
         "shutil", "socket", "signal", "inspect", "gc"}
ATTRIBUTES = {"set_custom_exc", "events", "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
              "modules", "_getframe", "f_back", "f_globals", "f_locals", "__globals__", "__closure__", "__code__",
              "__defaults__", "__subclasses__", "__dict__", "reload", "register"}
MODULES = {"os", "sys", "subprocess", "importlib", "builtins", "ctypes", "pickle", "shutil", "socket", "signal",
           "inspect", "gc", "IPython", "course_utils", "pathlib", "multiprocessing", "threading", "atexit"}


def scan(source: str) -> list[tuple[int, str]]:
    """``[(line, what was found), ...]`` for one cell's source (a syntax error is itself a flag)."""
    if not isinstance(source, str):
        raise ArgumentError(f"source must be a str, got {type(source).__name__}")
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        return [(err.lineno or 0, "does not parse (SyntaxError)")]
    flags = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Expr)) \
                and not _constant(node):
            flags.append((node.lineno, "top-level code outside the def"))
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
            flags.append((node.lineno, "top-level code outside the def"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in NAMES:
            flags.append((node.lineno, f"uses {node.id}"))
        elif isinstance(node, ast.Attribute) and (node.attr in ATTRIBUTES or node.attr.endswith("_transformers")):
            flags.append((node.lineno, f"uses .{node.attr}"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                if name.split(".")[0] in MODULES:
                    flags.append((node.lineno, f"imports {name}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ("/proc" in node.value or ".ipynb" in node.value):
            flags.append((node.lineno, f"mentions {node.value[:40]!r}"))
        elif isinstance(node, ast.ClassDef):
            dunders = [b.name for b in node.body if isinstance(b, ast.FunctionDef) and b.name.startswith("__")
                       and b.name != "__init__"]
            if dunders or node.bases:
                flags.append((node.lineno, f"class {node.name} with {', '.join(dunders) or 'a base class'}"))
    return sorted(set(flags))


def _constant(node: ast.AST) -> bool:
    """An assignment of a literal (``EPS = 1e-7``): kept, not flagged."""
    if not isinstance(node, ast.Assign) or not all(isinstance(t, ast.Name) for t in node.targets):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def extract_definitions(source: str) -> str:
    """The part of a solution cell the sandbox runs: functions, classes, imports and literal constants."""
    tree = ast.parse(source)
    kept = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
            or _constant(n)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def forbidden_names(test_source: str) -> list[str]:
    """The references a test cell switches off with ``forbid(globals(), "name", ..., attributes=(...))``."""
    tree, found = ast.parse(test_source), []
    strings = lambda node: [e.value for e in ast.walk(node) if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    named = {t.id: n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "forbid":
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for kw in node.keywords:
                if kw.arg == "attributes":  # a tuple of strings, or a name bound to one earlier in the cell
                    found += strings(named.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value)
    return found


def uses_reference(solution: str, forbidden: list[str]) -> list[tuple[int, str]]:
    """``[(line, name)]`` where a solution names a reference it was asked to write (statically, by last name)."""
    last = {name.split(".")[-1] for name in forbidden}
    hits = []
    for node in ast.walk(ast.parse(solution)):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in last:
            hits.append((node.lineno, name))
    return sorted(set(hits))
