"""Alembic migrations, run from code on an async engine (``votes db upgrade``).

The scripts live beside the models in ``votes/storage/migrations`` and are
found relative to this file, so they work from any directory and from an
installed package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from votes.storage.db import display_url

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaNotCurrentError",
    "alembic_config",
    "current_revision",
    "downgrade",
    "ensure_migrated",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND: Final = "votes db upgrade"


class SchemaNotCurrentError(RuntimeError):
    """The database schema is not at the revision this program needs."""

    def __init__(self, *, url: str, found: str | None, expected: str) -> None:
        self.url = url
        self.found = found
        self.expected = expected
        if found is None:
            problem = "has no schema (no migration has been run)"
            action = f"run `{UPGRADE_COMMAND}` with the same VOTES_DATABASE_URL"
        elif _is_known(found):
            problem = f"is at revision {found}"
            action = f"run `{UPGRADE_COMMAND}` with the same VOTES_DATABASE_URL"
        else:
            problem = f"is at revision {found}, unknown to this version of the program"
            action = "install the newer program that migrated it"
        super().__init__(
            f"database {url} {problem}; this program needs revision {expected}: {action}"
        )


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def _is_known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def _current(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if heads else None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise :class:`SchemaNotCurrentError` unless the database is at the head revision."""
    found = await current_revision(engine)
    expected = head_revision()
    if found != expected:
        raise SchemaNotCurrentError(url=display_url(engine.url), found=found, expected=expected)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database forward to ``revision`` in one transaction."""
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database back to ``revision`` (``base`` removes every table)."""
    await _run(engine, lambda config: command.downgrade(config, revision))


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        # env.py uses this connection instead of opening its own.
        config.attributes["connection"] = connection
        action(config)

    async with engine.begin() as conn:
        await conn.run_sync(run)
