"""The per-meeting Merkle log in the database: appends and proofs.

The invariant this module keeps is "no acknowledged ballot is ever lost, and
the log never forks": :func:`append_entry` runs *inside the caller's
transaction*, so the entry, its tree nodes and the ballot row it records are
committed together or not at all; and it first locks the meeting's
``log_heads`` row (PostgreSQL ``SELECT … FOR UPDATE``; on SQLite the write
transaction already holds the database write lock, see votes.storage.db), so
concurrent appenders — tasks, sessions or processes — take turns, each
seeing the size its predecessor committed. Gaps and duplicate indexes are
impossible: the index is the locked head's size, and (meeting, index) is a
primary key.

Proofs read the O(log n) perfect nodes that the crypto.merkle plans name, in
one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Executable,
    Table,
    TextClause,
    bindparam,
    insert,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    MissingNodeError,
    NodeId,
    ProofError,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    root_plan,
)
from votes.storage.models import LogEntry, LogHead, LogNode
from votes.storage.models.base import utcnow

__all__ = [
    "AppendResult",
    "CoInsert",
    "LockedHead",
    "LogHeadState",
    "LogRangeError",
    "append_entries",
    "append_entry",
    "consistency_proof",
    "get_entries",
    "get_head",
    "get_root",
    "inclusion_proof",
    "lock_head",
    "lock_head_state",
]


class LogRangeError(ValueError):
    """A size or index beyond the end of the log, or otherwise out of range."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    index: int  # 0-based index of the new entry
    leaf_hash: bytes
    size: int  # log size after the append (index + 1)
    root: bytes  # root hash of the log at that size


@dataclass(frozen=True, slots=True)
class LogHeadState:
    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class CoInsert:
    """Rows of another table written together with the entries (a ballot row per entry).

    ``rows(results)`` gets the appended entries and returns the rows (column name ->
    value, the same columns in every row). On PostgreSQL they go into the same
    statement as the entries, nodes and head (one round trip less under the head lock).
    """

    table: Table
    rows: Callable[[Sequence[AppendResult]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class LockedHead:
    """The log head as locked by :func:`lock_head_state`, valid in that transaction only."""

    estate_id: int
    meeting_id: uuid.UUID
    size: int
    frontier: bytes  # packed frontier hashes


# Core statements over the tables, built once: the append path runs for every batch of
# ballots, and ORM-enabled statements (compile state, bulk-persistence bookkeeping, a
# fresh cache key per call) cost more Python than the rows themselves.
_HEADS = cast(Table, LogHead.__table__)
_ENTRIES = cast(Table, LogEntry.__table__)
_NODES = cast(Table, LogNode.__table__)
_LOCK_HEAD = (
    select(_HEADS.c.size, _HEADS.c.frontier)
    .where(_HEADS.c.estate_id == bindparam("estate"), _HEADS.c.meeting_id == bindparam("meeting"))
    .with_for_update()
)
_MOVE_HEAD = (
    update(_HEADS)
    .where(
        _HEADS.c.estate_id == bindparam("estate"),
        _HEADS.c.meeting_id == bindparam("meeting"),
        _HEADS.c.size == bindparam("old_size"),
    )
    .values(size=bindparam("size"), frontier=bindparam("frontier"), root=bindparam("root"))
)
_INSERT_ENTRIES = insert(_ENTRIES)
_INSERT_NODES = insert(_NODES)
# PostgreSQL: the entries, their nodes and the head move in ONE statement (one round trip,
# one prepared statement whatever the batch size: the rows go as arrays through unnest).
# Data-modifying CTEs all run, referenced or not; the UPDATE's row count checks the head.
_APPEND_PG_SQL = """
    WITH new_entries AS (
        INSERT INTO log_entries (estate_id, meeting_id, index, entry, leaf_hash, created_at)
        SELECT :estate, :meeting, e.i, e.entry, e.leaf, :now
        FROM unnest(CAST(:e_index AS BIGINT[]), CAST(:e_entry AS BYTEA[]),
                    CAST(:e_leaf AS BYTEA[])) AS e(i, entry, leaf)
    ), new_nodes AS (
        INSERT INTO log_nodes (estate_id, meeting_id, level, index, hash)
        SELECT :estate, :meeting, n.level, n.i, n.hash
        FROM unnest(CAST(:n_level AS SMALLINT[]), CAST(:n_index AS BIGINT[]),
                    CAST(:n_hash AS BYTEA[])) AS n(level, i, hash)
    ){co_insert}
    UPDATE log_heads
    SET size = :size, frontier = :frontier, root = :root, updated_at = :now
    WHERE estate_id = :estate AND meeting_id = :meeting AND size = :old_size
    """
_APPEND_PG_STATEMENTS: dict[tuple[str, tuple[str, ...]], TextClause] = {}


def _append_pg(dialect: Dialect, co_table: Table | None, columns: tuple[str, ...]) -> TextClause:
    """The PostgreSQL append statement, with an INSERT into ``co_table`` if given (cached)."""
    key = ("" if co_table is None else co_table.name, columns)
    statement = _APPEND_PG_STATEMENTS.get(key)
    if statement is None:
        extra = ""
        if co_table is not None:
            quote = dialect.identifier_preparer.quote
            arrays = ", ".join(
                f"CAST(:co_{i} AS {co_table.c[name].type.compile(dialect=dialect)}[])"
                for i, name in enumerate(columns)
            )
            extra = (
                f", new_rows AS (INSERT INTO {quote(co_table.name)} "
                f"({', '.join(quote(name) for name in columns)}) SELECT * FROM unnest({arrays}))"
            )
        statement = text(_APPEND_PG_SQL.format(co_insert=extra)).bindparams(
            bindparam("estate", type_=_HEADS.c.estate_id.type),
            bindparam("meeting", type_=_HEADS.c.meeting_id.type),
            bindparam("now", type_=_HEADS.c.updated_at.type),
        )
        _APPEND_PG_STATEMENTS[key] = statement
    return statement


def _co_arrays(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> tuple[tuple[str, ...], dict[str, list[Any]]]:
    """Column names and one array per column, each value as the column's type binds it."""
    columns = tuple(rows[0])
    dialect = session.get_bind().dialect
    arrays: dict[str, list[Any]] = {}
    for i, name in enumerate(columns):
        process = table.c[name].type.bind_processor(dialect)
        values = [row[name] for row in rows]
        arrays[f"co_{i}"] = values if process is None else [process(v) for v in values]
    return columns, arrays


async def _lock_head(
    session: AsyncSession, estate_id: int, meeting_id: uuid.UUID
) -> tuple[int, bytes] | None:
    row = (
        await session.execute(_LOCK_HEAD, {"estate": estate_id, "meeting": meeting_id})
    ).one_or_none()
    return None if row is None else (row.size, row.frontier)


async def _create_head(session: AsyncSession, estate_id: int, meeting_id: uuid.UUID) -> None:
    values = {
        "estate_id": estate_id,
        "meeting_id": meeting_id,
        "size": 0,
        "frontier": b"",
        "root": EMPTY_ROOT,
    }
    dialect = session.get_bind().dialect.name
    # Two first appenders may race to create the head: the loser's insert does
    # nothing, and its SELECT … FOR UPDATE then waits for the winner.
    if dialect == "postgresql":
        await session.execute(pg_insert(LogHead).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        await session.execute(sqlite_insert(LogHead).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def _split(size: int, packed: bytes) -> Frontier:
    hashes = [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]
    return Frontier.from_list(size, hashes)


async def lock_head(session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID) -> int:
    """Lock the meeting's log head for the rest of the caller's transaction; return its size.

    For a caller that reads state and decides what to append with no other
    appender slipping in between (a batch of ballots checking the duplicate
    policy). :func:`append_entries` in the same transaction finds the lock held.
    """
    head = await _lock_head(session, estate_id, meeting_id)
    if head is None:
        await _create_head(session, estate_id, meeting_id)
        head = await _lock_head(session, estate_id, meeting_id)
        assert head is not None
    return head[0]


async def lock_head_state(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID
) -> LockedHead:
    """:func:`lock_head`, returning the locked head itself: handed to :func:`append_entries`
    in the SAME transaction, it spares that function locking (and reading) the head again."""
    head = await _lock_head(session, estate_id, meeting_id)
    if head is None:
        await _create_head(session, estate_id, meeting_id)
        head = await _lock_head(session, estate_id, meeting_id)
        assert head is not None
    return LockedHead(estate_id=estate_id, meeting_id=meeting_id, size=head[0], frontier=head[1])


async def append_entry(
    session: AsyncSession,
    *,
    estate_id: int,
    meeting_id: uuid.UUID,
    build: Callable[[int], bytes],
) -> AppendResult:
    """Append one entry to the meeting's log inside the caller's transaction.

    ``build(index)`` is called with the locked next index and returns the
    entry bytes, so an entry can embed its own index. If it raises, nothing
    is written (the caller rolls back). The caller commits; until then other
    appenders to the same meeting wait.
    """
    (result,) = await append_entries(
        session, estate_id=estate_id, meeting_id=meeting_id, builds=[build]
    )
    return result


async def append_entries(
    session: AsyncSession,
    *,
    estate_id: int,
    meeting_id: uuid.UUID,
    builds: Sequence[Callable[[int], bytes]],
    locked: LockedHead | None = None,
    co_insert: CoInsert | None = None,
) -> list[AppendResult]:
    """Append several entries at consecutive indexes under one lock and one transaction.

    The same contract as :func:`append_entry`, for batching: a process that
    collects the ballots arriving within a few milliseconds and appends them
    together pays for one lock and one commit instead of one per ballot.
    ``locked``: the head :func:`lock_head_state` returned in this transaction
    (its lock is still held), so it is not locked again. A head from another
    transaction is caught: the head update below then matches no row.
    ``co_insert``: rows of another table stored with the entries (see :class:`CoInsert`).
    """
    if not builds:
        return []
    if locked is None:
        locked = await lock_head_state(session, estate_id=estate_id, meeting_id=meeting_id)
    elif (locked.estate_id, locked.meeting_id) != (estate_id, meeting_id):
        raise ValueError(
            f"locked head of meeting {locked.meeting_id} given to append to meeting {meeting_id}"
        )
    old_size, packed = locked.size, locked.frontier
    frontier = _split(old_size, packed)

    entry_rows: list[dict[str, object]] = []
    node_rows: list[dict[str, object]] = []
    results: list[AppendResult] = []
    for build in builds:
        index = frontier.size
        entry = build(index)
        if not isinstance(entry, bytes):
            raise TypeError(f"build({index}) must return bytes, not {type(entry).__name__}")
        leaf = leaf_hash(entry)
        frontier, nodes = frontier.append(leaf)
        entry_rows.append(
            {
                "estate_id": estate_id,
                "meeting_id": meeting_id,
                "index": index,
                "entry": entry,
                "leaf_hash": leaf,
            }
        )
        node_rows.extend(
            {
                "estate_id": estate_id,
                "meeting_id": meeting_id,
                "level": level,
                "index": node_index,
                "hash": value,
            }
            for (level, node_index), value in nodes
        )
        results.append(
            AppendResult(index=index, leaf_hash=leaf, size=index + 1, root=frontier.root())
        )

    head_values = {
        "estate": estate_id,
        "meeting": meeting_id,
        "old_size": old_size,
        "size": frontier.size,
        "frontier": b"".join(frontier.hashes),
        "root": frontier.root(),
    }
    co_rows = [] if co_insert is None else co_insert.rows(results)
    if session.get_bind().dialect.name == "postgresql":
        co_columns: tuple[str, ...] = ()
        co_values: dict[str, list[Any]] = {}
        if co_insert is not None and co_rows:
            co_columns, co_values = _co_arrays(session, co_insert.table, co_rows)
        result = await session.execute(
            _append_pg(
                session.get_bind().dialect,
                co_insert.table if co_columns and co_insert else None,
                co_columns,
            ),
            {
                **head_values,
                **co_values,
                "now": utcnow(),
                "e_index": [row["index"] for row in entry_rows],
                "e_entry": [row["entry"] for row in entry_rows],
                "e_leaf": [row["leaf_hash"] for row in entry_rows],
                "n_level": [row["level"] for row in node_rows],
                "n_index": [row["index"] for row in node_rows],
                "n_hash": [row["hash"] for row in node_rows],
            },
        )
    else:
        await session.execute(_INSERT_ENTRIES, entry_rows)
        if node_rows:
            await session.execute(_INSERT_NODES, node_rows)
        result = await session.execute(_MOVE_HEAD, head_values)
        if co_insert is not None and co_rows:
            await session.execute(insert(co_insert.table), co_rows)
    # The row is locked; a mismatch means the locking above is broken.
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(
            f"log head of meeting {meeting_id} moved while locked at size {old_size}"
        )
    return results


async def get_head(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID
) -> LogHeadState | None:
    """The current size and root of the meeting's log (None if it has no log yet)."""
    row = (
        await session.execute(
            select(LogHead.size, LogHead.root).where(
                LogHead.estate_id == estate_id, LogHead.meeting_id == meeting_id
            )
        )
    ).one_or_none()
    return None if row is None else LogHeadState(size=row.size, root=row.root)


async def _fetch_nodes(
    session: AsyncSession, estate_id: int, meeting_id: uuid.UUID, ids: Sequence[NodeId]
) -> dict[NodeId, bytes]:
    if not ids:
        return {}
    columns = (LogNode.level, LogNode.idx, LogNode.hash)
    key = (LogNode.estate_id == estate_id, LogNode.meeting_id == meeting_id)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's planner uses only the (estate, meeting) prefix of the key
        # for a row-value IN or a long OR — a scan of the meeting's whole
        # tree. One primary-key lookup per node, in one statement, instead.
        statement: Executable = union_all(
            *(
                select(*columns).where(*key, LogNode.level == level, LogNode.idx == index)
                for level, index in ids
            )
        )
    else:
        statement = select(*columns).where(*key, tuple_(LogNode.level, LogNode.idx).in_(list(ids)))
    rows = await session.execute(statement)
    return {(level, index): value for level, index, value in rows}


async def _explain_missing(
    session: AsyncSession, estate_id: int, meeting_id: uuid.UUID, size: int, error: Exception
) -> Exception:
    head = await get_head(session, estate_id=estate_id, meeting_id=meeting_id)
    current = 0 if head is None else head.size
    if size > current:
        return LogRangeError(
            f"the log of meeting {meeting_id} has {current} entries; size {size} requested"
        )
    # Inside the log, yet a node is missing: the stored tree is damaged.
    return RuntimeError(f"log of meeting {meeting_id} is missing a stored node: {error}")


async def get_root(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID, size: int
) -> bytes:
    """The root hash of the first ``size`` entries of the meeting's log."""
    try:
        plan = root_plan(size)
    except ProofError as exc:
        raise LogRangeError(str(exc)) from exc
    hashes = await _fetch_nodes(session, estate_id, meeting_id, plan.nodes)
    try:
        return plan.assemble(hashes)
    except MissingNodeError as exc:
        raise await _explain_missing(session, estate_id, meeting_id, size, exc) from exc


async def inclusion_proof(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID, index: int, size: int
) -> list[bytes]:
    """The RFC 9162 inclusion proof of entry ``index`` in the log of ``size`` entries."""
    try:
        plan = inclusion_plan(index, size)
    except ProofError as exc:
        raise LogRangeError(str(exc)) from exc
    hashes = await _fetch_nodes(session, estate_id, meeting_id, plan.nodes)
    try:
        return plan.assemble(hashes)
    except MissingNodeError as exc:
        raise await _explain_missing(session, estate_id, meeting_id, size, exc) from exc


async def consistency_proof(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID, size1: int, size2: int
) -> list[bytes]:
    """The RFC 9162 consistency proof from ``size1`` to ``size2`` (``0 < size1 <= size2``)."""
    try:
        plan = consistency_plan(size1, size2)
    except ProofError as exc:
        raise LogRangeError(str(exc)) from exc
    if not plan.nodes:
        # Equal sizes need no node, so no missing node would reveal a size past the log.
        head = await get_head(session, estate_id=estate_id, meeting_id=meeting_id)
        current = 0 if head is None else head.size
        if size2 > current:
            raise LogRangeError(
                f"the log of meeting {meeting_id} has {current} entries; size {size2} requested"
            )
    hashes = await _fetch_nodes(session, estate_id, meeting_id, plan.nodes)
    try:
        return plan.assemble(hashes)
    except MissingNodeError as exc:
        raise await _explain_missing(session, estate_id, meeting_id, size2, exc) from exc


async def get_entries(
    session: AsyncSession,
    *,
    estate_id: int,
    meeting_id: uuid.UUID,
    start: int = 0,
    stop: int | None = None,
) -> list[bytes]:
    """Entries ``start`` (inclusive) to ``stop`` (exclusive, default: the end), in order."""
    if start < 0 or (stop is not None and stop < start):
        raise LogRangeError(f"invalid entry range [{start}, {stop})")
    statement = (
        select(LogEntry.entry)
        .where(
            LogEntry.estate_id == estate_id,
            LogEntry.meeting_id == meeting_id,
            LogEntry.idx >= start,
        )
        .order_by(LogEntry.idx)
    )
    if stop is not None:
        statement = statement.where(LogEntry.idx < stop)
    return list((await session.execute(statement)).scalars())
