"""The read a ballot batch makes under the log-head lock: the same answer on both backends."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.votes.storage.conftest import make_meeting
from votes.enums import CredentialStatus
from votes.model import Channel
from votes.storage import append_entry
from votes.storage.ballot_repo import lock_and_read_batch
from votes.storage.models import Ballot, Credential, RosterMember

Sessions = async_sessionmaker[AsyncSession]

KEY_A, KEY_A_OLD, KEY_B, KEY_UNKNOWN = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def _ballot(estate_id: int, meeting_id: uuid.UUID, member: str, index: int) -> Ballot:
    raw = f"{member}-{index}".encode()
    return Ballot(
        estate_id=estate_id,
        meeting_id=meeting_id,
        ballot_hash=hashlib.sha256(raw).digest(),
        member_id=member,
        public_key=KEY_A,
        channel=Channel.ONLINE if index == 0 else Channel.PAPER,
        raw=raw,
        signature=b"s" * 64,
        log_index=index,
    )


async def _roster(sessions: Sessions, estate_id: int, meeting_id: uuid.UUID) -> None:
    """Member A (a replaced key and an active one, two ballots) and member B (no ballot)."""
    async with sessions.begin() as session:
        for position, member in enumerate(("A", "B")):
            session.add(
                RosterMember(
                    estate_id=estate_id,
                    meeting_id=meeting_id,
                    member_id=member,
                    position=position,
                    units=[],
                    area=100,
                )
            )
        await session.flush()
        for key, member, status in (
            (KEY_A, "A", CredentialStatus.ISSUED),
            (KEY_A_OLD, "A", CredentialStatus.REVOKED),
            (KEY_B, "B", CredentialStatus.ISSUED),
        ):
            session.add(
                Credential(
                    estate_id=estate_id,
                    meeting_id=meeting_id,
                    public_key=key,
                    member_id=member,
                    status=status,
                )
            )
        session.add_all(_ballot(estate_id, meeting_id, "A", index) for index in (0, 1))
        for _ in range(2):
            await append_entry(
                session,
                estate_id=estate_id,
                meeting_id=meeting_id,
                build=lambda i: f"entry {i}".encode(),
            )


async def test_a_meeting_without_a_log_head_gets_one(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions.begin() as session:
        head, rows = await lock_and_read_batch(
            session, estate_id=estate_id, meeting_id=meeting_id, keys=[KEY_UNKNOWN]
        )
    assert (head.estate_id, head.meeting_id, head.size) == (estate_id, meeting_id, 0)
    assert rows == []


async def test_the_keys_credentials_come_with_every_ballot_of_their_members(
    sessions: Sessions,
) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    await _roster(sessions, estate_id, meeting_id)
    async with sessions.begin() as session:
        head, rows = await lock_and_read_batch(
            session,
            estate_id=estate_id,
            meeting_id=meeting_id,
            keys=[KEY_A, KEY_A_OLD, KEY_B, KEY_UNKNOWN],
        )
    assert head.size == 2
    hashes = [hashlib.sha256(f"A-{index}".encode()).digest() for index in (0, 1)]
    assert sorted(rows, key=repr) == sorted(
        [
            (KEY_A, "A", CredentialStatus.ISSUED, hashes[0], Channel.ONLINE, 0),
            (KEY_A, "A", CredentialStatus.ISSUED, hashes[1], Channel.PAPER, 1),
            (KEY_A_OLD, "A", CredentialStatus.REVOKED, hashes[0], Channel.ONLINE, 0),
            (KEY_A_OLD, "A", CredentialStatus.REVOKED, hashes[1], Channel.PAPER, 1),
            (KEY_B, "B", CredentialStatus.ISSUED, None, None, None),
        ],
        key=repr,
    )
    assert all(
        isinstance(status, CredentialStatus) and (channel is None or isinstance(channel, Channel))
        for _, _, status, _, channel, _ in rows
    )
