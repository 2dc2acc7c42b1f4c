"""Migrations: upgrade/downgrade round trip, schema equals the models, start-up guard."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.databases import Backend
from votes.storage import (
    SchemaNotCurrentError,
    current_revision,
    downgrade,
    ensure_migrated,
    head_revision,
    upgrade,
)
from votes.storage.models import Base

MODEL_TABLES = set(Base.metadata.tables)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_creates_exactly_the_model_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == MODEL_TABLES
        assert await conn.run_sync(_schema_diff) == []


async def test_upgraded_database_is_at_head(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()


async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    engine: AsyncEngine,
) -> None:
    await downgrade(engine, "base")
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set()
    assert await current_revision(engine) is None

    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_schema_diff) == []


async def test_ensure_migrated_accepts_a_database_at_head(engine: AsyncEngine) -> None:
    await ensure_migrated(engine)  # does not raise


async def test_ensure_migrated_refuses_an_empty_database_and_names_the_command(
    db_backend: Backend,
) -> None:
    engine = db_backend.engine()
    try:
        with pytest.raises(SchemaNotCurrentError) as caught:
            await ensure_migrated(engine)
    finally:
        await engine.dispose()
    assert caught.value.found is None
    assert "votes db upgrade" in str(caught.value)
    assert "no schema" in str(caught.value)


async def test_ensure_migrated_refuses_an_unknown_revision_and_says_which(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff99'")
    with pytest.raises(SchemaNotCurrentError) as caught:
        await ensure_migrated(engine)
    assert caught.value.found == "ffff99"
    assert "ffff99" in str(caught.value)
    assert head_revision() in str(caught.value)
