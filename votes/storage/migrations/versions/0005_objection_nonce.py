"""Objections: the owner's request nonce, unique per member and meeting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

An owner's signed objection carries a nonce. Recording the same signed request
twice would add an objection that must be answered again before
certification, so the service refuses a replay; the unique constraint makes
that hold across app processes, on SQLite and PostgreSQL alike. Staff-recorded
objections have no nonce (NULL), and NULLs never conflict.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_objections_estate_id_meeting_id_member_id_nonce"),
            ["estate_id", "meeting_id", "member_id", "nonce"],
        )


def downgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_objections_estate_id_meeting_id_member_id_nonce"), type_="unique"
        )
        batch_op.drop_column("nonce")
