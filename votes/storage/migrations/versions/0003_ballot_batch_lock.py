"""PostgreSQL: lock a meeting's log head and read a ballot batch's rows in one call.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

A batch of online ballots locks its meeting's log head and then reads the
credentials of the batch's keys with every earlier ballot of their members
(votes.service.ballots). As two statements that is two round trips while the
lock is held, and every other app process appending to that meeting waits for
both. One statement cannot do it: in READ COMMITTED a statement reads the
snapshot taken when it *started*, so a read in the statement that waited for
the lock would miss the ballots committed by the lock's previous holder. In a
VOLATILE PL/pgSQL function each statement takes a fresh snapshot: the SELECT
after the lock sees them. SQLite needs nothing (a write transaction already
excludes every other writer).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per (credential, earlier ballot of its member) — or per credential without
# ballots — each carrying the locked head; a single row of NULLs but the head if no key
# matched; no row at all if the meeting has no log head yet.
_CREATE = """
CREATE FUNCTION ballot_batch_lock(p_estate BIGINT, p_meeting UUID, p_keys BYTEA[])
RETURNS TABLE (
    head_size BIGINT,
    head_frontier BYTEA,
    public_key BYTEA,
    member_id VARCHAR,
    status VARCHAR,
    ballot_hash BYTEA,
    channel VARCHAR,
    log_index BIGINT
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    v_size BIGINT;
    v_frontier BYTEA;
BEGIN
    SELECT h.size, h.frontier INTO v_size, v_frontier
    FROM log_heads AS h
    WHERE h.estate_id = p_estate AND h.meeting_id = p_meeting
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- A new statement: a new snapshot, taken after the lock was granted.
    -- OFFSET 0 keeps the lateral subquery a per-credential index lookup on
    -- (estate, meeting, member): flattened into a join, a planner that still holds
    -- the statistics of an empty ballots table (early in a new database's first vote,
    -- before autovacuum analyses) scans every ballot of the meeting for each batch.
    RETURN QUERY
    SELECT v_size, v_frontier, c.public_key, c.member_id::VARCHAR, c.status::VARCHAR,
           b.ballot_hash, b.channel::VARCHAR, b.log_index::BIGINT
    FROM credentials AS c
    LEFT JOIN LATERAL (
        SELECT o.ballot_hash, o.channel, o.log_index
        FROM ballots AS o
        WHERE o.estate_id = c.estate_id AND o.meeting_id = c.meeting_id
          AND o.member_id = c.member_id
        OFFSET 0
    ) AS b ON TRUE
    WHERE c.estate_id = p_estate AND c.meeting_id = p_meeting AND c.public_key = ANY (p_keys);
    IF NOT FOUND THEN
        RETURN QUERY SELECT v_size, v_frontier, NULL::BYTEA, NULL::VARCHAR, NULL::VARCHAR,
                            NULL::BYTEA, NULL::VARCHAR, NULL::BIGINT;
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ballot_batch_lock(BIGINT, UUID, BYTEA[])")
