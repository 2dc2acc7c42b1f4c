"""Engines, sessions and the `votes db` command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from votes.cli import main
from votes.settings import Settings
from votes.storage import (
    create_engine,
    create_session_factory,
    current_revision,
    ensure_migrated,
    head_revision,
    upgrade,
)
from votes.storage.db import SQLITE_BUSY_TIMEOUT_MS


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        async with engine.connect() as conn:
            journal = await conn.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await conn.scalar(text("PRAGMA foreign_keys"))
            busy = await conn.scalar(text("PRAGMA busy_timeout"))
    finally:
        await engine.dispose()
    assert (journal, foreign_keys, busy) == ("wal", 1, SQLITE_BUSY_TIMEOUT_MS)


async def test_the_default_sqlite_file_is_created_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    engine = create_engine(Settings(data_dir=data_dir))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert (data_dir / "votes.db").is_file()


async def test_sqlite_readers_are_not_blocked_by_an_open_write_transaction(
    tmp_path: Path,
) -> None:
    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        await upgrade(engine)
        writer = create_session_factory(engine)
        reader = create_session_factory(engine, read_only=True)
        async with writer.begin() as write_session:
            await write_session.execute(
                text("INSERT INTO staff_accounts VALUES (:id, 'u', 'U', 'operator', 'h', 1, :at)"),
                {"id": "0" * 32, "at": "2026-01-01 00:00:00"},
            )
            # The write lock is held; a reader still sees the last committed state.
            async with reader() as read_session:
                count = await asyncio.wait_for(
                    read_session.scalar(text("SELECT count(*) FROM staff_accounts")), timeout=5
                )
            assert count == 0
    finally:
        await engine.dispose()


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VOTES_"):
            monkeypatch.delenv(name)


def test_votes_db_upgrade_with_no_settings_creates_the_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert head_revision() in result.output
    database = tmp_path / ".votes-data" / "votes.db"
    assert database.is_file()

    async def check() -> None:
        engine = create_engine(Settings(data_dir=tmp_path / ".votes-data"))
        try:
            await ensure_migrated(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_votes_db_current_reports_a_database_that_needs_upgrading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("VOTES_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert "votes db upgrade" in result.output


def test_votes_db_downgrade_to_base_empties_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("VOTES_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["db", "downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output

    async def revision() -> str | None:
        engine = create_engine(Settings(data_dir=tmp_path))
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) is None


def test_votes_db_reports_bad_settings_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("VOTES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VOTES_DATABASE_URL", "mysql://db/votes")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code != 0
    assert "VOTES_DATABASE_URL" in result.output
