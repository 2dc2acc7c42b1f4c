"""After the tally: certification or return by the officer, publication, archive."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.signing import Domain
from votes.enums import CertificationDecision, CosignatureKind, MeetingState, ObjectionState
from votes.record.entries import (
    CertificationEntry,
    TallyEntry,
    certification_body,
    certification_entry,
    decode_entry,
    entry_hash,
    publication_entry,
    return_body,
    return_entry,
)
from votes.service._common import (
    CONVENERS,
    OFFICERS,
    MeetingInfo,
    Step,
    Transition,
    checkpoint_note,
    ensure_checkpoint,
    find_meeting,
    log_size,
    meeting_settings,
    require_officer,
    require_state,
)
from votes.service._officers import check_signature, cosign, officer_key
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Conflict
from votes.service.schemas import (
    CertificationRequestOut,
    CertifyRequest,
    ReturnRequest,
    TransitionOut,
)
from votes.storage import get_entries
from votes.storage.models import (
    Certification,
    Checkpoint,
    Meeting,
    Objection,
    OfficerKey,
    TallyRecord,
)

__all__ = [
    "archive",
    "certification_request",
    "certify",
    "objection_deadline",
    "open_objections",
    "publish_result",
    "return_result",
    "tally_entry_of",
    "tally_record",
]


async def tally_record(session: AsyncSession, meeting: Meeting) -> TallyRecord | None:
    return await session.scalar(
        select(TallyRecord)
        .where(TallyRecord.estate_id == meeting.estate_id, TallyRecord.meeting_id == meeting.id)
        .order_by(TallyRecord.created_at.desc())
        .limit(1)
    )


def objection_deadline(meeting: Meeting, record: TallyRecord) -> datetime:
    """The tally entry's time (whole seconds, as logged) plus ``objection_days``."""
    days = meeting_settings(meeting).objection_days
    return record.created_at.replace(microsecond=0) + timedelta(days=days)


async def tally_entry_of(session: AsyncSession, info: MeetingInfo) -> TallyEntry:
    record = await tally_record(session, info.meeting)
    if record is None or record.log_index is None:
        raise Conflict("not_tallied", "会议尚未计票", "the meeting has not been tallied")
    raw = await get_entries(
        session,
        estate_id=info.meeting.estate_id,
        meeting_id=info.meeting.id,
        start=record.log_index,
        stop=record.log_index + 1,
    )
    entry = decode_entry(raw[0])
    assert isinstance(entry, TallyEntry)
    return entry


async def open_objections(session: AsyncSession, meeting: Meeting) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Objection)
        .where(
            Objection.estate_id == meeting.estate_id,
            Objection.meeting_id == meeting.id,
            Objection.state == ObjectionState.OPEN,
        )
    )
    return int(count or 0)


async def certification_request(
    ctx: ServiceContext, code: str, *, actor: Actor
) -> CertificationRequestOut:
    """What the officer's device signs to certify: the tally hash and the current checkpoint."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code)
        require_officer(actor, info)
        require_state(info.meeting, "certify", MeetingState.TALLIED)
        tally = await tally_entry_of(session, info)
        record = await tally_record(session, info.meeting)
        assert record is not None
        checkpoint = await ensure_checkpoint(ctx, session, info)
        tally_hash = entry_hash(tally).hex()
        body = certification_body(
            meeting=info.meeting_id,
            tally=tally_hash,
            size=checkpoint.size,
            root=checkpoint.root.hex(),
        )
        return CertificationRequestOut(
            meeting=info.meeting_id,
            tally=tally_hash,
            checkpoint=await checkpoint_note(session, checkpoint),
            checkpoint_size=checkpoint.size,
            checkpoint_root=checkpoint.root.hex(),
            certification_body=body.decode(),
            open_objections=await open_objections(session, info.meeting),
            objection_deadline=objection_deadline(info.meeting, record),
        )


class _Decision(NamedTuple):
    """What an officer's decision on a tally names: their key, the tally, the checkpoint."""

    key: OfficerKey
    tally: TallyEntry
    checkpoint: Checkpoint


async def _decision_checks(
    step: Step, request: CertifyRequest | ReturnRequest, *, actor: Actor
) -> _Decision:
    session, info, size = step.session, step.info, request.checkpoint_size
    key = await officer_key(session, actor, request.public_key.lower())
    tally = await tally_entry_of(session, info)
    current = await log_size(session, info.meeting)
    if size != current:
        raise Conflict(
            "stale_checkpoint",
            f"检查点已过期：日志现有 {current} 条，签署的是 {size} 条",
            f"the signed checkpoint has size {size}, but the log now has {current} entries; "
            "fetch the current checkpoint and sign again",
            details={"size": size, "current": current},
        )
    checkpoint = await ensure_checkpoint(step.ctx, session, info)
    return _Decision(key, tally, checkpoint)


_CERTIFY = Transition("certify", "meeting.certify", OFFICERS, (MeetingState.TALLIED,))
_RETURN = Transition("return", "meeting.return", OFFICERS, (MeetingState.TALLIED,))


async def _record_decision(
    step: Step,
    decision: _Decision,
    request: CertifyRequest | ReturnRequest,
    body: bytes,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """The officer's decision on a tally, certified or (a ``ReturnRequest``) returned: their
    Domain.CERTIFICATION signature of ``body``, the key's cosignature of the checkpoint, the
    signed log entry, the certification row, the new state and the audit."""
    key, tally, checkpoint = decision
    signature = check_signature(key, Domain.CERTIFICATION, body, request.signature.lower())
    reason = request.reason if isinstance(request, ReturnRequest) else None
    cosignature = request.cosignature
    ctx, session, info, meeting = step.ctx, step.session, step.info, step.meeting
    certified = reason is None
    outcome = CertificationDecision.CERTIFIED if certified else CertificationDecision.RETURNED
    make = (
        partial(certification_entry)
        if reason is None
        else partial(return_entry, reason=hashlib.sha256(reason.encode()).hexdigest())
    )
    await cosign(
        ctx,
        session,
        info,
        key=key,
        checkpoint=checkpoint,
        line=cosignature,
        kind=CosignatureKind.CERTIFICATION,
    )
    # The entry names the officer's key and signature, the tally and the checkpoint signed.
    signed = partial(make, officer=key.note_name, key_id=key.note_key_id.hex(), signature=signature)
    decided = partial(signed, meeting=info.meeting_id, time=now, tally=entry_hash(tally).hex())
    await step.append(lambda i: decided(index=i, size=checkpoint.size, root=checkpoint.root.hex()))
    session.add(
        Certification(
            estate_id=meeting.estate_id,
            meeting_id=meeting.id,
            officer_id=actor.staff_id,
            officer_key_id=key.id,
            decision=outcome,
            signature=signature,
            tally_hash=entry_hash(tally),
            checkpoint_size=checkpoint.size,
            reason=reason,
            log_index=step.index,
            created_at=now,
        )
    )
    meeting.state = MeetingState.CERTIFIED if certified else MeetingState.RETURNED
    meeting.updated_at = now
    await ensure_checkpoint(ctx, session, info)
    step.details = {"index": step.index, "officer_key": key.note_name}


async def certify(
    ctx: ServiceContext,
    code: str,
    request: CertifyRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> TransitionOut:
    """Officer certification: after the objection window, with every objection answered, a
    Domain.CERTIFICATION signature naming the tally hash and the current checkpoint, and the
    key's cosignature of that checkpoint."""
    async with _CERTIFY(ctx, code, actor=actor, ip=ip) as step:
        info, meeting = step.info, step.meeting
        decision = await _decision_checks(step, request, actor=actor)
        record = await tally_record(step.session, meeting)
        assert record is not None
        now = ctx.now()
        deadline = objection_deadline(meeting, record)
        if now < deadline:
            raise Conflict(
                "objection_window_open",
                f"异议期至 {deadline.isoformat()} 结束，之后才能确认",
                f"the objection window runs until {deadline.isoformat()}; certify after it",
                details={"objection_deadline": deadline.isoformat()},
            )
        pending = await open_objections(step.session, meeting)
        if pending:
            raise Conflict(
                "objections_unanswered",
                f"还有 {pending} 条异议未答复",
                f"{pending} objection(s) are not answered yet",
                details={"open_objections": pending},
            )
        checkpoint = decision.checkpoint
        body = certification_body(
            meeting=info.meeting_id,
            tally=entry_hash(decision.tally).hex(),
            size=checkpoint.size,
            root=checkpoint.root.hex(),
        )
        await _record_decision(step, decision, request, body, actor=actor, now=now)
    return step.answer


async def return_result(
    ctx: ServiceContext,
    code: str,
    request: ReturnRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> TransitionOut:
    """Officer refuses to certify: a signed return naming the tally, checkpoint and reasons."""
    async with _RETURN(ctx, code, actor=actor, ip=ip) as step:
        info = step.info
        decision = await _decision_checks(step, request, actor=actor)
        checkpoint = decision.checkpoint
        body = return_body(
            meeting=info.meeting_id,
            tally=entry_hash(decision.tally).hex(),
            size=checkpoint.size,
            root=checkpoint.root.hex(),
            reason=hashlib.sha256(request.reason.encode()).hexdigest(),
        )
        await _record_decision(step, decision, request, body, actor=actor, now=ctx.now())
    return step.answer


# ------------------------------------------------------------------ publish / archive


_PUBLISH_RESULT = Transition(
    "publish the result", "meeting.publish_result", CONVENERS, (MeetingState.CERTIFIED,)
)


async def publish_result(
    ctx: ServiceContext, code: str, *, actor: Actor, ip: str | None = None
) -> TransitionOut:
    """Publish the certified result on the bulletin (publication entry)."""
    async with _PUBLISH_RESULT(ctx, code, actor=actor, ip=ip) as step:
        session, info, meeting = step.session, step.info, step.meeting
        certification = await session.scalar(
            select(Certification).where(
                Certification.estate_id == meeting.estate_id,
                Certification.meeting_id == meeting.id,
                Certification.decision == CertificationDecision.CERTIFIED,
            )
        )
        assert certification is not None
        assert certification.log_index is not None
        raw = await get_entries(
            session,
            estate_id=meeting.estate_id,
            meeting_id=meeting.id,
            start=certification.log_index,
            stop=certification.log_index + 1,
        )
        cert_entry = decode_entry(raw[0])
        assert isinstance(cert_entry, CertificationEntry)
        disclosure = meeting_settings(meeting).disclosure
        now = ctx.now()
        await step.append(
            lambda i: publication_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                certification=entry_hash(cert_entry).hex(),
                disclosure=disclosure,
            ),
        )
        meeting.state = MeetingState.PUBLISHED
        meeting.updated_at = now
        await ensure_checkpoint(ctx, session, info)
        step.details = {"index": step.index}
    return step.answer


_ARCHIVE_MEETING = Transition(
    "archive", "meeting.archive", CONVENERS, (MeetingState.PUBLISHED, MeetingState.RETURNED)
)


async def archive(
    ctx: ServiceContext, code: str, *, actor: Actor, ip: str | None = None
) -> TransitionOut:
    """Archive a published or returned meeting (no log entry: the record is complete)."""
    async with _ARCHIVE_MEETING(ctx, code, actor=actor, ip=ip) as step:
        step.meeting.state = MeetingState.ARCHIVED
        step.meeting.updated_at = ctx.now()
    return step.answer
