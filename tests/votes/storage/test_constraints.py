"""Keys and constraints the service relies on, checked by the database itself."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.votes.storage.conftest import make_meeting
from votes.enums import ObjectionState, StaffRole
from votes.model import Channel
from votes.storage.models import (
    Ballot,
    Building,
    Meeting,
    MeetingCode,
    Objection,
    StaffAccount,
    Unit,
)

Sessions = async_sessionmaker[AsyncSession]


def _ballot(estate_id: int, meeting_id: uuid.UUID, raw: bytes, log_index: int) -> Ballot:
    return Ballot(
        estate_id=estate_id,
        meeting_id=meeting_id,
        ballot_hash=hashlib.sha256(raw).digest(),
        member_id="member:1-101",
        public_key=b"\x01" * 32,
        channel=Channel.ONLINE,
        raw=raw,
        signature=b"\x02" * 64,
        log_index=log_index,
    )


async def test_a_ballot_hash_is_stored_once_per_meeting(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(_ballot(estate_id, meeting_id, b"ballot", 0))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(_ballot(estate_id, meeting_id, b"ballot", 1))


async def test_the_same_ballot_hash_may_appear_in_another_meeting(sessions: Sessions) -> None:
    estate_a, meeting_a = await make_meeting(sessions)
    estate_b, meeting_b = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(_ballot(estate_a, meeting_a, b"ballot", 0))
        session.add(_ballot(estate_b, meeting_b, b"ballot", 0))
    async with sessions() as session:
        assert len((await session.scalars(select(Ballot))).all()) == 2


async def test_two_ballots_cannot_share_a_log_index(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(_ballot(estate_id, meeting_id, b"first", 7))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(_ballot(estate_id, meeting_id, b"second", 7))


async def test_a_unit_number_is_unique_within_an_estate_only(sessions: Sessions) -> None:
    estate_a, _ = await make_meeting(sessions)
    estate_b, _ = await make_meeting(sessions)
    async with sessions.begin() as session:
        for estate_id in (estate_a, estate_b):
            building = Building(estate_id=estate_id, name="1")
            session.add(building)
            await session.flush()
            session.add(Unit(estate_id=estate_id, number="1-101", building_id=building.id, area=1))
    async with sessions() as session:
        building_id = await session.scalar(
            select(Building.id).where(Building.estate_id == estate_a)
        )
        assert building_id is not None
        session.add(Unit(estate_id=estate_a, number="1-101", building_id=building_id, area=2))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_a_unit_must_belong_to_an_existing_building(sessions: Sessions) -> None:
    estate_id, _ = await make_meeting(sessions)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(Unit(estate_id=estate_id, number="9-901", building_id=uuid.uuid4(), area=1))


async def test_areas_beyond_32_bits_are_stored_exactly(sessions: Sessions) -> None:
    estate_id, _ = await make_meeting(sessions)
    area = 2**40 + 1  # 0.01 m²; far beyond a 32-bit integer
    async with sessions.begin() as session:
        building = Building(estate_id=estate_id, name="A")
        session.add(building)
        await session.flush()
        session.add(Unit(estate_id=estate_id, number="A-1", building_id=building.id, area=area))
    async with sessions() as session:
        assert await session.scalar(select(Unit.area).where(Unit.number == "A-1")) == area


async def test_staff_usernames_are_unique(sessions: Sessions) -> None:
    def staff() -> StaffAccount:
        return StaffAccount(
            username="zhang", display_name="张", role=StaffRole.CONVENER, password_hash="x"
        )

    async with sessions.begin() as session:
        session.add(staff())
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(staff())


async def test_a_public_meeting_code_names_one_meeting(sessions: Sessions) -> None:
    estate_a, meeting_a = await make_meeting(sessions)
    estate_b, meeting_b = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(MeetingCode(code="ABC123", estate_id=estate_a, meeting_id=meeting_a))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(MeetingCode(code="ABC123", estate_id=estate_b, meeting_id=meeting_b))


async def test_instants_come_back_as_the_same_utc_instant(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    shanghai = timezone(timedelta(hours=8))
    deadline = datetime(2026, 3, 1, 20, 0, 0, 123456, tzinfo=shanghai)
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, (estate_id, meeting_id))
        assert meeting is not None
        meeting.close_at = deadline
    async with sessions() as session:
        stored = await session.scalar(select(Meeting.close_at).where(Meeting.id == meeting_id))
    assert stored == deadline
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def test_naive_datetimes_are_refused(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions() as session:
        meeting = await session.get(Meeting, (estate_id, meeting_id))
        assert meeting is not None
        meeting.close_at = datetime(2026, 3, 1, 12, 0)  # no time zone
        with pytest.raises(StatementError, match="naive datetime"):
            await session.commit()


def _objection(estate_id: int, meeting_id: uuid.UUID, nonce: str | None) -> Objection:
    return Objection(
        estate_id=estate_id,
        meeting_id=meeting_id,
        member_id="member:1-101",
        subject="roster",
        text="异议",
        nonce=nonce,
        state=ObjectionState.OPEN,
    )


async def test_an_objection_nonce_is_used_once_per_member_and_meeting(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(_objection(estate_id, meeting_id, "ab" * 16))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(_objection(estate_id, meeting_id, "ab" * 16))


async def test_objections_without_a_nonce_never_collide(sessions: Sessions) -> None:
    estate_id, meeting_id = await make_meeting(sessions)
    async with sessions.begin() as session:
        session.add(_objection(estate_id, meeting_id, None))
        session.add(_objection(estate_id, meeting_id, None))
    async with sessions() as session:
        assert len((await session.scalars(select(Objection))).all()) == 2
