"""Opening, closing and tallying a meeting (by the scheduler, or staff catching up)."""

from __future__ import annotations

import msgspec

from votes.record.entries import (
    ClosingEntry,
    closing_entry,
    decode_entry,
    entry_hash,
    open_entry,
    tally_entry,
)
from votes.service._common import (
    CONVENERS,
    Transition,
    ensure_checkpoint,
    load_notice,
)
from votes.service._tally import compute_result
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Conflict
from votes.service.schemas import TransitionOut
from votes.storage import get_entries, get_root
from votes.storage.models import (
    MeetingState,
    TallyRecord,
)

__all__ = ["close_meeting", "open_meeting", "tally_meeting"]


_OPEN_VOTING = Transition("open", "meeting.open", CONVENERS, (MeetingState.NOTICE,))


async def open_meeting(
    ctx: ServiceContext, code: str, *, actor: Actor | None = None, ip: str | None = None
) -> TransitionOut:
    """Open voting (not before ``open_at``); the scheduler calls this with ``actor`` None."""
    async with _OPEN_VOTING(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        now = ctx.now()
        assert meeting.open_at is not None
        assert meeting.close_at is not None
        if now < meeting.open_at:
            raise Conflict(
                "too_early",
                f"投票尚未开始（开始时间 {meeting.open_at.isoformat()}）",
                f"voting opens at {meeting.open_at.isoformat()}; it is {now.isoformat()}",
                details={"open_at": meeting.open_at.isoformat()},
            )
        await step.append(lambda i: open_entry(meeting=step.info.meeting_id, index=i, time=now))
        meeting.state = MeetingState.OPEN
        meeting.updated_at = now
        step.details = {"index": step.index}
    return step.answer


_CLOSE_VOTING = Transition("close", "meeting.close", CONVENERS, (MeetingState.OPEN,))


async def close_meeting(
    ctx: ServiceContext, code: str, *, actor: Actor | None = None, ip: str | None = None
) -> TransitionOut:
    """Close voting at ``close_at`` (never before): the closing entry, written once."""
    async with _CLOSE_VOTING(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        now = ctx.now()
        assert meeting.close_at is not None
        if now < meeting.close_at:
            raise Conflict(
                "too_early",
                f"投票截止时间未到（{meeting.close_at.isoformat()}）",
                f"voting closes at {meeting.close_at.isoformat()}; it is {now.isoformat()}",
                details={"close_at": meeting.close_at.isoformat()},
            )
        close_at = meeting.close_at
        await step.append(
            lambda i: closing_entry(
                meeting=step.info.meeting_id, index=i, time=now, closed_at=close_at
            ),
        )
        meeting.state = MeetingState.CLOSED
        meeting.updated_at = now
        step.details = {"index": step.index}
    return step.answer


_TALLY_VOTES = Transition("tally", "meeting.tally", CONVENERS, (MeetingState.CLOSED,))


async def tally_meeting(
    ctx: ServiceContext, code: str, *, actor: Actor | None = None, ip: str | None = None
) -> TransitionOut:
    """Count a closed meeting from its log (votes.tally), sign and log the result, once."""
    async with _TALLY_VOTES(ctx, code, actor=actor, ip=ip) as step:
        session, info, meeting = step.session, step.info, step.meeting
        notice = await load_notice(session, info)
        raw = await get_entries(session, estate_id=meeting.estate_id, meeting_id=meeting.id)
        entries = [decode_entry(data) for data in raw]
        closings = [e for e in entries if isinstance(e, ClosingEntry)]
        if not closings:
            raise Conflict("not_closed", "日志中没有截止记录", "the log has no closing entry")
        size = closings[0].index + 1
        root = await get_root(
            session, estate_id=meeting.estate_id, meeting_id=meeting.id, size=size
        )
        result = compute_result(notice, entries[:size])
        now = ctx.now()
        entry = await step.append(
            lambda i: tally_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                inputs_size=size,
                inputs_root=root,
                result=result,
                service_key=ctx.log_key,
            ),
        )
        session.add(
            TallyRecord(
                estate_id=meeting.estate_id,
                meeting_id=meeting.id,
                result=msgspec.json.encode(entry.result, order="sorted"),
                result_hash=entry_hash(entry),
                signature=bytes.fromhex(entry.signature),
                checkpoint_size=size,
                log_index=step.index,
                created_at=now,
            )
        )
        meeting.state = MeetingState.TALLIED
        meeting.updated_at = now
        await ensure_checkpoint(ctx, session, info)
        step.details = {"index": step.index, "inputs_size": size}
    return step.answer
