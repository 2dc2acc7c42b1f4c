"""The import direction web -> votes -> crypto: votes never imports the web layer,
and the pure domain core imports neither storage nor the web."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import votes

VOTES_DIR = Path(votes.__file__).resolve().parent
# Modules of the pure core: plain data and pure functions, no I/O adapters.
PURE_CORE = ("model.py", "rules.py", "duplicates.py", "tally.py")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_votes_never_imports_web() -> None:
    sources = sorted(VOTES_DIR.rglob("*.py"))
    offending = [
        (str(path.relative_to(VOTES_DIR)), name)
        for path in sources
        for name in _imported_modules(path)
        if name.split(".")[0] == "web"
    ]
    assert offending == []


@pytest.mark.parametrize("module", PURE_CORE)
def test_pure_core_imports_no_adapters(module: str) -> None:
    imported = _imported_modules(VOTES_DIR / module)
    adapters = [
        name
        for name in imported
        if name.split(".")[0] in {"web", "sqlalchemy", "litestar", "redis"}
        or name.startswith(("votes.storage", "votes.service"))
    ]
    assert adapters == []
