"""The one-way arrows of DESIGN.md: ui -> agent -> tools, ui -> tools (and ui -> evals for
`connectus bench`), tools -> (jobs, connectors, store), jobs -> (connectors, store),
connectors -> store, and store imports nothing of ours. A wrong import is caught here,
not in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ui", "agent", "tools", "jobs", "connectors", "store", "evals")
MAY_IMPORT = {
    "ui": {"ui", "agent", "tools", "evals"},  # `connectus bench` runs the ruler
    "agent": {"agent", "tools"},
    "tools": {"tools", "jobs", "connectors", "store"},
    "jobs": {"jobs", "connectors", "store"},
    "connectors": {"connectors", "store"},
    "store": {"store"},
    "evals": set(PACKAGES),  # the ruler measures every layer
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return [(line, top) for line, top in found if top in PACKAGES]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_arrows(package: str) -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {top}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for line, top in _imports(path) if top not in MAY_IMPORT[package]]
    assert not wrong, "\n".join(wrong)
