"""Alembic environment for the vote service.

Run from code (votes.storage.migrate passes an open connection in
``config.attributes["connection"]``) or from the ``alembic`` command with
``-c votes/storage/migrations/alembic.ini`` (then the database comes from
VOTES_DATABASE_URL via votes.settings).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from votes.settings import Settings
from votes.storage.db import create_engine
from votes.storage.models import Base

target_metadata = Base.metadata


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    engine = create_engine(Settings.from_env())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `votes db upgrade`")

_connection = context.config.attributes.get("connection")
if _connection is not None:
    _run_with(_connection)
else:
    asyncio.run(_run_from_settings())
