"""What online casting, the batch commit and staff entry share: the signature check,
the voting window, a member's earlier ballots and the duplicate policy, receipts of
ballots already logged, and the live-turnout push after a commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from votes.enums import MeetingState
from votes.model import Channel, DuplicatePolicy
from votes.record.ballot import (
    AcceptedBallot,
    Ballot,
    BallotContext,
    BallotError,
    BallotErrorCode,
    check_ballot,
    decode_ballot,
    verify_ballot_signature,
)
from votes.record.entries import BallotEntry, ProxyBallotEntry, decode_entry
from votes.record.receipt import Receipt, build_receipt
from votes.service._common import MeetingInfo, find_meeting, meeting_settings
from votes.service.context import NullPublisher, ServiceContext
from votes.service.errors import Conflict, ServiceError, from_ballot_error
from votes.service.turnout import turnout_in_session
from votes.service.voting import open_meeting
from votes.storage import get_entries

__all__ = [
    "Cast",
    "OpenFirstError",
    "VerifiedBallot",
    "accept_in",
    "check_duplicates",
    "check_voting",
    "decode_and_verify",
    "opening_first",
    "publish_turnout",
    "receipt_at",
    "voting_now",
]

_log = logging.getLogger("votes.service.ballots")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedBallot:
    """A ballot whose form and signature are checked (:func:`verify_ballot`)."""

    raw: bytes
    ballot: Ballot
    signature: bytes
    hash: bytes  # SHA-256 of raw: the ballot's key within the meeting


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


def decode_and_verify(raw: bytes, signature_hex: str) -> tuple[Ballot, bytes]:
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


class OpenFirstError(Exception):
    """The meeting is due to open: open it in its own transaction, then retry."""


def voting_now(ctx: ServiceContext, info: MeetingInfo) -> datetime:
    """The current instant, after checking voting is open."""
    now = ctx.now()
    check_voting(info, now)
    return now


def check_voting(info: MeetingInfo, now: datetime) -> None:
    """Refuse unless voting is open at ``now`` (fresh exceptions on every call)."""
    meeting = info.meeting
    assert meeting.open_at is not None
    assert meeting.close_at is not None
    if meeting.state == MeetingState.NOTICE and now >= meeting.open_at:
        raise OpenFirstError
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


async def opening_first(ctx: ServiceContext, code: str) -> None:
    """Open a meeting whose opening time has passed before the scheduler got to it."""
    try:
        await open_meeting(ctx, code)
    except ServiceError as exc:
        if exc.code not in ("invalid_transition", "too_early"):
            raise  # pragma: no cover - open_meeting has no other refusal


@dataclass(frozen=True, slots=True)
class Cast:
    """One earlier ballot of the member: what the duplicate policy and retries look at."""

    ballot_hash: bytes
    channel: Channel
    log_index: int


def check_duplicates(
    info: MeetingInfo, member_id: str, channel: Channel, previous: list[Cast]
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


async def receipt_at(
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


def accept_in(
    context: BallotContext, ballot: Ballot, *, raw: bytes, signature: bytes
) -> AcceptedBallot:
    try:
        member_id = check_ballot(ballot, context=context)
    except BallotError as exc:
        raise from_ballot_error(exc) from None
    return AcceptedBallot(ballot=ballot, member_id=member_id, data=raw, signature=signature)


async def publish_turnout(ctx: ServiceContext, code: str) -> None:
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
