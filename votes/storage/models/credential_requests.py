"""Requested credential changes, waiting for the subdistrict officer's signature.

A revocation or replacement of a member's credential is logged only with the
officer's signature over it (docs/verification.md § credential-revoked /
credential-replaced): the convener's request waits here until the officer signs
or refuses it. Distributed by ``estate_id`` like every estate table.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from votes.enums import CredentialChangeKind, CredentialRequestState
from votes.storage.models.base import Base, Hash, Key, enum_type, utcnow

__all__ = ["CredentialRequest"]


class CredentialRequest(Base):
    """A convener's request to revoke or replace one member's credential."""

    __tablename__ = "credential_requests"
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
        Index(None, "estate_id", "meeting_id", "state"),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column()
    member_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[CredentialChangeKind] = mapped_column(enum_type(CredentialChangeKind))
    old_key: Mapped[bytes] = mapped_column(Key)
    # The replacement's public key (its secret was printed once and is not kept).
    new_key: Mapped[bytes | None] = mapped_column(Key)
    reason: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[bytes] = mapped_column(Hash)  # SHA-256 of the written request
    state: Mapped[CredentialRequestState] = mapped_column(
        enum_type(CredentialRequestState), default=CredentialRequestState.PENDING
    )
    requested_by: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None] = mapped_column()
    officer_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("officer_keys.id", ondelete="RESTRICT")
    )
    signature: Mapped[bytes | None] = mapped_column()  # officer, Domain.CREDENTIAL_CHANGE
    refusal: Mapped[str | None] = mapped_column(Text)  # the officer's reasons for refusing
    log_index: Mapped[int | None] = mapped_column()
