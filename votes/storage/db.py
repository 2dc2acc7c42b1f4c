"""Engines and sessions for SQLite (embedded) and PostgreSQL (production).

SQLite: WAL journal, foreign keys on, a busy timeout, and write transactions
that start with ``BEGIN IMMEDIATE`` — the database write lock is taken when
the transaction starts, so two writers never both read the log head and then
race to extend it (the SQLite counterpart of ``SELECT … FOR UPDATE``).
A read-only session factory starts deferred transactions instead, so readers
never wait for writers (WAL).

PostgreSQL: a pooled connection is pinged before use only if it sat idle in
the pool for :data:`PING_IDLE_SECONDS` or more. SQLAlchemy's ``pool_pre_ping``
costs three round trips on asyncpg (BEGIN, ``;``, ROLLBACK) for EVERY
checkout — on the ballot path a third of a batch's round trips. A busy
connection that breaks anyway fails its statement: SQLAlchemy invalidates
it (and the pool's older connections), the transaction is rolled back, and
the caller gets an error — for ballots the retryable ``ballot_not_stored``
with nothing acknowledged (receipts exist only after a successful commit;
a retry of a ballot whose commit did land returns the same receipt).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from votes.settings import Settings

__all__ = [
    "PING_IDLE_SECONDS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine",
    "create_session_factory",
    "display_url",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Connection execution option naming how a SQLite transaction begins.
_SQLITE_BEGIN: Final = "votes_sqlite_begin"
#: A pooled PostgreSQL connection idle at least this long is pinged before use.
PING_IDLE_SECONDS: Final = 10.0
# Key in a pooled connection's info: when it was last returned to the pool (monotonic).
_IDLE_SINCE: Final = "votes_idle_since"


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(
    settings: Settings,
    *,
    echo: bool = False,
    connect_args: Mapping[str, Any] | None = None,
) -> AsyncEngine:
    """An async engine for ``settings.database_url`` (``connect_args`` go to the driver)."""
    url = make_url(str(settings.database_url))
    extra = dict(connect_args or {})
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = _create_async_engine(url, echo=echo, connect_args=extra)
        _configure_sqlite(engine)
        return engine
    server_settings = {"application_name": "owner-vote", **extra.pop("server_settings", {})}
    engine = _create_async_engine(
        url,
        echo=echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings, **extra},
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        # A new connection has no entry: it was just opened, no ping needed.
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError(f"pooled connection failed its ping: {error!r}") from error


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event (below) issue BEGIN itself, instead of
        # the sqlite3 module's implicit deferred BEGIN before the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # FULL: a committed transaction (a receipted ballot) survives power loss.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(
    engine: AsyncEngine, *, read_only: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for ``engine``; objects stay usable after commit (``expire_on_commit=False``).

    ``read_only=True`` is an optimisation for SQLite (deferred transactions that
    do not take the write lock); on PostgreSQL both factories are the same.
    Writing in a read-only session on SQLite may fail with "database is locked".
    """
    bind = engine
    if read_only and engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"})
    return async_sessionmaker(bind, expire_on_commit=False)
