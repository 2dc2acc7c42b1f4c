"""The crypto package's boundaries: its public names and its imports."""

from __future__ import annotations

import ast
from pathlib import Path

import crypto

CRYPTO_DIR = Path(crypto.__file__).resolve().parent
FORBIDDEN = ("votes", "web")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_crypto_imports_nothing_from_votes_or_web() -> None:
    sources = sorted(CRYPTO_DIR.rglob("*.py"))
    assert len(sources) >= 6
    offending = [
        (path.name, name)
        for path in sources
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offending == []


def test_import_scanner_sees_from_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom votes.model import Unit\n", encoding="utf-8")
    assert _imported_modules(sample) == ["os", "votes.model"]


def test_public_names_exist_and_are_unique() -> None:
    assert len(set(crypto.__all__)) == len(crypto.__all__)
    missing = [name for name in crypto.__all__ if not hasattr(crypto, name)]
    assert missing == []
