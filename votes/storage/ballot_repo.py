"""The read a batch of online ballots makes under its meeting's log-head lock, per dialect.

A batch commit (votes.service.ballots.batch) locks the meeting's log head and
then reads the credential rows of the batch's keys with every earlier ballot
of their members — which also finds idempotent retries, a stored ballot's
hash covering its key. The read must start *after* the lock is granted, so
it sees what the lock's previous holder committed.

- **PostgreSQL** does both in ONE round trip, a call of the PL/pgSQL
  function ``ballot_batch_lock(estate, meeting, keys)`` (migration 0003):
  it locks the head ``FOR UPDATE`` and then, in a new statement — a new
  snapshot, taken once the lock is granted — returns the head with the
  rows. One plain SQL statement cannot: in READ COMMITTED it reads the
  snapshot taken before its lock wait. As two statements it would be two
  round trips while the lock is held, and every other process appending to
  the meeting waits for both (docs/storage.md, docs/performance.md §
  Casting ballots).
- **SQLite** has a single writer anyway (the write transaction already
  excludes every other one, see votes.storage.db): the head is locked as
  for any append (:func:`votes.storage.log_repo.lock_head_state`) and the
  rows read by one prebuilt SELECT.

A migration that changes the ballot or credential columns must update both.
"""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import LargeBinary, and_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from votes.enums import CredentialStatus
from votes.model import Channel
from votes.storage.log_repo import LockedHead, lock_head_state
from votes.storage.models import Ballot, Credential

__all__ = ["BatchRow", "lock_and_read_batch"]

#: One credential of the batch's keys with one earlier ballot of its member (the ballot
#: columns None where the member has none): public key, member, status, ballot hash,
#: channel, log index.
BatchRow = tuple[bytes, str, CredentialStatus, bytes | None, Channel | None, int | None]

# SQLite: the credential rows of the keys ``:keys`` with every ballot of their members, built
# once (SQLAlchemy computes its cache key once). PostgreSQL runs the same read inside
# ``ballot_batch_lock`` (migration 0003), after locking the head.
_BATCH_SELECT = (
    select(
        Credential.public_key,
        Credential.member_id,
        Credential.status,
        Ballot.ballot_hash,
        Ballot.channel,
        Ballot.log_index,
    )
    .outerjoin(
        Ballot,
        and_(
            Ballot.estate_id == Credential.estate_id,
            Ballot.meeting_id == Credential.meeting_id,
            Ballot.member_id == Credential.member_id,
        ),
    )
    .where(
        Credential.estate_id == bindparam("estate"),
        Credential.meeting_id == bindparam("meeting"),
        Credential.public_key.in_(bindparam("keys", expanding=True)),
    )
)

# The keys go as ONE array parameter: every batch size reuses one prepared statement.
_LOCK_AND_READ_PG = text(
    "SELECT head_size, head_frontier, public_key, member_id, status, ballot_hash, channel,"
    " log_index FROM ballot_batch_lock(:estate, :meeting, :keys)"
).bindparams(bindparam("keys", type_=ARRAY(LargeBinary())))


async def lock_and_read_batch(
    session: AsyncSession, *, estate_id: int, meeting_id: uuid.UUID, keys: list[bytes]
) -> tuple[LockedHead, list[BatchRow]]:
    """Lock the meeting's log head; then read the credential rows of ``keys`` with every
    ballot of their members, in the caller's transaction. The head goes to
    :func:`votes.storage.log_repo.append_entries` in the same transaction."""
    where = {"estate": estate_id, "meeting": meeting_id}
    if session.get_bind().dialect.name != "postgresql":
        head = await lock_head_state(session, estate_id=estate_id, meeting_id=meeting_id)
        result = await session.execute(_BATCH_SELECT, {**where, "keys": keys})
        return head, [cast(BatchRow, tuple(row)) for row in result]
    found = (await session.execute(_LOCK_AND_READ_PG, {**where, "keys": keys})).all()
    if not found:  # no log head yet (cannot happen once a meeting is open): create it
        await lock_head_state(session, estate_id=estate_id, meeting_id=meeting_id)
        found = (await session.execute(_LOCK_AND_READ_PG, {**where, "keys": keys})).all()
    size, frontier = found[0][0], found[0][1]
    head = LockedHead(estate_id=estate_id, meeting_id=meeting_id, size=size, frontier=frontier)
    rows: list[BatchRow] = [
        (
            key,
            member_id,
            CredentialStatus(status),
            ballot_hash,
            None if channel is None else Channel(channel),
            log_index,
        )
        for _, _, key, member_id, status, ballot_hash, channel, log_index in found
        if key is not None
    ]
    return head, rows
