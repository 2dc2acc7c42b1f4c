"""``votes db``: create and migrate the database (Alembic, packaged with the program)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from votes.settings import Settings, SettingsError

__all__ = ["db"]

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(f"配置错误 configuration error: {exc}") from exc


def _run(action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    # Imported here so `votes --help` does not load SQLAlchemy and Alembic.
    from votes.storage.db import create_engine  # noqa: PLC0415

    settings = _settings()

    async def main() -> T:
        engine = create_engine(settings)
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except OSError as exc:
        raise click.ClickException(f"无法连接数据库 cannot reach the database: {exc}") from exc


def _where() -> str:
    from votes.storage.db import display_url  # noqa: PLC0415

    return display_url(str(_settings().database_url))


@click.group()
def db() -> None:
    """数据库 Database: create, migrate, inspect (VOTES_DATABASE_URL; default SQLite)."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """升级 Migrate the database forward to REVISION (default: the latest)."""
    from votes.storage import migrate  # noqa: PLC0415

    async def action(engine: AsyncEngine) -> str | None:
        await migrate.upgrade(engine, revision)
        return await migrate.current_revision(engine)

    found = _run(action)
    click.echo(f"数据库已升级 database upgraded: {_where()} at revision {found}")


@db.command()
def current() -> None:
    """当前版本 Show the database's revision and the one this program needs."""
    from votes.storage import migrate  # noqa: PLC0415

    found = _run(migrate.current_revision)
    head = migrate.head_revision()
    state = "最新 up to date" if found == head else f"需要升级 needs `votes db upgrade` to {head}"
    click.echo(f"{_where()}: revision {found or '(none 无)'} — {state}")


@db.command()
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade(revision: str, yes: bool) -> None:
    """降级 Migrate the database back to REVISION ("base" drops every table and its data)."""
    from votes.storage import migrate  # noqa: PLC0415

    if not yes:
        click.confirm(
            f"降级会删除数据 downgrading {_where()} to {revision} may delete data. Continue?",
            abort=True,
        )

    async def action(engine: AsyncEngine) -> str | None:
        await migrate.downgrade(engine, revision)
        return await migrate.current_revision(engine)

    found = _run(action)
    click.echo(f"数据库已降级 database downgraded: {_where()} at revision {found or '(none 无)'}")
