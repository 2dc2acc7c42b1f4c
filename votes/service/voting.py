"""Opening, closing and tallying a meeting (by the scheduler, or staff catching up)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from votes.enums import MeetingState
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
from votes.storage.models import Meeting, TallyRecord

__all__ = ["close_meeting", "open_meeting", "tally_meeting"]


#: The instant a step is due at: the refusal before it says so (zh) and what voting does then.
_DUE = {
    "open_at": ("投票尚未开始（开始时间 {}）", "opens"),
    "close_at": ("投票截止时间未到（{}）", "closes"),
}


def _due(ctx: ServiceContext, meeting: Meeting, name: str) -> datetime:
    """Now, refusing (409 ``too_early``) before the meeting's instant ``name``."""
    now = ctx.now()
    instant = getattr(meeting, name)
    assert instant is not None
    if now < instant:
        zh, verb = _DUE[name]
        raise Conflict(
            "too_early",
            zh.format(instant.isoformat()),
            f"voting {verb} at {instant.isoformat()}; it is {now.isoformat()}",
            details={name: instant.isoformat()},
        )
    return now


_OPEN_VOTING = Transition("open", "meeting.open", CONVENERS, (MeetingState.NOTICE,))
_CLOSE_VOTING = Transition("close", "meeting.close", CONVENERS, (MeetingState.OPEN,))


async def open_meeting(
    ctx: ServiceContext, code: str, *, actor: Actor | None = None, ip: str | None = None
) -> TransitionOut:
    """Open voting (not before ``open_at``); the scheduler calls this with ``actor`` None."""
    return await _on_time(ctx, code, opening=True, actor=actor, ip=ip)


async def close_meeting(
    ctx: ServiceContext, code: str, *, actor: Actor | None = None, ip: str | None = None
) -> TransitionOut:
    """Close voting at ``close_at`` (never before): the closing entry, written once."""
    return await _on_time(ctx, code, opening=False, actor=actor, ip=ip)


async def _on_time(
    ctx: ServiceContext, code: str, *, opening: bool, actor: Actor | None, ip: str | None
) -> TransitionOut:
    """Open or close voting, not before the meeting's ``open_at`` or ``close_at``."""
    async with (_OPEN_VOTING if opening else _CLOSE_VOTING)(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        now = _due(ctx, meeting, "open_at" if opening else "close_at")
        if opening:
            await step.append(lambda i: open_entry(meeting=step.info.meeting_id, index=i, time=now))
        else:
            close_at = meeting.close_at
            assert close_at is not None
            await step.append(
                lambda i: closing_entry(
                    meeting=step.info.meeting_id, index=i, time=now, closed_at=close_at
                ),
            )
        meeting.state = MeetingState.OPEN if opening else MeetingState.CLOSED
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
