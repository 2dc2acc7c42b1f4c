"""Meetings and what belongs to one: motions, frozen roster, credentials, objections,
results and certifications. Distributed by ``estate_id`` (docs/storage.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from votes.enums import CertificationDecision, CredentialStatus, MeetingState, ObjectionState
from votes.model import MotionType
from votes.storage.models.base import Base, Hash, Json, Key, enum_type, utcnow

__all__ = [
    "Certification",
    "Credential",
    "Meeting",
    "MeetingCode",
    "Motion",
    "Objection",
    "RosterMember",
    "TallyRecord",
]


def _meeting_fk(ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["estate_id", "meeting_id"], ["meetings.estate_id", "meetings.id"], ondelete=ondelete
    )


class Meeting(Base):
    """An owners' meeting. ``str(id)`` is the meeting id bound into credentials and ballots."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("estate_id", "code"), Index(None, "state", "close_at"))

    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="RESTRICT"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(32))  # short public code used in URLs
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[MeetingState] = mapped_column(enum_type(MeetingState), default=MeetingState.DRAFT)
    # Per-meeting settings shown on the notice (rulebook, duplicate policy,
    # parking, invalid ballots, non-voters, objection days, retention years,
    # proxy cap, publication mode, ...): plain JSON, validated by the service.
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    notice_at: Mapped[datetime | None] = mapped_column()
    open_at: Mapped[datetime | None] = mapped_column()
    close_at: Mapped[datetime | None] = mapped_column()
    roster_root: Mapped[bytes | None] = mapped_column(Hash)
    roster_size: Mapped[int | None] = mapped_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MeetingCode(Base):
    """Global directory: public meeting code -> (estate, meeting).

    A URL carries only the code; this small table finds the estate, so that
    every further query can be routed to that estate's shard. No foreign key
    to ``meetings``: under Citus this is a reference table, and reference
    tables cannot point into distributed ones. Write it in the same
    transaction as the meeting.
    """

    __tablename__ = "meeting_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    estate_id: Mapped[int] = mapped_column()
    meeting_id: Mapped[uuid.UUID] = mapped_column(unique=True)


class Motion(Base):
    __tablename__ = "motions"
    __table_args__ = (_meeting_fk(), UniqueConstraint("estate_id", "meeting_id", "position"))

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # id within the meeting
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(Text)
    item: Mapped[int] = mapped_column()  # Civil Code art 278 item, 1..9
    type: Mapped[MotionType] = mapped_column(enum_type(MotionType), default=MotionType.YES_NO)
    seats: Mapped[int] = mapped_column(default=1)
    candidates: Mapped[list[str]] = mapped_column(Json, default=list)
    scope: Mapped[list[str] | None] = mapped_column(Json)  # building names; NULL = whole estate


class RosterMember(Base):
    """One voting member of a meeting's roster, frozen when the meeting goes to notice.

    ``units`` is the member's units as frozen (number, building, area, kind,
    status, area source), enough to weigh the member under any motion scope.
    The member's credential public keys are in :class:`Credential`.
    """

    __tablename__ = "roster_members"
    __table_args__ = (_meeting_fk(), UniqueConstraint("estate_id", "meeting_id", "position"))

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column()
    is_developer: Mapped[bool] = mapped_column(default=False)
    units: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    area: Mapped[int] = mapped_column()  # all units, 0.01 m² (parking included)
    owner_group: Mapped[str | None] = mapped_column(String(200))


class Credential(Base):
    """A member's credential public key for one meeting (the secret is only on paper)."""

    __tablename__ = "credentials"
    __table_args__ = (
        ForeignKeyConstraint(
            ["estate_id", "meeting_id", "member_id"],
            [
                "roster_members.estate_id",
                "roster_members.meeting_id",
                "roster_members.member_id",
            ],
            ondelete="CASCADE",
        ),
        UniqueConstraint("estate_id", "meeting_id", "letter_serial"),
        Index(None, "estate_id", "meeting_id", "member_id"),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    public_key: Mapped[bytes] = mapped_column(Key, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[CredentialStatus] = mapped_column(
        enum_type(CredentialStatus), default=CredentialStatus.ISSUED
    )
    letter_serial: Mapped[str | None] = mapped_column(String(64))
    replaced_by: Mapped[bytes | None] = mapped_column(Key)
    log_index: Mapped[int | None] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class Objection(Base):
    """An objection by a member (with their credential) or by staff, answered by the officer."""

    __tablename__ = "objections"
    __table_args__ = (
        _meeting_fk(),
        Index(None, "estate_id", "meeting_id", "state"),
        # A member's signed request is recorded once: its nonce never repeats in a
        # meeting (staff-recorded objections have no nonce; NULLs never collide).
        UniqueConstraint("estate_id", "meeting_id", "member_id", "nonce"),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column()
    member_id: Mapped[str | None] = mapped_column(String(100))
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    # roster / agenda / procedure / tally / other (the record's ObjectionEntry.subject).
    subject: Mapped[str] = mapped_column(String(32), default="other", server_default="other")
    text: Mapped[str] = mapped_column(Text)
    # The owner's signed request nonce (32 hex); None for staff-recorded objections.
    nonce: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[ObjectionState] = mapped_column(
        enum_type(ObjectionState), default=ObjectionState.OPEN
    )
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    log_index: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()


class TallyRecord(Base):
    """A computed result: the canonical JSON of the tally and its SHA-256."""

    __tablename__ = "tally_records"
    __table_args__ = (_meeting_fk(), Index(None, "estate_id", "meeting_id"))

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column()
    result: Mapped[bytes] = mapped_column()  # canonical JSON
    result_hash: Mapped[bytes] = mapped_column(Hash)
    signature: Mapped[bytes | None] = mapped_column()  # service log key, Domain.TALLY
    checkpoint_size: Mapped[int | None] = mapped_column()
    log_index: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certification(Base):
    """An officer's decision on a tally: certified (signed) or returned."""

    __tablename__ = "certifications"
    __table_args__ = (_meeting_fk(), Index(None, "estate_id", "meeting_id"))

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column()
    officer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    officer_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("officer_keys.id", ondelete="RESTRICT")
    )
    decision: Mapped[CertificationDecision] = mapped_column(enum_type(CertificationDecision))
    signature: Mapped[bytes | None] = mapped_column()  # Domain.CERTIFICATION
    tally_hash: Mapped[bytes] = mapped_column(Hash)
    checkpoint_size: Mapped[int] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
