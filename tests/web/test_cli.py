"""``votes serve`` start-up checks and ``votes admin create-staff``."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner
from sqlalchemy import make_url

from tests.databases import FAST_ARGON2
from tests.web.conftest import PASSWORD, make_settings
from votes.cli import main
from votes.service import accounts
from votes.service.context import build_context
from votes.settings import Settings
from votes.storage import SchemaNotCurrentError, create_engine, current_revision, head_revision
from web.serve_cmd import prepare_database


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "VOTES_DATA_DIR": str(data_dir),
        "VOTES_DATABASE_URL": "",
        "VOTES_REDIS_URL": "",
        "VOTES_ARGON2_TIME_COST": str(FAST_ARGON2["argon2_time_cost"]),
        "VOTES_ARGON2_MEMORY_KIB": str(FAST_ARGON2["argon2_memory_kib"]),
        "VOTES_ARGON2_PARALLELISM": str(FAST_ARGON2["argon2_parallelism"]),
    }
    env.update(extra)
    return env


def _revision(settings: Settings) -> str | None:
    async def run() -> str | None:
        engine = create_engine(settings)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_embedded_default_is_migrated_on_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    message = asyncio.run(prepare_database(settings))
    assert "migrated" in message
    assert _revision(settings) == head_revision()


@pytest.fixture
def empty_postgres_database(postgres_url: str) -> Iterator[str]:
    """A new, never-migrated PostgreSQL database (dropped afterwards)."""
    name = f"votes_web_unmigrated_{uuid.uuid4().hex[:10]}"
    url = make_url(postgres_url)

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_postgresql_is_never_migrated_by_serve(
    empty_postgres_database: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=empty_postgres_database,
        secret_key="s" * 40,
        log_key_file=tmp_path / "log-key",
    )
    with pytest.raises(SchemaNotCurrentError, match="votes db upgrade"):
        asyncio.run(prepare_database(settings))
    assert _revision(settings) is None


def test_serve_refuses_an_unmigrated_postgresql_naming_the_command(
    empty_postgres_database: str, tmp_path: Path
) -> None:
    env = _env(
        tmp_path,
        VOTES_DATABASE_URL=empty_postgres_database,
        VOTES_SECRET_KEY="s" * 40,
        VOTES_LOG_KEY_FILE=str(tmp_path / "log-key"),
    )
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 1
    assert "votes db upgrade" in result.output


def test_serve_refuses_bad_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "70000"], env=_env(tmp_path))
    assert result.exit_code == 1
    assert "VOTES_PORT" in result.output


@pytest.fixture
def migrated_dir(tmp_path: Path, sqlite_template: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / "votes.db")
    return data


def test_create_staff_from_stdin_makes_an_account_that_can_log_in(migrated_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["admin", "create-staff", "--username", "boss", "--role", "operator", "--password-stdin"],
        input=PASSWORD + "\n",
        env=_env(migrated_dir),
    )
    assert result.exit_code == 0, result.output
    assert "boss" in result.output

    async def check() -> str:
        ctx = await build_context(Settings(data_dir=migrated_dir, **FAST_ARGON2))
        try:
            actor = await accounts.authenticate(ctx, "boss", PASSWORD)
            return actor.role.value
        finally:
            await ctx.close()

    assert asyncio.run(check()) == "operator"


def test_create_staff_refuses_a_short_password(migrated_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "admin",
            "create-staff",
            "--username",
            "boss",
            "--role",
            "operator",
            "--password",
            "short",
        ],
        env=_env(migrated_dir),
    )
    assert result.exit_code == 1
    assert "password" in result.output


def test_create_staff_needs_exactly_one_password_source(migrated_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["admin", "create-staff", "--username", "boss", "--role", "operator"],
        env=_env(migrated_dir),
    )
    assert result.exit_code == 2
    assert "--password" in result.output


def test_create_staff_on_an_unmigrated_database_names_the_upgrade_command(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        main,
        ["admin", "create-staff", "--username", "b", "--role", "operator", "--password", PASSWORD],
        env=_env(tmp_path / "fresh"),
    )
    assert result.exit_code == 1
    assert "votes db upgrade" in result.output


def test_create_convener_for_an_unknown_estate_is_refused(migrated_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "admin",
            "create-staff",
            "--username",
            "c",
            "--role",
            "convener",
            "--password",
            PASSWORD,
            "--estate",
            "42",
        ],
        env=_env(migrated_dir),
    )
    assert result.exit_code == 1
    assert "estate_not_found" in result.output
