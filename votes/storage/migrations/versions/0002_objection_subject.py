"""Objections: a subject column (roster / agenda / procedure / tally / other).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Added by the service layer: the record's objection entries carry a subject,
and the officer's console lists objections by it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sa.String(length=32), nullable=False, server_default="other")
        )


def downgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_column("subject")
