"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    configured = os.environ.get("VOTES_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The published test vectors in ``../shared/testdata`` (DESIGN.md, README there)."""
    path = _shared_dir() / "testdata"
    if not path.is_dir():
        pytest.fail(f"shared test data not found at {path}; set VOTES_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
