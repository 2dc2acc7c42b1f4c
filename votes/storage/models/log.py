"""The per-meeting Merkle log (RFC 9162): entries, stored nodes, head, checkpoints.

``log_heads`` holds one row per meeting: its size, compact frontier and root.
Appends lock that row, so the log is extended by one transaction at a time
(votes.storage.log_repo). ``log_nodes`` keeps every perfect subtree hash, so a
proof or a root is O(log n) rows read in one query.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from votes.enums import CosignatureKind
from votes.storage.models.base import Base, Hash, enum_type, utcnow

__all__ = ["Checkpoint", "Cosignature", "LogEntry", "LogHead", "LogNode"]


def _meeting_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["estate_id", "meeting_id"], ["meetings.estate_id", "meetings.id"], ondelete="CASCADE"
    )


class LogHead(Base):
    __tablename__ = "log_heads"
    __table_args__ = (_meeting_fk(),)

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(default=0)
    # Frontier hashes (largest subtree first), concatenated: 32 bytes each.
    frontier: Mapped[bytes] = mapped_column(default=b"")
    root: Mapped[bytes] = mapped_column(Hash)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LogEntry(Base):
    __tablename__ = "log_entries"
    __table_args__ = (_meeting_fk(),)

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    idx: Mapped[int] = mapped_column("index", primary_key=True)
    entry: Mapped[bytes] = mapped_column()
    leaf_hash: Mapped[bytes] = mapped_column(Hash)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogNode(Base):
    """The hash of the perfect subtree (level, index): leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "log_nodes"
    __table_args__ = (_meeting_fk(),)

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column("index", primary_key=True)
    hash: Mapped[bytes] = mapped_column(Hash)


class Checkpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint signed note) of a meeting's log."""

    __tablename__ = "checkpoints"
    __table_args__ = (_meeting_fk(),)

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(primary_key=True)
    root: Mapped[bytes] = mapped_column(Hash)
    note: Mapped[str] = mapped_column(Text)  # the signed note, exactly as served
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cosignature(Base):
    """An officer's C2SP tlog-cosignature line on a checkpoint."""

    __tablename__ = "cosignatures"
    __table_args__ = (
        ForeignKeyConstraint(
            ["estate_id", "meeting_id", "size"],
            ["checkpoints.estate_id", "checkpoints.meeting_id", "checkpoints.size"],
            ondelete="CASCADE",
        ),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(primary_key=True)
    officer_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("officer_keys.id", ondelete="RESTRICT"), primary_key=True
    )
    kind: Mapped[CosignatureKind] = mapped_column(enum_type(CosignatureKind), primary_key=True)
    line: Mapped[str] = mapped_column(String(1000))  # the signature line of the note
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
