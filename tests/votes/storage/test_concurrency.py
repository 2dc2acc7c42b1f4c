"""Concurrent appends to one meeting's log: no gap, no duplicate index, no fork.

Appenders race from several tasks with their own sessions, from two engines
(separate connection pools), and from two separate OS processes. Afterwards
the log must hold every entry exactly once at consecutive indexes, each entry
at the index its builder was given, with the root recomputed from the entries
by the RFC 9162 definition.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crypto.merkle import verify_inclusion
from tests.conftest import REPO_ROOT
from tests.databases import Backend
from tests.votes.storage.append_worker import entry_builder
from tests.votes.storage.conftest import make_meeting
from tests.votes.storage.reference import mth
from votes.storage import (
    append_entries,
    append_entry,
    create_session_factory,
    get_entries,
    get_head,
    inclusion_proof,
)
from votes.storage.models import LogNode

Sessions = async_sessionmaker[AsyncSession]


async def _appender(
    sessions: Sessions, estate_id: int, meeting_id: uuid.UUID, tag: str, count: int
) -> None:
    for seq in range(count):
        async with sessions.begin() as session:
            await append_entry(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                build=entry_builder(tag, seq),
            )


async def _check_log(
    sessions: Sessions, estate_id: int, meeting_id: uuid.UUID, expected: Counter[tuple[str, str]]
) -> None:
    total = sum(expected.values())
    async with sessions() as session:
        entries = await get_entries(session, estate_id=estate_id, meeting_id=meeting_id)
        head = await get_head(session, estate_id=estate_id, meeting_id=meeting_id)
        node_count = await session.scalar(
            select(func.count())
            .select_from(LogNode)
            .where(LogNode.estate_id == estate_id, LogNode.meeting_id == meeting_id)
        )
        last = total - 1
        proof = await inclusion_proof(
            session, estate_id=estate_id, meeting_id=meeting_id, index=last // 2, size=total
        )

    decoded = [entry.decode().split("|") for entry in entries]
    # Gapless, each entry at the index it was built for.
    assert [int(index) for index, _tag, _seq in decoded] == list(range(total))
    # Every appended entry exactly once (no loss, no duplicate).
    assert Counter((tag, seq) for _index, tag, seq in decoded) == expected
    assert head is not None
    assert head.size == total
    assert head.root == mth(entries)
    # One stored node per perfect subtree: sum over levels of floor(n / 2^level).
    assert node_count == sum(total >> level for level in range(total.bit_length()))
    verify_inclusion(
        leaf_hash=hashlib.sha256(b"\x00" + entries[last // 2]).digest(),
        index=last // 2,
        size=total,
        proof=proof,
        root=mth(entries),
    )


async def _batch_appender(
    sessions: Sessions, estate_id: int, meeting_id: uuid.UUID, tag: str, *, batches: int, size: int
) -> None:
    for batch in range(batches):
        async with sessions.begin() as session:
            await append_entries(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                builds=[entry_builder(tag, batch * size + n) for n in range(size)],
            )


def _expected(tags: list[str], count: int) -> Counter[tuple[str, str]]:
    return Counter((tag, str(seq)) for tag in tags for seq in range(count))


async def test_concurrent_sessions_of_one_engine_append_without_gaps_or_duplicates(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    tags = [f"task{n}" for n in range(8)]
    await asyncio.gather(*(_appender(sessions, estate_id, meeting_id, tag, 10) for tag in tags))
    await _check_log(sessions, estate_id, meeting_id, _expected(tags, 10))


async def test_two_engines_append_to_one_meeting_without_gaps_or_duplicates(
    db_backend: Backend, sessions: Sessions
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    other_engine = db_backend.engine()
    other = create_session_factory(other_engine)
    try:
        tags = [f"e{n}" for n in range(6)]
        await asyncio.gather(
            *(
                _appender(sessions if n % 2 else other, estate_id, meeting_id, tag, 8)
                for n, tag in enumerate(tags)
            )
        )
    finally:
        await other_engine.dispose()
    await _check_log(sessions, estate_id, meeting_id, _expected(tags, 8))


async def test_two_processes_append_to_one_meeting_without_gaps_or_duplicates(
    db_backend: Backend, sessions: Sessions
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    search_path = db_backend.connect_args.get("server_settings", {}).get("search_path", "-")
    tags = ["proc-a", "proc-b"]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.votes.storage.append_worker",
            str(db_backend.settings.database_url),
            search_path,
            str(estate_id),
            str(meeting_id),
            tag,
            "25",
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in tags
    ]
    # This process appends too while the workers run.
    await _appender(sessions, estate_id, meeting_id, "parent", 25)
    for worker in workers:
        _out, err = await worker.communicate()
        assert worker.returncode == 0, err.decode()
    await _check_log(sessions, estate_id, meeting_id, _expected([*tags, "parent"], 25))


async def test_batch_and_single_appenders_interleave_without_gaps_or_duplicates(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    await asyncio.gather(
        _batch_appender(sessions, estate_id, meeting_id, "batch-a", batches=5, size=6),
        _batch_appender(sessions, estate_id, meeting_id, "batch-b", batches=6, size=5),
        _appender(sessions, estate_id, meeting_id, "single", 30),
    )
    await _check_log(
        sessions, estate_id, meeting_id, _expected(["batch-a", "batch-b", "single"], 30)
    )
