"""Internals shared by the use cases: meeting lookup and locking, log appends,
checkpoints, audit records, per-meeting settings and the frozen roster."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.notes import Checkpoint as NoteCheckpoint
from crypto.notes import sign_note
from votes.enums import MeetingState, StaffRole
from votes.model import Member, Roster, Unit
from votes.record.entries import (
    Entry,
    MeetingSettings,
    NoticeEntry,
    decode_entry,
    entry_bytes,
)
from votes.service.actors import Actor, meeting_not_found, require_estate, require_role
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid
from votes.service.schemas import TransitionOut
from votes.storage import append_entry, get_entries, get_head
from votes.storage.models import (
    AuditEvent,
    Checkpoint,
    Cosignature,
    Estate,
    Meeting,
    MeetingCode,
    RosterMember,
)

__all__ = [
    "CONVENERS",
    "OFFICERS",
    "MeetingInfo",
    "Step",
    "Transition",
    "append",
    "audit",
    "check_schedule",
    "checkpoint_note",
    "checkpoint_origin",
    "ensure_checkpoint",
    "find_meeting",
    "invalid_transition",
    "load_notice",
    "locked",
    "meeting_settings",
    "require_convener",
    "require_meeting_scope",
    "require_officer",
    "roster_of",
    "schedule_rules",
    "store_meeting_settings",
    "transition_out",
]

E = TypeVar("E", bound=Entry)


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    meeting: Meeting
    estate: Estate

    @property
    def meeting_id(self) -> str:
        return str(self.meeting.id)


# Public code -> (estate id, meeting id): a meeting's code never changes, so the
# directory lookup is cached in the process.
_DIRECTORY: dict[str, tuple[int, uuid.UUID]] = {}


async def find_meeting(
    session: AsyncSession, code: str, *, lock: bool = False, share: bool = False
) -> MeetingInfo:
    """The meeting with public ``code`` and its estate.

    ``lock`` takes the meeting row lock (``FOR UPDATE``): every state change
    does, then the log head inside append, so transitions of one meeting take
    turns in one order and never deadlock. ``share`` (``FOR SHARE``) is what
    ballots take: many at once, but never while a transition holds the row.
    """
    for attempt in (0, 1):
        where = _DIRECTORY.get(code) if attempt == 0 else None
        if where is None:
            directory = await session.get(MeetingCode, code)
            if directory is None:
                raise meeting_not_found(code)
            where = (directory.estate_id, directory.meeting_id)
            if len(_DIRECTORY) > 10000:
                _DIRECTORY.clear()
            _DIRECTORY[code] = where
        statement = (
            select(Meeting, Estate)
            .join(Estate, Estate.id == Meeting.estate_id)
            .where(Meeting.estate_id == where[0], Meeting.id == where[1])
        )
        if lock or share:
            statement = statement.with_for_update(read=not lock, of=Meeting)
        # populate_existing: a row re-read after waiting for a lock must show the new state.
        statement = statement.execution_options(populate_existing=True)
        row = (await session.execute(statement)).one_or_none()
        if row is not None:
            return MeetingInfo(meeting=row[0], estate=row[1])
        _DIRECTORY.pop(code, None)
    raise meeting_not_found(code)


def invalid_transition(meeting: Meeting, action: str, allowed: Sequence[MeetingState]) -> Conflict:
    states = ", ".join(s.value for s in allowed)
    return Conflict(
        "invalid_transition",
        f"会议处于「{meeting.state.value}」状态，不能执行「{action}」（仅限：{states}）",
        f"cannot {action} a meeting in state {meeting.state.value} (allowed in: {states})",
        details={
            "state": meeting.state.value,
            "action": action,
            "allowed": list(states.split(", ")),
        },
    )


def require_state(meeting: Meeting, action: str, *allowed: MeetingState) -> None:
    if meeting.state not in allowed:
        raise invalid_transition(meeting, action, allowed)


# ------------------------------------------------------------------ settings


def meeting_settings(meeting: Meeting) -> MeetingSettings:
    return msgspec.convert(meeting.settings.get("meeting", {}), MeetingSettings)


def store_meeting_settings(row: Meeting, /, **values: Any) -> None:
    """Replace keys of the meeting's settings JSON (reassigned so the ORM sees the change)."""
    data = dict(row.settings or {})
    for key, value in values.items():
        data[key] = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    row.settings = data


def convener_of(meeting: Meeting) -> str:
    return str(meeting.settings.get("convener", ""))


def owner_salt(meeting: Meeting) -> bytes:
    return bytes.fromhex(str(meeting.settings["owner_salt"]))


# ------------------------------------------------------------------ log


async def append(
    ctx: ServiceContext,
    session: AsyncSession,
    info: MeetingInfo,
    make: Callable[[int], E],
) -> tuple[E, int]:
    """Append the entry ``make(index)`` to the meeting's log (caller's transaction)."""
    made: list[E] = []

    def build(index: int) -> bytes:
        entry = make(index)
        made.append(entry)
        return entry_bytes(entry)

    result = await append_entry(
        session, estate_id=info.meeting.estate_id, meeting_id=info.meeting.id, build=build
    )
    return made[0], result.index


_NOTICES: dict[uuid.UUID, NoticeEntry] = {}


async def load_notice(session: AsyncSession, info: MeetingInfo) -> NoticeEntry:
    """The meeting's notice entry (index 0); immutable once written, so cached."""
    cached = _NOTICES.get(info.meeting.id)
    if cached is not None:
        return cached
    entries = await get_entries(
        session, estate_id=info.meeting.estate_id, meeting_id=info.meeting.id, start=0, stop=1
    )
    if not entries:
        raise Conflict(
            "meeting_not_submitted",
            "会议尚未提交，没有公告",
            "the meeting has not been submitted; it has no notice yet",
        )
    notice = decode_entry(entries[0])
    assert isinstance(notice, NoticeEntry)
    if len(_NOTICES) > 1000:
        _NOTICES.clear()
    _NOTICES[info.meeting.id] = notice
    return notice


async def log_size(session: AsyncSession, meeting: Meeting) -> int:
    head = await get_head(session, estate_id=meeting.estate_id, meeting_id=meeting.id)
    return 0 if head is None else head.size


def checkpoint_origin(ctx: ServiceContext, meeting_id: str) -> str:
    """The checkpoint origin line of a meeting's log: ``<log name>/<meeting id>``."""
    return f"{ctx.settings.log_name}/{meeting_id}"


async def ensure_checkpoint(
    ctx: ServiceContext, session: AsyncSession, info: MeetingInfo
) -> Checkpoint:
    """The stored signed checkpoint of the log's current size, signing it when new."""
    meeting = info.meeting
    head = await get_head(session, estate_id=meeting.estate_id, meeting_id=meeting.id)
    if head is None or head.size == 0:
        raise Conflict("log_empty", "会议日志为空", "the meeting's log is empty")
    existing = await session.get(Checkpoint, (meeting.estate_id, meeting.id, head.size))
    if existing is not None:
        return existing
    body = NoteCheckpoint(
        origin=checkpoint_origin(ctx, info.meeting_id), size=head.size, root_hash=head.root
    ).body()
    note = sign_note(body, ctx.note_signer)
    values = {
        "estate_id": meeting.estate_id,
        "meeting_id": meeting.id,
        "size": head.size,
        "root": head.root,
        "note": note,
        "created_at": ctx.now(),
    }
    dialect = session.get_bind().dialect.name
    # Two readers may sign the same new size at once; Ed25519 is deterministic,
    # so both notes are identical and the second insert is a no-op.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(Checkpoint).values(values).on_conflict_do_nothing())
    stored = await session.get(
        Checkpoint, (meeting.estate_id, meeting.id, head.size), populate_existing=True
    )
    assert stored is not None
    return stored


async def checkpoint_note(session: AsyncSession, checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with every officer cosignature line appended."""
    lines = (
        await session.execute(
            select(Cosignature.line)
            .where(
                Cosignature.estate_id == checkpoint.estate_id,
                Cosignature.meeting_id == checkpoint.meeting_id,
                Cosignature.size == checkpoint.size,
            )
            .order_by(Cosignature.created_at, Cosignature.line)
        )
    ).scalars()
    unique = list(dict.fromkeys(lines))
    return checkpoint.note + "".join(
        line if line.endswith("\n") else line + "\n" for line in unique
    )


# ------------------------------------------------------------------ audit


async def audit(
    session: AsyncSession,
    ctx: ServiceContext,
    actor: Actor | None,
    action: str,
    *,
    estate_id: int | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Record one staff (or, with ``actor`` None, scheduler/system) action."""
    session.add(
        AuditEvent(
            estate_id=estate_id,
            staff_id=None if actor is None else actor.staff_id,
            action=action,
            target=target,
            details=details or {},
            client_ip=ip,
            at=ctx.now(),
        )
    )


# ------------------------------------------------------------------ roster


def unit_from_json(data: dict[str, Any]) -> Unit:
    from votes.model import AreaSource, UnitKind, UnitStatus  # noqa: PLC0415

    return Unit(
        number=str(data["number"]),
        building=str(data["building"]),
        area=int(data["area"]),
        owners=frozenset(data["owners"]),
        kind=UnitKind(data["kind"]),
        status=UnitStatus(data["status"]),
        area_source=AreaSource(data["area_source"]),
    )


def unit_to_json(unit: Unit) -> dict[str, Any]:
    return {
        "number": unit.number,
        "building": unit.building,
        "area": unit.area,
        "owners": sorted(unit.owners),
        "kind": unit.kind.value,
        "status": unit.status.value,
        "area_source": unit.area_source.value,
    }


async def roster_of(session: AsyncSession, meeting: Meeting) -> Roster:
    """The meeting's roster snapshot as :mod:`votes.model` objects (real owner keys)."""
    rows = (
        await session.execute(
            select(RosterMember)
            .where(
                RosterMember.estate_id == meeting.estate_id, RosterMember.meeting_id == meeting.id
            )
            .order_by(RosterMember.position)
        )
    ).scalars()
    members = []
    for row in rows:
        units = tuple(unit_from_json(u) for u in row.units)
        owners = frozenset(o for u in units for o in u.owners)
        members.append(
            Member(id=row.member_id, units=units, owners=owners, is_developer=row.is_developer)
        )
    return Roster(members=tuple(members))


def as_utc(moment: datetime) -> datetime:
    from datetime import UTC  # noqa: PLC0415

    if moment.tzinfo is None or moment.utcoffset() is None:
        from votes.service.errors import Invalid  # noqa: PLC0415

        raise Invalid(
            "naive_time",
            f"时间 {moment.isoformat()} 缺少时区",
            f"time {moment.isoformat()} has no time zone; give UTC (…Z) or an offset",
        )
    return moment.astimezone(UTC).replace(microsecond=0)


# ------------------------------------------------------------------ scopes and states

#: Roles that convene: drafts, notice, letters, paper entry, publication.
CONVENERS = (StaffRole.CONVENER, StaffRole.OPERATOR)

#: The role that approves, certifies, answers objections and signs credential changes.
OFFICERS = (StaffRole.OFFICER,)

_DAY = timedelta(days=1)


def require_meeting_scope(actor: Actor, info: MeetingInfo) -> None:
    """Any staff whose scope holds the meeting's estate; else the meeting's own 404.

    Scope comes before role everywhere: staff outside the scope get exactly the
    answer a nonexistent meeting code gets, whatever their role (actors.py).
    """
    require_estate(
        actor,
        info.estate.id,
        info.estate.subdistrict_id,
        hidden=meeting_not_found(info.meeting.code),
    )


def require_convener(actor: Actor, info: MeetingInfo) -> None:
    """A convener of the meeting's estate, or an operator."""
    require_meeting_scope(actor, info)
    require_role(actor, *CONVENERS)


def require_officer(actor: Actor, info: MeetingInfo) -> None:
    """An officer of the estate's subdistrict (in scope means in that subdistrict)."""
    require_meeting_scope(actor, info)
    require_role(actor, StaffRole.OFFICER)


async def locked(session: AsyncSession, code: str) -> MeetingInfo:
    """The meeting, with its row locked for the rest of the transaction."""
    return await find_meeting(session, code, lock=True)


async def transition_out(
    session: AsyncSession, info: MeetingInfo, index: int | None
) -> TransitionOut:
    return TransitionOut(
        code=info.meeting.code,
        state=info.meeting.state,
        log_index=index,
        log_size=await log_size(session, info.meeting),
    )


def schedule_rules(ctx: ServiceContext, settings: MeetingSettings) -> MeetingSettings:
    """The meeting's settings with its schedule rules filled in and held to the service's.

    A rule left out (None) takes the service's configured value; a rule given must be at
    least as strict (a longer notice, a narrower voting window), because the configured
    values are the city's floor (docs/legal.md §3).  The notice records the result, and
    ``votes verify`` holds the notice's instants to it.
    """
    s = ctx.settings
    rules = msgspec.structs.replace(
        settings,
        notice_days=s.notice_days if settings.notice_days is None else settings.notice_days,
        voting_min_days=(
            s.voting_min_days if settings.voting_min_days is None else settings.voting_min_days
        ),
        voting_max_days=(
            s.voting_max_days if settings.voting_max_days is None else settings.voting_max_days
        ),
    )
    assert rules.notice_days is not None
    assert rules.voting_min_days is not None
    assert rules.voting_max_days is not None
    if rules.notice_days < s.notice_days:
        raise Invalid(
            "bad_settings",
            f"公告期不得少于本服务规定的 {s.notice_days} 天",
            f"notice_days may not be below the service's {s.notice_days}",
            details={"notice_days": s.notice_days},
        )
    if rules.voting_min_days < s.voting_min_days or rules.voting_max_days > s.voting_max_days:
        raise Invalid(
            "bad_settings",
            f"投票期上下限须在本服务规定的 {s.voting_min_days}–{s.voting_max_days} 天之内",
            f"voting_min_days and voting_max_days must lie within the service's "
            f"{s.voting_min_days}-{s.voting_max_days} days",
            details={"voting_min_days": s.voting_min_days, "voting_max_days": s.voting_max_days},
        )
    if rules.voting_min_days > rules.voting_max_days:
        raise Invalid(
            "bad_settings",
            "投票期下限大于上限",
            "voting_min_days is greater than voting_max_days",
        )
    return rules


def check_schedule(
    ctx: ServiceContext,
    *,
    notice_at: datetime,
    open_at: datetime,
    close_at: datetime,
    settings: MeetingSettings | None = None,
) -> None:
    """docs/legal.md §3: at least ``notice_days`` of notice, ``voting_min..max_days`` of voting.

    The rules are the meeting's ``settings`` as :func:`schedule_rules` completes them.
    """
    s = schedule_rules(ctx, settings or MeetingSettings())
    assert s.notice_days is not None
    assert s.voting_min_days is not None
    assert s.voting_max_days is not None
    earliest = notice_at + s.notice_days * _DAY
    if open_at < earliest:
        raise Invalid(
            "notice_period_too_short",
            f"投票开始时间须在公告后至少 {s.notice_days} 天（最早 {earliest.isoformat()}）",
            f"voting may open at least {s.notice_days} days after the notice "
            f"(at the earliest {earliest.isoformat()}; got {open_at.isoformat()})",
            details={"earliest_open_at": earliest.isoformat(), "notice_days": s.notice_days},
        )
    window = close_at - open_at
    if window < s.voting_min_days * _DAY:
        raise Invalid(
            "voting_period_too_short",
            f"投票期不得少于 {s.voting_min_days} 天",
            f"the voting period must last at least {s.voting_min_days} days "
            f"(got {window.total_seconds() / 86400:g})",
            details={"voting_min_days": s.voting_min_days},
        )
    if window > s.voting_max_days * _DAY:
        raise Invalid(
            "voting_period_too_long",
            f"投票期不得超过 {s.voting_max_days} 天",
            f"the voting period must not exceed {s.voting_max_days} days "
            f"(got {window.total_seconds() / 86400:g})",
            details={"voting_max_days": s.voting_max_days},
        )


# ------------------------------------------------------------------ transitions


@dataclass(slots=True, eq=False)
class Step:
    """One staff action on a locked meeting, while its body runs (see :class:`Transition`).

    The body appends through :meth:`append` (which keeps the entry's index for
    the answer), changes the meeting, and fills in what the audit record says:
    ``details``, and ``action`` or ``target`` where they depend on the body.
    """

    ctx: ServiceContext
    session: AsyncSession
    info: MeetingInfo
    action: str
    target: str
    details: dict[str, Any] | None = None
    #: The index of the entry the step appended (None: it logged nothing).
    index: int | None = None
    #: The answer of a state change, built on a clean exit (after the audit record).
    answer: TransitionOut = field(init=False)

    @property
    def meeting(self) -> Meeting:
        return self.info.meeting

    async def append(self, make: Callable[[int], E]) -> E:
        """Append ``make(index)`` to the meeting's log; the index becomes the step's."""
        entry, self.index = await append(self.ctx, self.session, self.info, make)
        return entry


@dataclass(frozen=True, slots=True)
class Transition:
    """A staff action on one meeting, run the way every one of them runs.

    ``async with STEP(ctx, code, actor=actor, ip=ip) as step:`` opens the
    transaction and locks the meeting row (:func:`locked`); checks the actor's
    scope, then the role (``roles``; None: any staff in scope), so that staff
    outside the scope get the meeting's own 404 (:func:`require_meeting_scope`);
    then the state (``states``, refused as :func:`invalid_transition` naming
    ``action``; None: the body checks it). ``actor`` None is the scheduler: not
    checked, audited as the system. The body runs with the :class:`Step`; when
    it leaves cleanly the audit record ``audit_as`` is written (target
    ``meeting:<code>`` unless the body names another), then, if ``answered``,
    the answer (``step.answer``, a :class:`TransitionOut`), and the transaction
    commits. A refusal raised anywhere rolls it all back and writes nothing.
    A step that is not ``answered`` returns its own answer from the body.
    """

    action: str
    audit_as: str
    roles: tuple[StaffRole, ...] | None
    states: tuple[MeetingState, ...] | None = None
    answered: bool = True

    @asynccontextmanager
    async def __call__(
        self, ctx: ServiceContext, code: str, *, actor: Actor | None, ip: str | None = None
    ) -> AsyncIterator[Step]:
        async with ctx.sessions.begin() as session:
            info = await locked(session, code)
            if actor is not None:
                require_meeting_scope(actor, info)
                if self.roles is not None:
                    require_role(actor, *self.roles)
            if self.states is not None:
                require_state(info.meeting, self.action, *self.states)
            step = Step(ctx, session, info, action=self.audit_as, target=f"meeting:{code}")
            yield step
            await audit(
                session,
                ctx,
                actor,
                step.action,
                estate_id=info.meeting.estate_id,
                target=step.target,
                details=step.details,
                ip=ip,
            )
            if self.answered:
                step.answer = await transition_out(session, info, step.index)
