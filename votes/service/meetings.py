"""The meeting lifecycle (docs/design.md §3) as a state machine. docs/lifecycle.md describes it.

This module holds drafting and submission, and re-exports the later steps
(approval.py, voting.py, results.py) so that ``meetings.<step>`` names the
whole machine.

Every transition: authorised (role and scope), validated, written to the
meeting's log with the votes.record builders in the same transaction as the
state change, audited, and otherwise refused with a :class:`ServiceError`.
Every transaction locks the meeting row first, so transitions, the scheduler
and ballots of one meeting take turns (docs/lifecycle.md §Concurrency).
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.signing import PublicKey
from votes.enums import CredentialStatus, MeetingState, StaffRole
from votes.model import DuplicatePolicy, MotionType, Roster
from votes.model import Motion as DomainMotion
from votes.record.entries import (
    MeetingSettings,
    notice_entry,
    roster_to_wire,
)
from votes.service._common import (
    CONVENERS,
    MeetingInfo,
    Transition,
    as_utc,
    audit,
    check_schedule,
    convener_of,
    ensure_checkpoint,
    find_meeting,
    log_size,
    meeting_settings,
    owner_salt,
    require_meeting_scope,
    roster_of,
    schedule_rules,
    store_meeting_settings,
)
from votes.service.actors import (
    Actor,
    estate_not_found,
    meeting_not_found,
    require_estate,
    require_role,
)
from votes.service.approval import approval_request, approve, cosign_checkpoint, publish_notice
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid, NotFound
from votes.service.results import (
    archive,
    certification_request,
    certify,
    objection_deadline,
    publish_result,
    return_result,
    tally_record,
)
from votes.service.schemas import (
    CreateMeetingRequest,
    MeetingOut,
    MotionIn,
    MotionOut,
    TransitionOut,
    UpdateMeetingRequest,
)
from votes.service.voting import close_meeting, open_meeting, tally_meeting
from votes.storage.models import Building as BuildingRow
from votes.storage.models import (
    Credential,
    Estate,
    Meeting,
    MeetingCode,
    Motion,
    RosterMember,
    Unit,
    UnitOwner,
    VotingMember,
)

__all__ = [
    "CONVENERS",
    "add_motion",
    "approval_request",
    "approve",
    "archive",
    "certification_request",
    "certify",
    "close_meeting",
    "cosign_checkpoint",
    "create_draft",
    "get_meeting",
    "list_meetings",
    "open_meeting",
    "publish_notice",
    "publish_result",
    "remove_motion",
    "return_result",
    "submit",
    "tally_meeting",
    "update_draft",
]


_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


# ------------------------------------------------------------------ reading


async def _motions(session: AsyncSession, meeting: Meeting) -> list[Motion]:
    rows = await session.execute(
        select(Motion)
        .where(Motion.estate_id == meeting.estate_id, Motion.meeting_id == meeting.id)
        .order_by(Motion.position)
    )
    return list(rows.scalars())


def _domain_motion(row: Motion) -> DomainMotion:
    return DomainMotion(
        id=row.id,
        title=row.title,
        item=row.item,
        type=row.type,
        seats=row.seats,
        candidates=tuple(row.candidates),
        scope=None if row.scope is None else frozenset(row.scope),
    )


def _motion_out(row: Motion) -> MotionOut:
    return MotionOut(
        id=row.id,
        position=row.position,
        title=row.title,
        item=row.item,
        type=row.type,
        seats=row.seats,
        candidates=list(row.candidates),
        scope=row.scope,
    )


async def meeting_out(session: AsyncSession, info: MeetingInfo) -> MeetingOut:
    meeting = info.meeting
    members = await session.scalar(
        select(func.count())
        .select_from(RosterMember)
        .where(RosterMember.estate_id == meeting.estate_id, RosterMember.meeting_id == meeting.id)
    )
    letters = await session.scalar(
        select(func.count())
        .select_from(Credential)
        .where(
            Credential.estate_id == meeting.estate_id,
            Credential.meeting_id == meeting.id,
            Credential.status == CredentialStatus.ISSUED,
        )
    )
    record = await tally_record(session, meeting)
    return MeetingOut(
        code=meeting.code,
        id=meeting.id,
        estate_id=meeting.estate_id,
        subdistrict_id=info.estate.subdistrict_id,
        title=meeting.title,
        convener=convener_of(meeting),
        state=meeting.state,
        settings=meeting_settings(meeting),
        notice_at=meeting.notice_at,
        open_at=meeting.open_at,
        close_at=meeting.close_at,
        roster_root=None if meeting.roster_root is None else meeting.roster_root.hex(),
        roster_members=int(members or 0),
        letters_issued=int(letters or 0),
        log_size=await log_size(session, meeting),
        motions=[_motion_out(m) for m in await _motions(session, meeting)],
        objection_deadline=None if record is None else objection_deadline(meeting, record),
    )


def _is_public(state: MeetingState) -> bool:
    return state not in (MeetingState.DRAFT, MeetingState.SUBMITTED, MeetingState.APPROVED)


async def get_meeting(ctx: ServiceContext, code: str, *, actor: Actor | None = None) -> MeetingOut:
    """A meeting; before its notice is published only staff in scope may see it."""
    async with ctx.readers() as session:
        info = await find_meeting(session, code)
        if not _is_public(info.meeting.state):
            if actor is None:
                raise meeting_not_found(code)
            require_meeting_scope(actor, info)
        return await meeting_out(session, info)


async def list_meetings(
    ctx: ServiceContext, *, actor: Actor, estate_id: int | None = None
) -> list[MeetingOut]:
    """The meetings of the estates in the actor's scope (optionally one estate)."""
    async with ctx.readers() as session:
        statement = select(Meeting, Estate).join(Estate, Estate.id == Meeting.estate_id)
        if estate_id is not None:
            statement = statement.where(Meeting.estate_id == estate_id)
        if actor.role == StaffRole.CONVENER:
            statement = statement.where(Meeting.estate_id.in_(sorted(actor.estate_ids)))
        elif actor.role == StaffRole.OFFICER:
            statement = statement.where(Estate.subdistrict_id.in_(sorted(actor.subdistrict_ids)))
        rows = (await session.execute(statement.order_by(Meeting.created_at))).all()
        return [await meeting_out(session, MeetingInfo(m, e)) for m, e in rows]


# ------------------------------------------------------------------ validation


def _check_settings(settings: MeetingSettings) -> None:
    if (
        settings.max_changes is not None
        and settings.duplicate_policy != DuplicatePolicy.LATEST_WINS
    ):
        raise Invalid(
            "bad_settings",
            "仅「以最后一次为准」允许设置修改次数",
            "max_changes applies only to the latest-wins duplicate policy",
        )


def _check_motion(motion: MotionIn) -> None:
    # The record's format (docs/verification.md, motion): only an election has seats.
    if motion.type != MotionType.ELECTION and motion.seats != 1:
        raise Invalid(
            "bad_motion",
            f"议题 {motion.id} 不是选举，应选人数只能为 1",
            f"motion {motion.id}: only an election has more than one seat",
        )
    if motion.type == MotionType.YES_NO and motion.candidates:
        raise Invalid(
            "bad_motion",
            f"议题 {motion.id} 为同意/反对类型，不应有候选项",
            f"motion {motion.id}: a yes-no motion has no candidates",
        )
    if motion.type != MotionType.YES_NO:
        if len(motion.candidates) < 2 and motion.type == MotionType.CHOOSE_ONE:
            raise Invalid(
                "bad_motion",
                f"议题 {motion.id} 至少需要两个选项",
                f"motion {motion.id}: choose-one needs at least two options",
            )
        if not motion.candidates:
            raise Invalid(
                "bad_motion", f"议题 {motion.id} 没有候选人", f"motion {motion.id}: no candidates"
            )
        if len(set(motion.candidates)) != len(motion.candidates) or any(
            ";" in c or c in {"abstain", "invalid"} for c in motion.candidates
        ):
            raise Invalid(
                "bad_motion",
                f"议题 {motion.id} 的候选项重复或含有 ';'",
                f"motion {motion.id}: candidates repeat, contain ';' or use a reserved word",
            )
    if motion.type == MotionType.ELECTION and motion.seats > len(motion.candidates):
        raise Invalid(
            "bad_motion",
            f"议题 {motion.id} 应选人数多于候选人",
            f"motion {motion.id}: {motion.seats} seats but {len(motion.candidates)} candidates",
        )


# ------------------------------------------------------------------ draft


async def _snapshot_roster(session: AsyncSession, meeting: Meeting) -> int:
    """Copy the estate's current roster into the meeting (replacing any earlier copy)."""
    await session.execute(
        delete(Credential).where(
            Credential.estate_id == meeting.estate_id, Credential.meeting_id == meeting.id
        )
    )
    await session.execute(
        delete(RosterMember).where(
            RosterMember.estate_id == meeting.estate_id, RosterMember.meeting_id == meeting.id
        )
    )
    estate_id = meeting.estate_id
    members = {
        m.id: m
        for m in (
            await session.execute(select(VotingMember).where(VotingMember.estate_id == estate_id))
        ).scalars()
    }
    buildings = {
        b.id: b.name
        for b in (
            await session.execute(select(BuildingRow).where(BuildingRow.estate_id == estate_id))
        ).scalars()
    }
    owners: dict[Any, list[str]] = {}
    for unit_id, owner in await session.execute(
        select(UnitOwner.unit_id, UnitOwner.owner_key).where(UnitOwner.estate_id == estate_id)
    ):
        owners.setdefault(unit_id, []).append(owner)
    units_of: dict[str, list[dict[str, Any]]] = {}
    for unit in (await session.execute(select(Unit).where(Unit.estate_id == estate_id))).scalars():
        if unit.member_id is None:
            continue
        units_of.setdefault(unit.member_id, []).append(
            {
                "number": unit.number,
                "building": buildings[unit.building_id],
                "area": unit.area,
                "owners": sorted(owners.get(unit.id, [])),
                "kind": unit.kind.value,
                "status": unit.status.value,
                "area_source": unit.area_source.value,
            }
        )
    for position, member_id in enumerate(sorted(units_of)):
        units = sorted(units_of[member_id], key=lambda u: u["number"])
        session.add(
            RosterMember(
                estate_id=estate_id,
                meeting_id=meeting.id,
                member_id=member_id,
                position=position,
                is_developer=members[member_id].is_developer if member_id in members else False,
                units=units,
                area=sum(int(u["area"]) for u in units),
            )
        )
    await session.flush()
    return len(units_of)


async def create_draft(
    ctx: ServiceContext, request: CreateMeetingRequest, *, actor: Actor, ip: str | None = None
) -> MeetingOut:
    """A new meeting in ``draft`` with a snapshot of the estate's roster."""
    require_role(actor, *CONVENERS)
    open_at, close_at = as_utc(request.open_at), as_utc(request.close_at)
    notice_at = None if request.notice_at is None else as_utc(request.notice_at)
    _check_settings(request.settings)
    for motion in request.motions:
        _check_motion(motion)
    if len({m.id for m in request.motions}) != len(request.motions):
        raise Invalid("duplicate_motion", "议题编号重复", "motion ids repeat")
    check_schedule(
        ctx,
        notice_at=notice_at or ctx.now(),
        open_at=open_at,
        close_at=close_at,
        settings=request.settings,
    )
    async with ctx.sessions.begin() as session:
        estate = await session.get(Estate, request.estate_id)
        if estate is None:
            raise estate_not_found(request.estate_id)
        require_estate(actor, estate.id, estate.subdistrict_id)
        code = _new_code()
        while await session.get(MeetingCode, code) is not None:
            code = _new_code()
        now = ctx.now()
        meeting = Meeting(
            estate_id=estate.id,
            code=code,
            title=request.title,
            state=MeetingState.DRAFT,
            settings={
                "meeting": msgspec.to_builtins(request.settings),
                "convener": request.convener,
                "owner_salt": secrets.token_bytes(16).hex(),
            },
            notice_at=notice_at,
            open_at=open_at,
            close_at=close_at,
            created_by=actor.staff_id,
            created_at=now,
            updated_at=now,
        )
        session.add(meeting)
        await session.flush()
        session.add(MeetingCode(code=code, estate_id=estate.id, meeting_id=meeting.id))
        for position, motion in enumerate(request.motions):
            session.add(_motion_row(meeting, motion, position))
        members = await _snapshot_roster(session, meeting)
        await audit(
            session,
            ctx,
            actor,
            "meeting.create",
            estate_id=estate.id,
            target=f"meeting:{code}",
            details={"title": request.title, "roster_members": members},
            ip=ip,
        )
        return await meeting_out(session, MeetingInfo(meeting, estate))


def _motion_row(meeting: Meeting, motion: MotionIn, position: int) -> Motion:
    return Motion(
        estate_id=meeting.estate_id,
        meeting_id=meeting.id,
        id=motion.id,
        position=position,
        title=motion.title,
        item=motion.item,
        type=motion.type,
        seats=motion.seats,
        candidates=list(motion.candidates),
        scope=None if motion.scope is None else sorted(set(motion.scope)),
    )


_UPDATE_DRAFT = Transition(
    "update", "meeting.update", CONVENERS, (MeetingState.DRAFT,), answered=False
)


async def update_draft(
    ctx: ServiceContext,
    code: str,
    request: UpdateMeetingRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> MeetingOut:
    """Change a draft's title, convener, instants or settings (draft only)."""
    async with _UPDATE_DRAFT(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        changed: list[str] = []
        if request.title is not None:
            meeting.title = request.title
            changed.append("title")
        if request.convener is not None:
            store_meeting_settings(meeting, convener=request.convener)
            changed.append("convener")
        if request.settings is not None:
            _check_settings(request.settings)
            store_meeting_settings(meeting, meeting=request.settings)
            changed.append("settings")
        for name in ("notice_at", "open_at", "close_at"):
            value = getattr(request, name)
            if value is not None:
                setattr(meeting, name, as_utc(value))
                changed.append(name)
        assert meeting.open_at is not None
        assert meeting.close_at is not None
        check_schedule(
            ctx,
            notice_at=meeting.notice_at or ctx.now(),
            open_at=meeting.open_at,
            close_at=meeting.close_at,
            settings=meeting_settings(meeting),
        )
        if request.refresh_roster:
            await _snapshot_roster(step.session, meeting)
            changed.append("roster")
        meeting.updated_at = ctx.now()
        step.details = {"changed": changed}
        return await meeting_out(step.session, step.info)


_ADD_MOTION = Transition(
    "change motions", "meeting.motion_add", CONVENERS, (MeetingState.DRAFT,), answered=False
)


async def add_motion(
    ctx: ServiceContext, code: str, motion: MotionIn, *, actor: Actor, ip: str | None = None
) -> MeetingOut:
    """Add a motion at the end of the agenda (draft only)."""
    _check_motion(motion)
    async with _ADD_MOTION(ctx, code, actor=actor, ip=ip) as step:
        existing = await _motions(step.session, step.meeting)
        if any(m.id == motion.id for m in existing):
            raise Invalid(
                "duplicate_motion",
                f"议题编号 {motion.id} 已存在",
                f"motion {motion.id} already exists",
            )
        position = max((m.position for m in existing), default=-1) + 1
        step.session.add(_motion_row(step.meeting, motion, position))
        await step.session.flush()
        step.details = {"motion": motion.id}
        return await meeting_out(step.session, step.info)


_REMOVE_MOTION = Transition(
    "change motions", "meeting.motion_remove", CONVENERS, (MeetingState.DRAFT,), answered=False
)


async def remove_motion(
    ctx: ServiceContext, code: str, motion_id: str, *, actor: Actor, ip: str | None = None
) -> MeetingOut:
    """Remove a motion from the agenda (draft only)."""
    async with _REMOVE_MOTION(ctx, code, actor=actor, ip=ip) as step:
        meeting = step.meeting
        row = await step.session.get(Motion, (meeting.estate_id, meeting.id, motion_id))
        if row is None:
            raise NotFound(
                "motion_not_found", f"议题 {motion_id} 不存在", f"motion {motion_id} does not exist"
            )
        await step.session.delete(row)
        await step.session.flush()
        step.details = {"motion": motion_id}
        return await meeting_out(step.session, step.info)


# ------------------------------------------------------------------ submit / approve


_SUBMIT = Transition("submit", "meeting.submit", CONVENERS, (MeetingState.DRAFT,))


async def submit(
    ctx: ServiceContext, code: str, *, actor: Actor, ip: str | None = None
) -> TransitionOut:
    """Freeze the roster and agenda: write the notice entry (index 0) and sign a checkpoint."""
    async with _SUBMIT(ctx, code, actor=actor, ip=ip) as step:
        session, info, meeting = step.session, step.info, step.meeting
        now = ctx.now()
        notice_at = meeting.notice_at or now.replace(microsecond=0)
        if notice_at < now.replace(microsecond=0):
            raise Invalid(
                "notice_in_past",
                "计划公告时间已过，请修改",
                f"the planned notice time {notice_at.isoformat()} has passed; change it",
            )
        assert meeting.open_at is not None
        assert meeting.close_at is not None
        # The notice records the schedule rules it was held to (votes verify checks them).
        settings = schedule_rules(ctx, meeting_settings(meeting))
        check_schedule(
            ctx,
            notice_at=notice_at,
            open_at=meeting.open_at,
            close_at=meeting.close_at,
            settings=settings,
        )
        motions = [_domain_motion(m) for m in await _motions(session, meeting)]
        if not motions:
            raise Invalid("no_motions", "会议没有任何议题", "the meeting has no motions")
        roster = await roster_of(session, meeting)
        if not roster.members:
            raise Invalid(
                "roster_empty",
                "会议名册为空：请先导入小区名册并刷新",
                "the meeting's roster is empty: import the estate roster and refresh the draft",
            )
        _check_scopes(motions, roster)
        keys = await _active_keys(session, meeting)
        missing = [m.id for m in roster.members if m.id not in keys]
        if missing:
            raise Conflict(
                "letters_missing",
                f"还有 {len(missing)} 户没有投票凭证，请先生成凭证",
                f"{len(missing)} member(s) have no credential yet; issue the letters first",
                details={"members": missing[:20]},
            )
        wire = roster_to_wire(roster, keys=keys, salt=owner_salt(meeting))
        store_meeting_settings(meeting, meeting=settings)
        entry = await step.append(
            lambda i: notice_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                title=meeting.title,
                convener=convener_of(meeting),
                estate=info.estate.name,
                motions=motions,
                settings=settings,
                roster=wire,
                notice_at=notice_at,
                open_at=meeting.open_at,  # type: ignore[arg-type]
                close_at=meeting.close_at,  # type: ignore[arg-type]
            ),
        )
        meeting.state = MeetingState.SUBMITTED
        meeting.notice_at = notice_at
        meeting.roster_root = bytes.fromhex(entry.roster_root)
        meeting.roster_size = len(roster.members)
        meeting.updated_at = now
        await session.execute(
            update(Credential)
            .where(
                Credential.estate_id == meeting.estate_id,
                Credential.meeting_id == meeting.id,
                Credential.status == CredentialStatus.ISSUED,
            )
            .values(log_index=step.index)
        )
        await ensure_checkpoint(ctx, session, info)
        step.details = {"roster_root": entry.roster_root, "members": len(roster.members)}
    return step.answer


def _check_scopes(motions: list[DomainMotion], roster: Roster) -> None:
    """Every building a motion is scoped to is a building of the frozen roster.

    A scope naming a building that does not exist (a typo, a building of
    another estate) would make the motion count no unit there, silently; it
    is refused at submission, when the roster and agenda are frozen together.
    """
    buildings = {unit.building for member in roster.members for unit in member.units}
    for motion in motions:
        unknown = sorted((motion.scope or frozenset()) - buildings)
        if unknown:
            raise Invalid(
                "unknown_building",
                f"议题 {motion.id} 的表决范围含有名册中没有的楼栋：{'、'.join(unknown)}",
                f"motion {motion.id} is scoped to building(s) not in the roster: "
                f"{', '.join(unknown)}",
                details={"motion": motion.id, "buildings": unknown},
            )


async def _active_keys(session: AsyncSession, meeting: Meeting) -> dict[str, PublicKey]:
    rows = await session.execute(
        select(Credential.member_id, Credential.public_key).where(
            Credential.estate_id == meeting.estate_id,
            Credential.meeting_id == meeting.id,
            Credential.status == CredentialStatus.ISSUED,
        )
    )
    return {member: PublicKey.from_bytes(key) for member, key in rows}
