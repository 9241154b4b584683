"""The package's layout rules that import-linter's contracts do not cover (those run in `make test`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ohgw_bench"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_another_modules_private_name():
    """A leading underscore means "this module's own": another module must not depend on it."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ohgw_bench"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                found += [f"{path.relative_to(PACKAGE)}: {node.module}.{name}" for name in private]
    assert found == []


def test_the_package_root_keeps_only_the_cli():
    """Everything else lives in a folder named for its job (define → execute → record → analyse)."""
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "cli.py"]
