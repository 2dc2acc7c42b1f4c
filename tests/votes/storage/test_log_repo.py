"""The database Merkle log: appends, roots and proofs on both backends."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crypto.merkle import verify_consistency, verify_inclusion
from tests.votes.storage.conftest import make_meeting
from tests.votes.storage.reference import mth
from votes.storage import (
    append_entries,
    append_entry,
    consistency_proof,
    get_entries,
    get_head,
    get_root,
    inclusion_proof,
)
from votes.storage.log_repo import LogRangeError
from votes.storage.models import LogEntry

Sessions = async_sessionmaker[AsyncSession]


def _constant(entry: bytes) -> Callable[[int], bytes]:
    return lambda _index: entry


async def _append_all(
    sessions: Sessions, estate_id: int, meeting_id: uuid.UUID, count: int, tag: str = "e"
) -> list[bytes]:
    entries: list[bytes] = []
    for _ in range(count):
        async with sessions.begin() as session:
            result = await append_entry(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                build=lambda index: f"{tag}{index}".encode(),
            )
        entries.append(f"{tag}{result.index}".encode())
    return entries


async def test_append_assigns_consecutive_indexes_and_reports_the_new_root(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries: list[bytes] = []
    for expected_index in range(5):
        entry = f"entry {expected_index}".encode()
        async with sessions.begin() as session:
            result = await append_entry(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                build=_constant(entry),
            )
        entries.append(entry)
        assert result.index == expected_index
        assert result.size == expected_index + 1
        assert result.leaf_hash == hashlib.sha256(b"\x00" + entry).digest()
        assert result.root == mth(entries)


async def test_build_receives_the_index_the_entry_is_stored_at(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    await _append_all(sessions, estate_id, meeting_id, 4, tag="at-")
    async with sessions() as session:
        stored = await get_entries(session, estate_id=estate_id, meeting_id=meeting_id)
    assert stored == [b"at-0", b"at-1", b"at-2", b"at-3"]


async def test_get_entries_returns_the_requested_range(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries = await _append_all(sessions, estate_id, meeting_id, 6)
    async with sessions() as session:
        middle = await get_entries(
            session, estate_id=estate_id, meeting_id=meeting_id, start=2, stop=5
        )
    assert middle == entries[2:5]


async def test_head_reports_size_and_root_after_commit(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions() as session:
        assert await get_head(session, estate_id=estate_id, meeting_id=meeting_id) is None
    entries = await _append_all(sessions, estate_id, meeting_id, 3)
    async with sessions() as session:
        head = await get_head(session, estate_id=estate_id, meeting_id=meeting_id)
    assert head is not None
    assert (head.size, head.root) == (3, mth(entries))


async def test_root_of_every_past_size_equals_the_reference(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries = await _append_all(sessions, estate_id, meeting_id, 13)
    async with sessions() as session:
        for size in range(len(entries) + 1):
            root = await get_root(session, estate_id=estate_id, meeting_id=meeting_id, size=size)
            assert root == mth(entries[:size]), size


async def test_inclusion_proofs_verify_for_every_entry_and_size(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries = await _append_all(sessions, estate_id, meeting_id, 11)
    async with sessions() as session:
        for size in range(1, len(entries) + 1):
            root = mth(entries[:size])
            for index in range(size):
                proof = await inclusion_proof(
                    session, estate_id=estate_id, meeting_id=meeting_id, index=index, size=size
                )
                verify_inclusion(
                    leaf_hash=hashlib.sha256(b"\x00" + entries[index]).digest(),
                    index=index,
                    size=size,
                    proof=proof,
                    root=root,
                )


async def test_consistency_proofs_verify_between_every_pair_of_sizes(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries = await _append_all(sessions, estate_id, meeting_id, 11)
    async with sessions() as session:
        for size2 in range(1, len(entries) + 1):
            for size1 in range(1, size2 + 1):
                proof = await consistency_proof(
                    session, estate_id=estate_id, meeting_id=meeting_id, size1=size1, size2=size2
                )
                verify_consistency(
                    size1=size1,
                    size2=size2,
                    proof=proof,
                    root1=mth(entries[:size1]),
                    root2=mth(entries[:size2]),
                )


async def test_sizes_and_indexes_beyond_the_log_are_refused(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    await _append_all(sessions, estate_id, meeting_id, 3)
    async with sessions() as session:
        with pytest.raises(LogRangeError, match="has 3 entries"):
            await get_root(session, estate_id=estate_id, meeting_id=meeting_id, size=4)
        with pytest.raises(LogRangeError, match="has 3 entries"):
            await inclusion_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, index=0, size=5
            )
        with pytest.raises(LogRangeError):
            await inclusion_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, index=3, size=3
            )
        with pytest.raises(LogRangeError, match="has 3 entries"):
            await consistency_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, size1=2, size2=4
            )


async def test_consistency_between_equal_sizes_beyond_the_log_is_refused(
    sessions: Sessions,
) -> None:
    # Equal sizes need no stored node, so nothing else would notice the size is too large.
    estate_id, meeting_id = await make_meeting(sessions)
    await _append_all(sessions, estate_id, meeting_id, 3)
    async with sessions() as session:
        assert (
            await consistency_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, size1=3, size2=3
            )
            == []
        )
        with pytest.raises(LogRangeError, match="has 3 entries"):
            await consistency_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, size1=4, size2=4
            )


async def test_a_failing_build_writes_nothing_and_the_index_is_reused(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    await _append_all(sessions, estate_id, meeting_id, 2)

    def refuse(index: int) -> bytes:
        raise ValueError(f"invalid ballot at {index}")

    with pytest.raises(ValueError, match="invalid ballot at 2"):
        async with sessions.begin() as session:
            await append_entry(session, estate_id=estate_id, meeting_id=meeting_id, build=refuse)

    async with sessions.begin() as session:
        result = await append_entry(
            session, estate_id=estate_id, meeting_id=meeting_id, build=lambda i: b"next"
        )
    assert result.index == 2


async def test_a_rolled_back_append_leaves_the_log_unchanged(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    entries = await _append_all(sessions, estate_id, meeting_id, 2)
    async with sessions() as session, session.begin() as transaction:
        await append_entry(
            session, estate_id=estate_id, meeting_id=meeting_id, build=lambda i: b"lost"
        )
        await transaction.rollback()
    async with sessions() as session:
        head = await get_head(session, estate_id=estate_id, meeting_id=meeting_id)
        count = await session.scalar(select(func.count()).select_from(LogEntry))
    assert head is not None
    assert (head.size, head.root, count) == (2, mth(entries), 2)


async def test_logs_of_different_meetings_are_independent(sessions: Sessions) -> None:
    estate_a, meeting_a = await make_meeting(sessions)
    estate_b, meeting_b = await make_meeting(sessions)
    entries_a = await _append_all(sessions, estate_a, meeting_a, 3, tag="a")
    entries_b = await _append_all(sessions, estate_b, meeting_b, 5, tag="b")
    async with sessions() as session:
        head_a = await get_head(session, estate_id=estate_a, meeting_id=meeting_a)
        head_b = await get_head(session, estate_id=estate_b, meeting_id=meeting_b)
    assert head_a is not None
    assert head_b is not None
    assert (head_a.size, head_a.root) == (3, mth(entries_a))
    assert (head_b.size, head_b.root) == (5, mth(entries_b))


async def test_build_must_return_bytes(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    with pytest.raises(TypeError, match="must return bytes"):
        async with sessions.begin() as session:
            await append_entry(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                build=str,  # type: ignore[arg-type]
            )


async def test_a_batch_append_takes_consecutive_indexes_with_each_prefix_root(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    existing = await _append_all(sessions, estate_id, meeting_id, 3)
    async with sessions.begin() as session:
        results = await append_entries(
            session,
            estate_id=estate_id,
            meeting_id=meeting_id,
            builds=[lambda index: f"batch{index}".encode()] * 4,
        )
    entries = [*existing, b"batch3", b"batch4", b"batch5", b"batch6"]
    assert [r.index for r in results] == [3, 4, 5, 6]
    assert [r.root for r in results] == [mth(entries[: n + 1]) for n in range(3, 7)]
    async with sessions() as session:
        assert await get_entries(session, estate_id=estate_id, meeting_id=meeting_id) == entries


async def test_a_batch_with_one_failing_build_writes_nothing(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)

    def refuse(index: int) -> bytes:
        raise ValueError(f"bad entry {index}")

    with pytest.raises(ValueError, match="bad entry 1"):
        async with sessions.begin() as session:
            await append_entries(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                builds=[_constant(b"fine"), refuse, _constant(b"also fine")],
            )
    async with sessions() as session:
        assert await get_head(session, estate_id=estate_id, meeting_id=meeting_id) is None
        assert await get_entries(session, estate_id=estate_id, meeting_id=meeting_id) == []
