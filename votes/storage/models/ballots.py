"""Ballots as received: the exact signed bytes, kept forever with their log index."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from votes.model import Channel
from votes.storage.models.base import Base, Hash, Key, enum_type, utcnow

__all__ = ["Ballot"]


class Ballot(Base):
    """One received ballot. ``raw`` is the canonical JSON exactly as signed.

    The hash is unique per meeting (an idempotent retry finds the first row),
    and so is the log index (one ballot per log entry).
    """

    __tablename__ = "ballots"
    __table_args__ = (
        ForeignKeyConstraint(
            ["estate_id", "meeting_id"],
            ["meetings.estate_id", "meetings.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("estate_id", "meeting_id", "log_index"),
        Index(None, "estate_id", "meeting_id", "member_id"),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ballot_hash: Mapped[bytes] = mapped_column(Hash, primary_key=True)  # SHA-256 of raw
    member_id: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[bytes] = mapped_column(Key)  # credential (or service key for paper)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    raw: Mapped[bytes] = mapped_column()
    signature: Mapped[bytes] = mapped_column()
    log_index: Mapped[int] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Paper and proxy ballots: the staff member who entered it, the SHA-256 of
    # the scanned sheet / written authorisation, and who held the proxy.
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    evidence_sha256: Mapped[bytes | None] = mapped_column(Hash)
    proxy_holder: Mapped[str | None] = mapped_column(String(200))
