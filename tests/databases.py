"""The databases and stores the tests run on: SQLite, PostgreSQL, process memory and Redis.

One module for what the conftests of ``tests/votes/storage``, ``tests/votes/service``
and ``tests/web`` share: the :class:`Backend` record a test's engine is made from,
the parametrisation over both databases (:data:`DATABASES`) and both stores
(:data:`STORES`), a migrated SQLite template to copy, a PostgreSQL schema of its
own (``search_path``) so tests and test processes running in parallel never see
each other's tables, emptying the tables between tests, and the rule for a real
service that is absent: skipped, with the reason, locally; a failure in CI
(``VOTES_TEST_REQUIRE_SERVICES=1``).

The conftests keep their own policies on top: the storage tests migrate each
test's database afresh, the web tests copy the template and give each
PostgreSQL test a schema, the service tests copy the template to memory and
share one PostgreSQL schema per session, emptied between tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from votes.settings import Settings
from votes.storage import create_engine, upgrade
from votes.storage.models import Base
from web.stores import FailMode, ResilientStore, redis_client

DEFAULT_POSTGRES_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# The parameters, and so the test ids: ``test_x[sqlite]``, ``test_x[postgresql]``;
# ``test_y[memory]``, ``test_y[redis]``.
DATABASES: Final = ["sqlite", "postgresql"]
STORES: Final = ["memory", "redis"]

# Fast password hashing for tests (the parameters are settings, not code).
FAST_ARGON2: Final[dict[str, Any]] = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_parallelism": 1,
}


def service_unavailable(what: str, url: str, error: object) -> NoReturn:
    """Skip locally when a real service is absent; fail in CI where it is required."""
    message = f"{what} not reachable at {url}: {error}"
    if os.environ.get("VOTES_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def postgres_url() -> str:
    """URL of the real PostgreSQL (asyncpg driver): ``VOTES_TEST_POSTGRES_URL`` or the local one."""
    return os.environ.get("VOTES_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@dataclass
class Backend:
    name: str
    settings: Settings
    connect_args: dict[str, Any] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        """A new engine (its own connection pool) on this test's database."""
        return create_engine(self.settings, connect_args=self.connect_args)


@asynccontextmanager
async def open_engine(backend: Backend, *, upgraded: bool) -> AsyncIterator[AsyncEngine]:
    """An engine on the backend's database (migrated to head first unless ``upgraded``)."""
    engine = backend.engine()
    try:
        if not upgraded:
            await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------- SQLite


def migrate(settings: Settings, connect_args: dict[str, Any] | None = None) -> None:
    """Migrate the database of ``settings`` to the head revision (callable from any thread)."""

    async def run() -> None:
        engine = create_engine(settings, connect_args=connect_args)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    # In a thread of its own: the caller may be inside an event loop (playwright's sync API).
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def sqlite_template(settings: Settings) -> Path:
    """The SQLite file of ``settings``, migrated: a template copied for each test.

    (Copying is faster than migrating each test's database.)
    """
    migrate(settings)
    return settings.data_dir / "votes.db"


def copy_template(template: Path, settings: Settings) -> None:
    """Make a copy of the migrated ``template`` the database of ``settings``."""
    settings.ensure_data_dir()
    shutil.copyfile(template, settings.data_dir / "votes.db")


# ---------------------------------------------------------------------- PostgreSQL


async def create_schema(settings: Settings, schema: str) -> str | None:
    """Create ``schema``; the problem, as text, when the server cannot be used."""
    admin = create_engine(settings)
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except (OSError, DBAPIError) as exc:
        return str(exc)
    finally:
        await admin.dispose()
    return None


async def drop_schema(settings: Settings, schema: str) -> None:
    admin = create_engine(settings)
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.dispose()


def schema_backend(settings: Settings, schema: str, **server_settings: str) -> Backend:
    """The PostgreSQL backend whose connections see only ``schema``."""
    return Backend(
        name="postgresql",
        settings=settings,
        connect_args={"server_settings": {"search_path": schema, **server_settings}},
    )


@asynccontextmanager
async def postgres_schema(settings: Settings, prefix: str) -> AsyncIterator[Backend]:
    """A new, empty schema for one test (dropped afterwards); see :func:`service_unavailable`."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    problem = await create_schema(settings, schema)
    if problem is not None:
        service_unavailable("PostgreSQL", str(settings.database_url), problem)
    try:
        yield schema_backend(settings, schema)
    finally:
        await drop_schema(settings, schema)


async def empty_tables(backend: Backend) -> None:
    """Empty every table (DELETE is much faster than TRUNCATE on small tables)."""
    engine = backend.engine()
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------- stores


def closed_redis_url() -> str:
    """A redis:// URL nobody listens on (the port was just free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def store_url(request: pytest.FixtureRequest) -> str | None:
    """The Redis URL of a test parametrised over :data:`STORES`; None for process memory."""
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@asynccontextmanager
async def resilient_store(
    request: pytest.FixtureRequest, fail_mode: FailMode
) -> AsyncIterator[ResilientStore]:
    """A store of the test's :data:`STORES` parameter; on Redis in a namespace of its own."""
    url = store_url(request)
    if url is None:
        yield ResilientStore(name="t", redis=None, fail_mode=fail_mode)
        return
    made = ResilientStore(
        name="t",
        redis=redis_client(url),
        fail_mode=fail_mode,
        namespace=f"owner-vote-test-{uuid.uuid4().hex}",
    )
    try:
        yield made
    finally:
        await made.delete_all()
        await made.close()
