"""The group commit of online ballots: one queue per process and meeting, one transaction
per batch (votes.service.batching), the receipts after its commit.

A drain takes everything waiting, locks the meeting's log head and reads the batch's
credential rows and earlier ballots in one round trip (votes.storage.ballot_repo),
decides ballot by ballot — retries, voting window, roster, duplicate policy —
appends the accepted ones with their rows, and commits; only then are receipts
signed and each caller answered (docs/performance.md § Casting ballots).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.signing import Domain
from votes.enums import CredentialStatus
from votes.model import Channel
from votes.record.ballot import AcceptedBallot, BallotContext
from votes.record.entries import ballot_context, ballot_entry, entry_bytes
from votes.record.receipt import Receipt, ReceiptBody, receipt_bytes
from votes.record.wire import FORMAT_VERSION, format_time
from votes.service._common import MeetingInfo, find_meeting, load_notice
from votes.service.ballots._shared import (
    Cast,
    OpenFirstError,
    VerifiedBallot,
    accept_in,
    check_duplicates,
    check_voting,
    publish_turnout,
    receipt_at,
)
from votes.service.batching import Coalescer, GroupCommit, Lanes
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.storage import append_entries
from votes.storage.ballot_repo import BatchRow, lock_and_read_batch
from votes.storage.log_repo import AppendResult, CoInsert, LockedHead
from votes.storage.models import Ballot as BallotRow

__all__ = ["LANES", "TURNOUT_INTERVAL_SECONDS", "MeetingLane"]


@dataclass(frozen=True, slots=True)
class _Outcome:
    receipt: Receipt
    fresh: bool  # logged by this batch (False: an idempotent retry)


class MeetingLane:
    """This process's ballot queue for one meeting (and the coalesced turnout push)."""

    def __init__(self, ctx: ServiceContext, code: str) -> None:
        self.ctx = ctx  # held while the lane lives, so id(ctx) in its key stays unique
        self.commits: GroupCommit[VerifiedBallot, _Outcome] = GroupCommit.taking(
            lambda take, ready: _commit_batch(ctx, code, take, ready), failed=_not_stored
        )
        self.turnout = Coalescer(
            lambda: publish_turnout(ctx, code), min_interval=TURNOUT_INTERVAL_SECONDS
        )
        self.casting = 0  # ballots of this process in flight for the meeting


LANES: Lanes[MeetingLane] = Lanes()

#: Under load, live turnout is pushed at most this often per meeting and process.
TURNOUT_INTERVAL_SECONDS = 1.0


def _not_stored(error: BaseException) -> ServiceError:
    """What each ballot of a batch whose transaction failed gets: nothing was stored."""
    return ServiceError(
        "ballot_not_stored",
        "选票暂未能保存，请重新提交（重复提交不会重复计票）",
        "the ballot could not be stored this time; send it again "
        "(the same ballot sent again is never counted twice)",
        details={"retryable": True, "reason": type(error).__name__},
        status=503,
    )


class _BatchKeys:
    """KeyLookup over the credential rows of a batch's keys (hex key -> member, status)."""

    def __init__(self, rows: Mapping[str, tuple[str, CredentialStatus]]) -> None:
        self._rows = rows

    def member_for_key(self, key: str) -> str | None:
        row = self._rows.get(key)
        return row[0] if row is not None and row[1] == CredentialStatus.ISSUED else None

    def is_revoked(self, key: str) -> bool:
        row = self._rows.get(key)
        return row is not None and row[1] != CredentialStatus.ISSUED


def _copy_error(error: ServiceError) -> ServiceError:
    """The same refusal for another caller (an exception object is raised in one task only)."""
    clone = ServiceError.__new__(type(error))
    clone.__dict__.update(error.__dict__)
    clone.details = dict(error.details)
    clone.args = error.args
    return clone


async def _commit_batch(
    ctx: ServiceContext,
    code: str,
    take: Callable[[], list[VerifiedBallot]],
    ready: Callable[[], None],
) -> list[_Outcome | BaseException]:
    """Store and log a batch of ballots in ONE transaction; one outcome per ballot, in order.

    Lock order as everywhere: the meeting row (shared: transitions, paper and
    proxy entry take it exclusively, so they never run beside a batch), then
    the log head, held to the commit — every decision below (idempotent
    retries, the duplicate policy) is made with no other appender in between.
    The head is locked and the batch's rows read in one round trip
    (:func:`votes.storage.ballot_repo.lock_and_read_batch`); then the next
    transaction of this process may get going (``ready()``): it takes the
    ballots that arrive while this one waits for the lock, decides and commits.
    """
    batch: list[VerifiedBallot] | None = None
    try:
        async with ctx.sessions.begin() as session:
            info = await find_meeting(session, code, share=True)
            batch = take()
            if not batch:
                return []
            head, rows = await lock_and_read_batch(
                session,
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                keys=list({bytes.fromhex(p.ballot.member) for p in batch}),
            )
            ready()
            now = ctx.now()
            outcomes, accepted = await _decide(ctx, session, info, batch, rows, now=now)
            appended = await _store(session, info, accepted, head, now=now)
    except ServiceError as error:  # the meeting itself refused (not found): every ballot
        return [_copy_error(error) for _ in (batch if batch is not None else take())]
    # Committed: now, and only now, the receipts.
    time = format_time(now)
    for (position, _, ballot_hash), result in zip(accepted, appended, strict=True):
        receipt = _receipt(ctx, info.meeting_id, ballot_hash, result, time)
        outcomes[position] = _Outcome(receipt, True)
    return [_resolve(outcomes, position) for position in range(len(batch))]


def _receipt(
    ctx: ServiceContext, meeting: str, ballot_hash: bytes, appended: AppendResult, time: str
) -> Receipt:
    """What :func:`build_receipt` makes of the entry, from the hashes already at hand: the
    ballot hash is SHA-256 of its (canonical) bytes, the leaf hash that of the entry bytes
    just appended — no re-encoding. Ed25519 is deterministic: a retry gets the same bytes."""
    body = ReceiptBody(
        v=FORMAT_VERSION,
        meeting=meeting,
        ballot=ballot_hash.hex(),
        entry=appended.leaf_hash.hex(),
        index=appended.index,
        time=time,
    )
    signature = ctx.log_key.sign(Domain.RECEIPT, receipt_bytes(body))
    return Receipt(body=body, signature=signature.hex())


_Decision = _Outcome | BaseException | int  # int: the same outcome as the ballot at that position


def _resolve(outcomes: list[_Decision], position: int) -> _Outcome | BaseException:
    decided = outcomes[position]
    if isinstance(decided, int):  # the same ballot twice in one batch: the first one's answer
        first = outcomes[decided]
        assert not isinstance(first, int)
        if isinstance(first, _Outcome):
            return _Outcome(first.receipt, False)
        return _copy_error(first) if isinstance(first, ServiceError) else first
    return decided


_BALLOTS = cast(Table, BallotRow.__table__)


async def _decide(
    ctx: ServiceContext,
    session: AsyncSession,
    info: MeetingInfo,
    batch: list[VerifiedBallot],
    rows: list[BatchRow],
    *,
    now: datetime,
) -> tuple[list[_Decision], list[tuple[int, AcceptedBallot, bytes]]]:
    """Under the log-head lock: retries, state, roster, duplicate policy — ballot by ballot,
    given the batch's credential rows joined with their members' ballots (the key's
    credential row names the member a stored ballot was stored under)."""
    credentials: dict[str, tuple[str, CredentialStatus]] = {}
    previous: dict[str, list[Cast]] = {}
    stored: dict[bytes, int] = {}
    seen: set[bytes] = set()
    for key, member_id, status, ballot_hash, channel, index in rows:
        credentials[key.hex()] = (member_id, status)
        casts = previous.setdefault(member_id, [])
        # A member with two keys in the batch (replaced and new) joins their ballots twice.
        if (
            ballot_hash is not None
            and channel is not None
            and index is not None
            and ballot_hash not in seen
        ):
            seen.add(ballot_hash)
            casts.append(Cast(ballot_hash, channel, index))
            stored[ballot_hash] = index

    keys_now = _BatchKeys(credentials)
    context: BallotContext | None = None
    first_of: dict[bytes, int] = {}
    outcomes: list[_Decision] = []
    accepted: list[tuple[int, AcceptedBallot, bytes]] = []
    for position, pending in enumerate(batch):
        if pending.hash in first_of:
            outcomes.append(first_of[pending.hash])
            continue
        first_of[pending.hash] = position
        logged = stored.get(pending.hash)
        if logged is not None:
            # An idempotent retry: the first receipt again, whatever happened since.
            try:
                outcomes.append(_Outcome(await receipt_at(ctx, session, info, logged), False))
            except ServiceError as error:
                outcomes.append(error)
            continue
        try:
            check_voting(info, now)
            if context is None:
                context = ballot_context(await load_notice(session, info), keys_now)
            ballot = accept_in(
                context, pending.ballot, raw=pending.raw, signature=pending.signature
            )
            check_duplicates(info, ballot.member_id, Channel.ONLINE, previous[ballot.member_id])
        except (ServiceError, OpenFirstError) as error:
            outcomes.append(error)
            continue
        previous[ballot.member_id].append(Cast(pending.hash, Channel.ONLINE, -1))
        accepted.append((position, ballot, pending.hash))
        outcomes.append(-1)  # replaced by the receipt after commit
    return outcomes, accepted


async def _store(
    session: AsyncSession,
    info: MeetingInfo,
    accepted: list[tuple[int, AcceptedBallot, bytes]],
    head: LockedHead,
    *,
    now: datetime,
) -> list[AppendResult]:
    """Append the accepted ballots' entries and insert their rows (the caller's transaction)."""
    if not accepted:
        return []
    meeting = info.meeting

    def builder(ballot: AcceptedBallot) -> Callable[[int], bytes]:
        def build(index: int) -> bytes:
            return entry_bytes(
                ballot_entry(
                    meeting=info.meeting_id,
                    index=index,
                    time=now,
                    ballot=ballot.ballot,
                    signature=ballot.signature,
                )
            )

        return build

    def rows(results: Sequence[AppendResult]) -> list[dict[str, object]]:
        return [
            {
                "estate_id": meeting.estate_id,
                "meeting_id": meeting.id,
                "ballot_hash": ballot_hash,
                "member_id": ballot.member_id,
                "public_key": bytes.fromhex(ballot.ballot.member),
                "channel": Channel.ONLINE,
                "raw": ballot.data,
                "signature": ballot.signature,
                "log_index": result.index,
                "received_at": now,
            }
            for (_, ballot, ballot_hash), result in zip(accepted, results, strict=True)
        ]

    # The ballot rows go with the entries: on PostgreSQL in the same statement (one round
    # trip less while the head is locked), elsewhere as one Core executemany.
    return await append_entries(
        session,
        estate_id=meeting.estate_id,
        meeting_id=meeting.id,
        builds=[builder(ballot) for _, ballot, _ in accepted],
        locked=head,
        co_insert=CoInsert(_BALLOTS, rows),
    )
