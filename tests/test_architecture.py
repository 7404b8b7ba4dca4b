"""The shape of the package, checked by reading its source (docs/architecture.md).

- No private name (leading underscore) is imported from another package: what one package needs of
  another is public and typed.
- Modules stay small (at most 400 lines) and functions short (at most 60 lines), except the few named
  below, each with the reason it must be longer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import careflow

SRC = Path(careflow.__file__).resolve().parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: function -> why it may be longer than MAX_FUNCTION_LINES
LONG_FUNCTIONS: dict[str, str] = {}


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """``careflow.runtime.engine`` -> ``careflow.runtime``; root modules are their own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def imported_names(path: Path, here: str) -> Iterator[tuple[int, str, str]]:
    """(line, module, name) for every ``from careflow… import name`` in the file of module ``here``,
    relative imports resolved."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = here.split(".")
            if not is_package:
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        if module == "careflow" or module.startswith("careflow."):
            for alias in node.names:
                yield node.lineno, module, alias.name


def test_no_private_name_is_imported_across_packages() -> None:
    crossings = []
    for path in modules():
        mine = package_of(module_name(path))
        for line, module, name in imported_names(path, module_name(path)):
            target = f"{module}.{name}" if module == "careflow" else module
            if name.startswith("_") and not name.startswith("__") and package_of(target) != mine:
                crossings.append(f"{path.relative_to(SRC.parent)}:{line}: {name} from {module}")
    assert not crossings, "private names imported across packages:\n" + "\n".join(crossings)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC.parent)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines; split it by job"


def test_functions_stay_short() -> None:
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{module_name(path)}.{node.name}"
                if size > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS:
                    long.append(f"{where}: {size} lines")
    assert not long, "functions over the limit:\n" + "\n".join(long)


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    # a crossing written as a relative import must not slip through
    fake = tmp_path / "main.py"
    fake.write_text("from ..runtime.engine import _step, step\nfrom . import _helper\n")
    found = list(imported_names(fake, "careflow.cli.main"))
    assert found == [(1, "careflow.runtime.engine", "_step"), (1, "careflow.runtime.engine", "step"),
                     (2, "careflow.cli", "_helper")]
    assert package_of("careflow.runtime.engine") == "careflow.runtime"
    assert package_of(module_name(SRC / "errors.py")) == "careflow.errors"
