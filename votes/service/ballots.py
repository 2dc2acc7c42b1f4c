"""Casting ballots: online (signed by the member's credential), paper and proxy entry.

Each ballot is stored and appended to the meeting's log in ONE transaction
(the meeting row and log head locked, so concurrent processes take turns);
the receipt is built only after that transaction commits. The same ballot
sent again returns the same receipt.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import msgspec
from sqlalchemy import LargeBinary, Table, and_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.signing import Domain
from votes.enums import CredentialStatus, MeetingState
from votes.model import Channel, DuplicatePolicy
from votes.record.ballot import (
    AcceptedBallot,
    Ballot,
    BallotContext,
    BallotError,
    BallotErrorCode,
    ChoiceValue,
    KeyLookup,
    check_ballot,
    check_choices,
    decode_ballot,
    verify_ballot_signature,
)
from votes.record.entries import (
    BallotEntry,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    ballot_entry,
    decode_entry,
    entry_bytes,
    entry_hash,
    motion_from_wire,
    owner_tag,
    proxy_ballot_entry,
    signed_entry_body,
)
from votes.record.receipt import Receipt, ReceiptBody, build_receipt, receipt_bytes
from votes.record.wire import FORMAT_VERSION, format_time
from votes.service._common import (
    MeetingInfo,
    append,
    audit,
    find_meeting,
    load_notice,
    meeting_settings,
    owner_salt,
    require_convener,
)
from votes.service.actors import Actor
from votes.service.batching import Coalescer, GroupCommit, Lanes
from votes.service.context import NullPublisher, ServiceContext
from votes.service.errors import Conflict, ServiceError, from_ballot_error
from votes.service.schemas import PaperBallotOut, PaperBallotRequest, ProxyBallotRequest
from votes.service.turnout import turnout_in_session
from votes.service.voting import open_meeting
from votes.storage import append_entries, get_entries
from votes.storage.log_repo import AppendResult, CoInsert, LockedHead, lock_head_state
from votes.storage.models import Ballot as BallotRow
from votes.storage.models import Credential, RosterMember

__all__ = [
    "VerifiedBallot",
    "cast_ballot",
    "cast_verified_ballot",
    "enter_paper_ballot",
    "enter_proxy_ballot",
    "verify_ballot",
]

_log = logging.getLogger(__name__)


class _CredentialLookup:
    """KeyLookup for one key, from its credential row (None: not a key of this meeting)."""

    def __init__(self, key: str, credential: Credential | None) -> None:
        self._key = key
        self._credential = credential

    def member_for_key(self, key: str) -> str | None:
        c = self._credential
        if key != self._key or c is None or c.status != CredentialStatus.ISSUED:
            return None
        return c.member_id

    def is_revoked(self, key: str) -> bool:
        c = self._credential
        return key == self._key and c is not None and c.status != CredentialStatus.ISSUED


def _signature(signature_hex: str) -> bytes:
    try:
        raw = bytes.fromhex(signature_hex)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 64:
        raise from_ballot_error(
            BallotError(
                BallotErrorCode.BAD_SIGNATURE,
                "签名格式错误（应为 64 字节）",
                "signature is malformed (expected 64 bytes / 128 hex digits)",
            )
        )
    return raw


def _decode_and_verify(raw: bytes, signature_hex: str) -> tuple[Ballot, bytes]:
    """Parse the exact bytes and check the signature by the key the ballot names."""
    try:
        ballot = decode_ballot(raw)
    except BallotError as exc:
        raise from_ballot_error(exc) from None
    signature = _signature(signature_hex)
    if not verify_ballot_signature(bytes(raw), signature, ballot.member):
        raise from_ballot_error(
            BallotError(
                BallotErrorCode.BAD_SIGNATURE,
                "选票签名无效",
                f"the ballot's signature does not verify for key {ballot.member}",
            )
        )
    return ballot, signature


class _OpenFirstError(Exception):
    """The meeting is due to open: open it in its own transaction, then retry."""


def _voting_now(ctx: ServiceContext, info: MeetingInfo) -> datetime:
    """The current instant, after checking voting is open."""
    now = ctx.now()
    _check_voting(info, now)
    return now


def _check_voting(info: MeetingInfo, now: datetime) -> None:
    """Refuse unless voting is open at ``now`` (fresh exceptions on every call)."""
    meeting = info.meeting
    assert meeting.open_at is not None
    assert meeting.close_at is not None
    if meeting.state == MeetingState.NOTICE and now >= meeting.open_at:
        raise _OpenFirstError
    if meeting.state != MeetingState.OPEN or now >= meeting.close_at:
        if meeting.state in (
            MeetingState.DRAFT,
            MeetingState.SUBMITTED,
            MeetingState.APPROVED,
            MeetingState.NOTICE,
        ):
            raise Conflict(
                "meeting_not_open",
                f"投票尚未开始（开始时间 {meeting.open_at.isoformat()}）",
                f"voting has not opened yet (it opens at {meeting.open_at.isoformat()})",
                details={"state": meeting.state.value, "open_at": meeting.open_at.isoformat()},
            )
        raise Conflict(
            "meeting_closed",
            f"投票已于 {meeting.close_at.isoformat()} 截止",
            f"voting closed at {meeting.close_at.isoformat()}",
            details={"state": meeting.state.value, "close_at": meeting.close_at.isoformat()},
        )


async def _opening_first(ctx: ServiceContext, code: str) -> None:
    """Open a meeting whose opening time has passed before the scheduler got to it."""
    try:
        await open_meeting(ctx, code)
    except ServiceError as exc:
        if exc.code not in ("invalid_transition", "too_early"):
            raise  # pragma: no cover - open_meeting has no other refusal


@dataclass(frozen=True, slots=True)
class _Cast:
    """One earlier ballot of the member: what the duplicate policy and retries look at."""

    ballot_hash: bytes
    channel: Channel
    log_index: int


async def _lock_member(
    session: AsyncSession,
    info: MeetingInfo,
    *,
    key: bytes | None = None,
    member_id: str | None = None,
) -> tuple[Credential | None, list[_Cast]]:
    """Lock the member's credential row(s) — one member's ballots take turns — and return the
    credential of ``key`` (None: not a key of this meeting) and the member's earlier ballots."""
    meeting = info.meeting
    statement = select(Credential).where(
        Credential.estate_id == meeting.estate_id, Credential.meeting_id == meeting.id
    )
    if key is not None:
        statement = statement.where(Credential.public_key == key)
    else:
        statement = statement.where(Credential.member_id == member_id)
    rows = list((await session.execute(statement.with_for_update())).scalars())
    credential = rows[0] if key is not None and rows else None
    member = credential.member_id if credential is not None else member_id
    if member is None:
        return None, []
    previous = await session.execute(
        select(BallotRow.ballot_hash, BallotRow.channel, BallotRow.log_index).where(
            BallotRow.estate_id == meeting.estate_id,
            BallotRow.meeting_id == meeting.id,
            BallotRow.member_id == member,
        )
    )
    return credential, [_Cast(h, c, i) for h, c, i in previous]


def _check_duplicates(
    info: MeetingInfo, member_id: str, channel: Channel, previous: list[_Cast]
) -> None:
    """The meeting's duplicate policy (docs/legal.md §3), checked with the member's rows locked."""
    meeting = info.meeting
    by_channel: dict[Channel, int] = {}
    for earlier in previous:
        by_channel[earlier.channel] = by_channel.get(earlier.channel, 0) + 1
    total = sum(by_channel.values())
    if not total:
        return
    settings = meeting_settings(meeting)
    policy = settings.duplicate_policy
    if policy == DuplicatePolicy.ONE_VOTE_ONLY:
        raise Conflict(
            "already_voted",
            "该业主已投票，本次会议每户只能投一次",
            f"member {member_id} has already voted; this meeting allows one vote only",
            details={"member": member_id, "policy": policy.value},
        )
    if policy == DuplicatePolicy.LATEST_WINS:
        limit = settings.max_changes
        if limit is not None and total >= limit + 1:
            raise Conflict(
                "too_many_changes",
                f"该业主已修改 {total - 1} 次，本次会议最多允许修改 {limit} 次",
                f"member {member_id} has changed their vote {total - 1} time(s); "
                f"at most {limit} change(s) are allowed",
                details={"member": member_id, "max_changes": limit},
            )
        return
    # online-/paper-prevails: both channels are accepted, the tally picks; one per channel.
    if by_channel.get(channel, 0):
        raise Conflict(
            "already_voted",
            f"该业主已通过{channel.value}渠道投票",
            f"member {member_id} has already voted on the {channel.value} channel",
            details={"member": member_id, "policy": policy.value, "channel": channel.value},
        )


async def _receipt_at(
    ctx: ServiceContext, session: AsyncSession, info: MeetingInfo, index: int
) -> Receipt:
    """The receipt of the ballot logged at ``index`` (Ed25519 is deterministic: the same)."""
    raw = await get_entries(
        session,
        estate_id=info.meeting.estate_id,
        meeting_id=info.meeting.id,
        start=index,
        stop=index + 1,
    )
    entry = decode_entry(raw[0])
    if not isinstance(entry, BallotEntry | ProxyBallotEntry):
        raise Conflict(
            "duplicate_ballot", "该选票已登记", "this ballot was already recorded differently"
        )
    return build_receipt(entry=entry, service_key=ctx.log_key)


def _ballot_context(notice: NoticeEntry, keys: KeyLookup) -> BallotContext:
    return BallotContext(
        meeting=notice.meeting,
        roster_root=notice.roster_root,
        motions={m.id: motion_from_wire(m) for m in notice.agenda},
        keys=keys,
    )


def _accept(
    notice: NoticeEntry,
    ballot: Ballot,
    keys: KeyLookup,
    *,
    raw: bytes,
    signature: bytes,
) -> AcceptedBallot:
    return _accept_in(_ballot_context(notice, keys), ballot, raw=raw, signature=signature)


def _accept_in(
    context: BallotContext, ballot: Ballot, *, raw: bytes, signature: bytes
) -> AcceptedBallot:
    try:
        member_id = check_ballot(ballot, context=context)
    except BallotError as exc:
        raise from_ballot_error(exc) from None
    return AcceptedBallot(ballot=ballot, member_id=member_id, data=raw, signature=signature)


async def _publish_turnout(ctx: ServiceContext, code: str) -> None:
    """After commit: the new turnout to live subscribers. Never fails the ballot."""
    if isinstance(ctx.events, NullPublisher):
        return  # nobody listens: skip the query
    try:
        async with ctx.readers() as session:
            fresh = await find_meeting(session, code)
            figures = await turnout_in_session(ctx, session, fresh)
        await ctx.events.publish(code, {"type": "turnout", "turnout": msgspec.to_builtins(figures)})
    except Exception:
        _log.exception("could not publish turnout of meeting %s", code)


async def cast_ballot(ctx: ServiceContext, code: str, raw: bytes, signature_hex: str) -> Receipt:
    """Take a member's signed ballot (docs/design.md §4) and return the receipt after commit.

    :func:`verify_ballot` then :func:`cast_verified_ballot`; callers that must
    know who signed before casting (the per-credential rate limit) call the two.
    """
    return await cast_verified_ballot(ctx, code, verify_ballot(raw, signature_hex))


def verify_ballot(raw: bytes, signature_hex: str) -> VerifiedBallot:
    """Parse the exact bytes of a ballot and check the signature by the key it names.

    Needs no database, so it runs before any limit keyed by the member: only
    the holder of a credential can spend that credential's limit. Refuses with
    the ballot's error code (``bad_signature``, ``not_canonical``, ...).
    """
    raw = bytes(raw)
    ballot, signature = _decode_and_verify(raw, signature_hex)
    return VerifiedBallot(
        raw=raw, ballot=ballot, signature=signature, hash=hashlib.sha256(raw).digest()
    )


async def cast_verified_ballot(ctx: ServiceContext, code: str, verified: VerifiedBallot) -> Receipt:
    """Store and log a ballot checked by :func:`verify_ballot`; the receipt after commit.

    The ballot joins this process's queue for the meeting and is stored and
    logged with the others waiting, in one transaction (group commit,
    :mod:`votes.service.batching`). The receipt is returned only after that
    transaction commits.
    """
    async with _LANES.use((id(ctx), code), lambda: _MeetingLane(ctx, code)) as lane:
        lane.casting += 1
        try:
            try:
                outcome = await lane.commits.submit(verified)
            except _OpenFirstError:
                await _opening_first(ctx, code)
                outcome = await lane.commits.submit(verified)
            if outcome.fresh and not isinstance(ctx.events, NullPublisher):
                if lane.casting == 1:
                    # A quiet meeting: the turnout including this ballot goes out first.
                    await lane.turnout.request()
                else:
                    # Under load the turnout (a query over the meeting's ballots) is
                    # pushed in the background, at most once per interval.
                    lane.turnout.request_soon()
        finally:
            lane.casting -= 1
    return outcome.receipt


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedBallot:
    """A ballot whose form and signature are checked (:func:`verify_ballot`)."""

    raw: bytes
    ballot: Ballot
    signature: bytes
    hash: bytes  # SHA-256 of raw: the ballot's key within the meeting


@dataclass(frozen=True, slots=True)
class _Outcome:
    receipt: Receipt
    fresh: bool  # logged by this batch (False: an idempotent retry)


class _MeetingLane:
    """This process's ballot queue for one meeting (and the coalesced turnout push)."""

    def __init__(self, ctx: ServiceContext, code: str) -> None:
        self.ctx = ctx  # held while the lane lives, so id(ctx) in its key stays unique
        self.commits: GroupCommit[VerifiedBallot, _Outcome] = GroupCommit.taking(
            lambda take, ready: _commit_batch(ctx, code, take, ready), failed=_not_stored
        )
        self.turnout = Coalescer(
            lambda: _publish_turnout(ctx, code), min_interval=TURNOUT_INTERVAL_SECONDS
        )
        self.casting = 0  # ballots of this process in flight for the meeting


_LANES: Lanes[_MeetingLane] = Lanes()

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
    (:func:`_lock_and_read`); then the next transaction of this process may
    get going (``ready()``): it takes the ballots that arrive while this one
    waits for the lock, decides and commits.
    """
    batch: list[VerifiedBallot] | None = None
    try:
        async with ctx.sessions.begin() as session:
            info = await find_meeting(session, code, share=True)
            batch = take()
            if not batch:
                return []
            head, rows = await _lock_and_read(session, info, batch)
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
# SQLite: the credential rows of the keys ``:keys`` with every ballot of their members, built
# once (SQLAlchemy computes its cache key once). PostgreSQL runs the same read inside
# ``ballot_batch_lock`` (migration 0003), after locking the head.
_BATCH_SELECT = (
    select(
        Credential.public_key,
        Credential.member_id,
        Credential.status,
        BallotRow.ballot_hash,
        BallotRow.channel,
        BallotRow.log_index,
    )
    .outerjoin(
        BallotRow,
        and_(
            BallotRow.estate_id == Credential.estate_id,
            BallotRow.meeting_id == Credential.meeting_id,
            BallotRow.member_id == Credential.member_id,
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

_BatchRow = tuple[bytes, str, CredentialStatus, bytes | None, Channel | None, int | None]


async def _lock_and_read(
    session: AsyncSession, info: MeetingInfo, batch: list[VerifiedBallot]
) -> tuple[LockedHead, list[_BatchRow]]:
    """Lock the meeting's log head; then read the credential rows of the batch's keys with
    every ballot of their members (which also finds idempotent retries: a stored ballot's
    hash covers its key). The read starts after the lock is granted, so it sees what the
    lock's previous holder committed. PostgreSQL: one round trip (migration 0003)."""
    meeting = info.meeting
    keys = list({bytes.fromhex(p.ballot.member) for p in batch})
    where = {"estate": meeting.estate_id, "meeting": meeting.id}
    if session.get_bind().dialect.name != "postgresql":
        head = await lock_head_state(session, estate_id=meeting.estate_id, meeting_id=meeting.id)
        result = await session.execute(_BATCH_SELECT, {**where, "keys": keys})
        return head, [cast(_BatchRow, tuple(row)) for row in result]
    found = (await session.execute(_LOCK_AND_READ_PG, {**where, "keys": keys})).all()
    if not found:  # no log head yet (cannot happen once a meeting is open): create it
        await lock_head_state(session, estate_id=meeting.estate_id, meeting_id=meeting.id)
        found = (await session.execute(_LOCK_AND_READ_PG, {**where, "keys": keys})).all()
    size, frontier = found[0][0], found[0][1]
    head = LockedHead(
        estate_id=meeting.estate_id, meeting_id=meeting.id, size=size, frontier=frontier
    )
    rows: list[_BatchRow] = [
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


async def _decide(
    ctx: ServiceContext,
    session: AsyncSession,
    info: MeetingInfo,
    batch: list[VerifiedBallot],
    rows: list[_BatchRow],
    *,
    now: datetime,
) -> tuple[list[_Decision], list[tuple[int, AcceptedBallot, bytes]]]:
    """Under the log-head lock: retries, state, roster, duplicate policy — ballot by ballot,
    given the batch's credential rows joined with their members' ballots (the key's
    credential row names the member a stored ballot was stored under)."""
    credentials: dict[str, tuple[str, CredentialStatus]] = {}
    previous: dict[str, list[_Cast]] = {}
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
            casts.append(_Cast(ballot_hash, channel, index))
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
                outcomes.append(_Outcome(await _receipt_at(ctx, session, info, logged), False))
            except ServiceError as error:
                outcomes.append(error)
            continue
        try:
            _check_voting(info, now)
            if context is None:
                context = _ballot_context(await load_notice(session, info), keys_now)
            ballot = _accept_in(
                context, pending.ballot, raw=pending.raw, signature=pending.signature
            )
            _check_duplicates(info, ballot.member_id, Channel.ONLINE, previous[ballot.member_id])
        except (ServiceError, _OpenFirstError) as error:
            outcomes.append(error)
            continue
        previous[ballot.member_id].append(_Cast(pending.hash, Channel.ONLINE, -1))
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


def _paper_entry(
    ctx: ServiceContext,
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    choices: Mapping[str, ChoiceValue],
    sheet_sha256: str,
    staff: str,
) -> PaperBallotEntry:
    """votes.record's paper_ballot_entry, taking the sheet's SHA-256 instead of the scan."""
    unsigned = PaperBallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        choices={k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()},
        sheet=sheet_sha256,
        staff=staff,
        entered_at=format_time(time),
        signature="0" * 128,
    )
    signature = ctx.log_key.sign(Domain.PAPER_BALLOT, signed_entry_body(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature.hex())


def _staff_scope(actor: Actor, info: MeetingInfo) -> None:
    require_convener(actor, info)


async def enter_paper_ballot(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    request: PaperBallotRequest,
    *,
    ip: str | None = None,
) -> PaperBallotOut:
    """A paper ballot entered by convener staff with the SHA-256 of the scanned sheet.

    The service signs it on the staff member's behalf. The same sheet entered
    again with the same choices returns the first entry; otherwise it is refused.
    """
    try:
        return await _paper(ctx, actor, code, request, ip=ip)
    except _OpenFirstError:
        await _opening_first(ctx, code)
        return await _paper(ctx, actor, code, request, ip=ip)


async def _revoked_without_replacement(
    session: AsyncSession, info: MeetingInfo, member_id: str
) -> bool:
    """True iff the member's credential was revoked and no replacement is active.

    Such a member may still vote on paper (docs/lifecycle.md §Paper ballots): a
    revocation withdraws the electronic credential — a letter lost or in
    other hands — while a paper sheet is authenticated by the owner's own
    signature on it, checked by the staff who enter it and kept as evidence
    (its SHA-256 is logged). A revoked credential cannot be replaced later, so
    refusing paper would leave the owner no way to vote at all; and it would
    not stop staff, who could as well replace the letter. The entry is flagged
    in the audit record, where the officer and operators see it.
    """
    statuses = set(
        (
            await session.execute(
                select(Credential.status).where(
                    Credential.estate_id == info.meeting.estate_id,
                    Credential.meeting_id == info.meeting.id,
                    Credential.member_id == member_id,
                )
            )
        ).scalars()
    )
    return bool(statuses) and CredentialStatus.ISSUED not in statuses


async def _paper(
    ctx: ServiceContext, actor: Actor, code: str, request: PaperBallotRequest, *, ip: str | None
) -> PaperBallotOut:
    sheet = request.sheet_sha256.lower()
    sheet_hash = bytes.fromhex(sheet)
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        _staff_scope(actor, info)
        existing = await session.get(
            BallotRow, (info.meeting.estate_id, info.meeting.id, sheet_hash)
        )
        if existing is not None:
            entry = decode_entry(existing.raw)
            if (
                isinstance(entry, PaperBallotEntry)
                and entry.member == request.member_id
                and entry.choices == _plain(request.choices)
            ):
                return PaperBallotOut(
                    member_id=entry.member,
                    log_index=entry.index,
                    entry_hash=entry_hash(entry).hex(),
                    sheet_sha256=sheet,
                )
            raise Conflict(
                "sheet_already_entered",
                "这张纸质选票已录入（内容不同）",
                f"the sheet {sheet} was already entered with other contents",
                details={"log_index": existing.log_index},
            )
        now = _voting_now(ctx, info)
        notice = await load_notice(session, info)
        member = await session.get(
            RosterMember, (info.meeting.estate_id, info.meeting.id, request.member_id)
        )
        if member is None:
            raise from_ballot_error(
                BallotError(
                    BallotErrorCode.UNKNOWN_MEMBER,
                    f"名册中没有业主 {request.member_id}",
                    f"member {request.member_id!r} is not in this meeting's roster",
                )
            )
        try:
            check_choices(
                request.choices, {m.id: motion_from_wire(m) for m in notice.agenda}, paper=True
            )
        except BallotError as exc:
            raise from_ballot_error(exc) from None
        revoked = await _revoked_without_replacement(session, info, request.member_id)
        _, previous = await _lock_member(session, info, member_id=request.member_id)
        _check_duplicates(info, request.member_id, Channel.PAPER, previous)
        paper, index = await append(
            ctx,
            session,
            info,
            lambda i: _paper_entry(
                ctx,
                meeting=info.meeting_id,
                index=i,
                time=now,
                member=request.member_id,
                choices=request.choices,
                sheet_sha256=sheet,
                staff=actor.username,
            ),
        )
        session.add(
            BallotRow(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                ballot_hash=sheet_hash,
                member_id=request.member_id,
                public_key=ctx.log_key.public_key.raw,
                channel=Channel.PAPER,
                raw=msgspec.json.encode(paper, order="sorted"),
                signature=bytes.fromhex(paper.signature),
                log_index=index,
                received_at=now,
                staff_id=actor.staff_id,
                evidence_sha256=sheet_hash,
            )
        )
        await audit(
            session,
            ctx,
            actor,
            "ballot.paper",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={
                "member": request.member_id,
                "index": index,
                "sheet": sheet,
                "credential_revoked": revoked,
            },
            ip=ip,
        )
    await _publish_turnout(ctx, info.meeting.code)
    return PaperBallotOut(
        member_id=request.member_id,
        log_index=index,
        entry_hash=entry_hash(paper).hex(),
        sheet_sha256=sheet,
    )


def _plain(choices: Mapping[str, ChoiceValue]) -> dict[str, ChoiceValue]:
    return {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()}


async def enter_proxy_ballot(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    request: ProxyBallotRequest,
    *,
    ip: str | None = None,
) -> Receipt:
    """A ballot cast by a proxy holder with the member's credential, entered by staff with the
    SHA-256 of the written authorisation; refused beyond the meeting's proxy cap per holder."""
    raw = request.ballot.encode()
    ballot, signature = _decode_and_verify(raw, request.signature)
    try:
        return await _proxy(
            ctx, actor, code, request, raw=raw, ballot=ballot, signature=signature, ip=ip
        )
    except _OpenFirstError:
        await _opening_first(ctx, code)
        return await _proxy(
            ctx, actor, code, request, raw=raw, ballot=ballot, signature=signature, ip=ip
        )


async def _proxy(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    request: ProxyBallotRequest,
    *,
    raw: bytes,
    ballot: Ballot,
    signature: bytes,
    ip: str | None,
) -> Receipt:
    ballot_hash = hashlib.sha256(raw).digest()
    authorisation = request.authorisation_sha256.lower()
    async with ctx.sessions.begin() as session:
        # The proxy cap spans members: proxy entries take the meeting lock exclusively.
        info = await find_meeting(session, code, lock=True)
        _staff_scope(actor, info)
        credential, previous = await _lock_member(session, info, key=bytes.fromhex(ballot.member))
        for cast in previous:
            if cast.ballot_hash == ballot_hash:
                return await _receipt_at(ctx, session, info, cast.log_index)
        now = _voting_now(ctx, info)
        notice = await load_notice(session, info)
        keys = _CredentialLookup(ballot.member, credential)
        accepted = _accept(notice, ballot, keys, raw=raw, signature=signature)
        holder = owner_tag(" ".join(request.holder.split()), salt=owner_salt(info.meeting))
        cap = meeting_settings(info.meeting).proxy_cap
        if cap is not None:
            held = set(
                (
                    await session.execute(
                        select(BallotRow.member_id).where(
                            BallotRow.estate_id == info.meeting.estate_id,
                            BallotRow.meeting_id == info.meeting.id,
                            BallotRow.channel == Channel.PROXY,
                            BallotRow.proxy_holder == holder,
                        )
                    )
                ).scalars()
            )
            if accepted.member_id not in held and len(held) >= cap:
                raise Conflict(
                    "proxy_cap_reached",
                    f"该受托人已代理 {len(held)} 户，达到本次会议上限 {cap}",
                    f"this proxy holder already votes for {len(held)} member(s); the cap is {cap}",
                    details={"cap": cap, "held": len(held)},
                )
        _check_duplicates(info, accepted.member_id, Channel.PROXY, previous)
        entry, index = await append(
            ctx,
            session,
            info,
            lambda i: msgspec.structs.replace(
                proxy_ballot_entry(
                    meeting=info.meeting_id,
                    index=i,
                    time=now,
                    ballot=ballot,
                    signature=signature,
                    authorisation=b"",
                    holder=holder,
                    staff=actor.username,
                ),
                authorisation=authorisation,
            ),
        )
        session.add(
            BallotRow(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                ballot_hash=ballot_hash,
                member_id=accepted.member_id,
                public_key=bytes.fromhex(ballot.member),
                channel=Channel.PROXY,
                raw=raw,
                signature=signature,
                log_index=index,
                received_at=now,
                staff_id=actor.staff_id,
                evidence_sha256=bytes.fromhex(authorisation),
                proxy_holder=holder,
            )
        )
        await audit(
            session,
            ctx,
            actor,
            "ballot.proxy",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"member": accepted.member_id, "index": index, "holder": holder},
            ip=ip,
        )
    receipt = build_receipt(entry=entry, service_key=ctx.log_key)
    await _publish_turnout(ctx, info.meeting.code)
    return receipt
