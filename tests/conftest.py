"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests import databases

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    configured = os.environ.get("VOTES_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The published test vectors in ``../shared/testdata`` (docs/design.md §6, README there)."""
    path = _shared_dir() / "testdata"
    if not path.is_dir():
        pytest.fail(f"shared test data not found at {path}; set VOTES_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the real PostgreSQL used by contract tests (asyncpg driver)."""
    url = databases.postgres_url()
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            pass
    except OSError as error:
        databases.service_unavailable("PostgreSQL", url, error)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis used by store and channel contract tests."""
    url = os.environ.get("VOTES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as error:
        databases.service_unavailable("Redis", url, error)
    return url
