"""The engine's layering, enforced by reading its source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
PURE = (
    "activity",
    "analysis",
    "answering",
    "blueprint",
    "catalog",
    "errors",
    "forecast",
    "learner",
    "mastery",
    "readiness",
    "roster",
    "scheduling",
    "selector",
)
ALLOWED_THIRD_PARTY = {"numpy", "fsrs"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


ALL_MODULES = sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_nothing_in_engine_imports_flask(path: Path) -> None:
    tops = {_top(name) for name in _imports(path)}
    assert not tops & {"flask", "flask_login", "flask_wtf", "werkzeug", "webui"}, path


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_only_stdlib_numpy_fsrs_and_pure_modules(module: str) -> None:
    path = ENGINE / f"{module}.py"
    for name in _imports(path):
        top = _top(name)
        if top == "engine":
            assert name.split(".")[1] in PURE, f"{module} imports impure {name}"
        elif top != "__future__":
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                f"{module} imports {name}"
            )


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_read_no_clock_and_no_global_random(module: str) -> None:
    tree = ast.parse((ENGINE / f"{module}.py").read_text(encoding="utf-8"))
    imported = _imports(ENGINE / f"{module}.py")
    assert "random" not in imported and "time" not in {_top(n) for n in imported if n == "time"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
            owner = node.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            assert owner_name not in {"datetime", "date"}, f"{module} reads the clock"
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "random"
        ):
            # numpy.random: the Generator type, or a generator seeded explicitly.
            assert node.attr in {"Generator", "default_rng"}, f"{module} uses global random"
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "default_rng":
            assert node.args, f"{module} seeds a generator from the OS, not from its inputs"


def test_the_checker_would_catch_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom sqlalchemy import select\n")
    assert {_top(name) for name in _imports(bad)} == {"flask", "sqlalchemy"}
