"""Database backends for the storage contract tests.

``db_backend`` runs each test on SQLite (a fresh temporary file) and on
PostgreSQL (``VOTES_TEST_POSTGRES_URL``; default the local ``test`` database),
where every test gets its own schema through ``search_path`` — so tests and
test processes running in parallel never see each other's tables. The
PostgreSQL case is skipped, with the reason, when the server is unreachable.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.databases import DATABASES, Backend, open_engine, postgres_schema, postgres_url
from votes.enums import RegionLevel
from votes.settings import Settings
from votes.storage import create_session_factory
from votes.storage.models import Estate, Meeting, Region


@pytest.fixture(params=DATABASES)
async def db_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend(name="sqlite", settings=Settings(data_dir=tmp_path / "data"))
        return
    settings = Settings(
        database_url=postgres_url(),
        data_dir=tmp_path,
        secret_key="test-secret-key-" + "x" * 32,
        log_key_file=tmp_path / "log-key",
    )
    async with postgres_schema(settings, "votes_test") as backend:
        yield backend


@pytest.fixture
async def engine(db_backend: Backend) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to the head revision."""
    async with open_engine(db_backend, upgraded=False) as engine:
        yield engine


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def make_meeting(
    sessions: async_sessionmaker[AsyncSession], *, code: str | None = None
) -> tuple[int, uuid.UUID]:
    """Create a region chain, an estate and a meeting; return (estate_id, meeting_id)."""
    async with sessions.begin() as session:
        city = Region(level=RegionLevel.CITY, name=f"city-{uuid.uuid4().hex[:6]}")
        session.add(city)
        await session.flush()
        subdistrict = Region(level=RegionLevel.SUBDISTRICT, name="街道", parent_id=city.id)
        session.add(subdistrict)
        await session.flush()
        estate = Estate(subdistrict_id=subdistrict.id, name="小区")
        session.add(estate)
        await session.flush()
        meeting = Meeting(
            estate_id=estate.id, code=code or uuid.uuid4().hex[:10], title="业主大会会议"
        )
        session.add(meeting)
        await session.flush()
        return estate.id, meeting.id
