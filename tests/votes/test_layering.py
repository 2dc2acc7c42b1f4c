"""The import direction web -> service -> record -> tally -> crypto, held for every folder.

votes never imports the web layer; the pure domain core (plain data and pure
functions) imports nothing but itself; the file readers in votes/inputs/ only
the core and crypto; and the record neither the readers, the service nor
storage. Crypto's own boundary is tests/crypto/test_package.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import votes
import web

VOTES_DIR = Path(votes.__file__).resolve().parent
WEB_DIR = Path(web.__file__).resolve().parent
# Modules of the pure core: plain data and pure functions, no I/O adapters.
PURE_CORE = (
    "model.py",
    "enums.py",
    "rules.py",
    "duplicates.py",
    "roster.py",
    "tally.py",
    "tally_json.py",
)
_CORE = frozenset(name.removesuffix(".py") for name in PURE_CORE)

# Each part of votes -> the parts of votes it may import (besides itself). The
# pure core is in every set; settings is configuration, a leaf every adapter reads;
# validation (msgspec's refusals in plain Chinese) a leaf the record, the service and
# the web layer use to word a refused value.
ALLOWED: dict[str, frozenset[str]] = {
    **dict.fromkeys(_CORE, _CORE),
    "settings": frozenset(),
    "validation": frozenset(),
    "inputs": _CORE,
    "record": _CORE | {"validation"},
    "storage": _CORE | {"settings"},
    "service": _CORE | {"inputs", "record", "storage", "settings", "validation"},
    "cli": _CORE | {"inputs", "record", "service", "storage", "settings", "validation"},
}

# Outside votes and the standard library: what the core and the readers may use.
THIRD_PARTY: dict[str, frozenset[str]] = {
    **dict.fromkeys(_CORE, frozenset[str]()),
    "validation": frozenset(),
    "inputs": frozenset({"openpyxl"}),  # the XLSX reader
}


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _part(path: Path) -> str:
    """The part of votes a source file belongs to: its folder, or its module at the top."""
    relative = path.relative_to(VOTES_DIR)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


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


def test_every_part_of_votes_is_placed_in_the_layers() -> None:
    parts = {_part(path) for path in VOTES_DIR.rglob("*.py")} - {"__init__"}
    assert parts <= set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_the_parts_below_it(part: str) -> None:
    sources = [path for path in sorted(VOTES_DIR.rglob("*.py")) if _part(path) == part]
    assert sources
    offending = [
        (str(path.relative_to(VOTES_DIR)), name)
        for path in sources
        for name in _imported_modules(path)
        if name.split(".")[0] == "votes"
        and (inner := name.split(".")[1] if "." in name else "") != part
        and inner not in ALLOWED[part]
    ]
    assert offending == []


@pytest.mark.parametrize("part", sorted(THIRD_PARTY))
def test_core_and_readers_use_only_the_standard_library_and_crypto(part: str) -> None:
    sources = [path for path in sorted(VOTES_DIR.rglob("*.py")) if _part(path) == part]
    allowed = set(sys.stdlib_module_names) | {"__future__", "crypto", "votes"} | THIRD_PARTY[part]
    offending = [
        (str(path.relative_to(VOTES_DIR)), name)
        for path in sources
        for name in _imported_modules(path)
        if name.split(".")[0] not in allowed
    ]
    assert offending == []


def test_pages_and_schemas_name_states_without_the_orm() -> None:
    # Meeting states and staff roles are the domain's (votes/enums.py): the routes,
    # the page helpers and the service's wire schemas reach storage only through
    # the service.
    sources = [
        *sorted((WEB_DIR / "routes").rglob("*.py")),
        WEB_DIR / "pages.py",
        WEB_DIR / "i18n.py",
        VOTES_DIR / "service" / "schemas.py",
    ]
    offending = [
        (path.name, name)
        for path in sources
        for name in _imported_modules(path)
        if name.startswith("votes.storage") or name.split(".")[0] == "sqlalchemy"
    ]
    assert offending == []
