"""Staff accounts, their scopes, officer keys and the audit trail of staff actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from votes.enums import StaffRole
from votes.storage.models.base import Base, Json, Key, enum_type, utcnow

__all__ = [
    "AuditEvent",
    "OfficerKey",
    "StaffAccount",
    "StaffEstateScope",
    "StaffSubdistrictScope",
]


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id PHC string
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffEstateScope(Base):
    """A convener may act on this estate."""

    __tablename__ = "staff_estate_scopes"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StaffSubdistrictScope(Base):
    """An officer may act in this subdistrict (a region of level ``subdistrict``)."""

    __tablename__ = "staff_subdistrict_scopes"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    subdistrict_id: Mapped[int] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OfficerKey(Base):
    """An officer's enrolled Ed25519 public key; the private key never reaches the server."""

    __tablename__ = "officer_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    officer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT"), index=True
    )
    public_key: Mapped[bytes] = mapped_column(Key, unique=True)
    # Signed-note key name and 4-byte key id (C2SP signed-note), as the
    # cosignature lines name them.
    note_name: Mapped[str] = mapped_column(String(200))
    note_key_id: Mapped[bytes] = mapped_column()
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuditEvent(Base):
    """One staff action. ``estate_id`` is NULL for platform-level actions (regions, accounts)."""

    __tablename__ = "audit_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    estate_id: Mapped[int | None] = mapped_column(index=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT"), index=True
    )
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
