"""Officer approval of a submitted meeting, checkpoint cosignatures, and publishing the notice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.signing import Domain
from votes.enums import CosignatureKind, MeetingState
from votes.record.entries import (
    approval_body,
    approval_entry,
    entry_hash,
)
from votes.service._common import (
    CONVENERS,
    OFFICERS,
    Transition,
    audit,
    check_schedule,
    checkpoint_note,
    ensure_checkpoint,
    find_meeting,
    load_notice,
    meeting_settings,
    require_officer,
    require_state,
    store_meeting_settings,
)
from votes.service._officers import check_signature, cosign, officer_key
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, NotFound
from votes.service.schemas import (
    ApprovalRequestOut,
    ApproveRequest,
    CheckpointOut,
    TransitionOut,
)
from votes.storage.models import (
    Checkpoint,
    Cosignature,
    Meeting,
)

__all__ = ["approval_request", "approve", "cosign_checkpoint", "publish_notice"]


async def approval_request(ctx: ServiceContext, code: str, *, actor: Actor) -> ApprovalRequestOut:
    """What the officer's device signs to approve (the notice hash and roster root)."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code)
        require_officer(actor, info)
        require_state(info.meeting, "approve", MeetingState.SUBMITTED)
        notice = await load_notice(session, info)
        checkpoint = await ensure_checkpoint(ctx, session, info)
        notice_hash = entry_hash(notice).hex()
        body = approval_body(
            meeting=info.meeting_id, notice=notice_hash, roster_root=notice.roster_root
        )
        return ApprovalRequestOut(
            meeting=info.meeting_id,
            notice=notice_hash,
            roster_root=notice.roster_root,
            approval_body=body.decode(),
            checkpoint=await checkpoint_note(session, checkpoint),
            checkpoint_size=checkpoint.size,
        )


_APPROVE = Transition("approve", "meeting.approve", OFFICERS, (MeetingState.SUBMITTED,))


async def approve(
    ctx: ServiceContext,
    code: str,
    request: ApproveRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> TransitionOut:
    """Officer approval: a Domain.APPROVAL signature over the notice hash and roster root by
    an enrolled key of an officer of the estate's subdistrict, plus that key's cosignature of
    the submitted checkpoint. Writes the approval entry and signs a new checkpoint, which the
    officer cosigns (:func:`cosign_checkpoint`) before the notice can be published."""
    async with _APPROVE(ctx, code, actor=actor, ip=ip) as step:
        session, info, meeting = step.session, step.info, step.meeting
        key = await officer_key(session, actor, request.public_key.lower())
        notice = await load_notice(session, info)
        notice_hash = entry_hash(notice).hex()
        body = approval_body(
            meeting=info.meeting_id, notice=notice_hash, roster_root=notice.roster_root
        )
        signature = check_signature(key, Domain.APPROVAL, body, request.signature.lower())
        checkpoint = await ensure_checkpoint(ctx, session, info)
        await cosign(
            ctx,
            session,
            info,
            key=key,
            checkpoint=checkpoint,
            line=request.cosignature,
            kind=CosignatureKind.APPROVAL,
        )
        now = ctx.now()
        await step.append(
            lambda i: approval_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                officer=key.note_name,
                key_id=key.note_key_id.hex(),
                notice=notice_hash,
                roster_root=notice.roster_root,
                signature=signature,
            ),
        )
        meeting.state = MeetingState.APPROVED
        store_meeting_settings(meeting, approval={"index": step.index, "key": str(key.id)})
        meeting.updated_at = now
        await ensure_checkpoint(ctx, session, info)
        step.details = {"officer_key": key.note_name, "index": step.index}
    return step.answer


async def cosign_checkpoint(
    ctx: ServiceContext,
    code: str,
    *,
    actor: Actor,
    public_key: str,
    size: int,
    cosignature: str,
    ip: str | None = None,
) -> CheckpointOut:
    """Store an officer's tlog-cosignature of the meeting's signed checkpoint of ``size``."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code)
        require_officer(actor, info)
        key = await officer_key(session, actor, public_key.lower())
        checkpoint = await session.get(Checkpoint, (info.meeting.estate_id, info.meeting.id, size))
        if checkpoint is None:
            raise NotFound(
                "checkpoint_not_found",
                f"没有大小为 {size} 的检查点",
                f"no signed checkpoint of size {size}",
            )
        kind = (
            CosignatureKind.CERTIFICATION
            if info.meeting.state in (MeetingState.TALLIED, MeetingState.CERTIFIED)
            else CosignatureKind.APPROVAL
        )
        await cosign(
            ctx, session, info, key=key, checkpoint=checkpoint, line=cosignature, kind=kind
        )
        await audit(
            session,
            ctx,
            actor,
            "checkpoint.cosign",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"size": size, "officer_key": key.note_name},
            ip=ip,
        )
        return CheckpointOut(
            size=checkpoint.size,
            root=checkpoint.root.hex(),
            note=await checkpoint_note(session, checkpoint),
        )


async def approval_cosigned(session: AsyncSession, meeting: Meeting) -> bool:
    approval = meeting.settings.get("approval") or {}
    if "index" not in approval:
        return False
    found = await session.scalar(
        select(Cosignature.size)
        .where(
            Cosignature.estate_id == meeting.estate_id,
            Cosignature.meeting_id == meeting.id,
            Cosignature.size > int(approval["index"]),
            Cosignature.officer_key_id == parse_uuid(approval["key"]),
        )
        .limit(1)
    )
    return found is not None


def parse_uuid(text: str) -> Any:
    import uuid  # noqa: PLC0415

    return uuid.UUID(text)


_PUBLISH_NOTICE = Transition(
    "publish the notice", "meeting.publish_notice", CONVENERS, (MeetingState.APPROVED,)
)


async def publish_notice(
    ctx: ServiceContext, code: str, *, actor: Actor, ip: str | None = None
) -> TransitionOut:
    """Publish the approved notice now; the opening must still be ``notice_days`` away."""
    async with _PUBLISH_NOTICE(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        if not await approval_cosigned(step.session, meeting):
            raise Conflict(
                "approval_not_cosigned",
                "街道办尚未副署包含审核记录的检查点",
                "the approving officer has not cosigned a checkpoint that includes the approval",
            )
        now = ctx.now().replace(microsecond=0)
        assert meeting.open_at is not None
        assert meeting.close_at is not None
        check_schedule(
            ctx,
            notice_at=now,
            open_at=meeting.open_at,
            close_at=meeting.close_at,
            settings=meeting_settings(meeting),
        )
        meeting.state = MeetingState.NOTICE
        meeting.notice_at = now
        meeting.updated_at = now
        step.details = {"notice_at": now.isoformat()}
    return step.answer
