"""Credential requests: revocations and replacements waiting for the officer's signature.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

A credential change is logged only with the subdistrict officer's signature
over it (docs/verification.md § credential-revoked / credential-replaced), so
the convener's request waits in this table until the officer signs or refuses
it. Keys lead with ``estate_id`` like every estate table (docs/storage.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_requests",
        sa.Column("estate_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("old_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("new_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("officer_key_id", sa.Uuid(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_accounts.id"],
            name=op.f("fk_credential_requests_decided_by_staff_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["estate_id", "meeting_id", "member_id"],
            [
                "roster_members.estate_id",
                "roster_members.meeting_id",
                "roster_members.member_id",
            ],
            name=op.f("fk_credential_requests_estate_id_meeting_id_member_id_roster_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_key_id"],
            ["officer_keys.id"],
            name=op.f("fk_credential_requests_officer_key_id_officer_keys"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["staff_accounts.id"],
            name=op.f("fk_credential_requests_requested_by_staff_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("estate_id", "id", name=op.f("pk_credential_requests")),
    )
    with op.batch_alter_table("credential_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_requests_estate_id_meeting_id_state"),
            ["estate_id", "meeting_id", "state"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_requests_estate_id_meeting_id_state"))
    op.drop_table("credential_requests")
