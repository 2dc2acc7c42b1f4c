"""Live turnout: participation so far by area and heads, per motion scope (provisional)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from votes.record.entries import NoticeEntry, motion_from_wire, roster_from_wire
from votes.roster import format_area, member_weight
from votes.service._common import MeetingInfo, find_meeting, load_notice
from votes.service.context import ServiceContext
from votes.service.errors import NotFound
from votes.service.schemas import ScopeTurnout, TurnoutOut
from votes.storage.models import Ballot, MeetingState

__all__ = ["turnout", "turnout_in_session"]

_BEFORE_NOTICE = (MeetingState.DRAFT, MeetingState.SUBMITTED, MeetingState.APPROVED)


@dataclass(frozen=True, slots=True)
class _Scope:
    scope: frozenset[str] | None
    motions: tuple[str, ...]
    weights: dict[str, tuple[int, int]]  # member id -> (area, heads)
    total_area: int
    total_heads: int


_SCOPES: dict[uuid.UUID, tuple[_Scope, ...]] = {}


def _scopes(meeting_id: uuid.UUID, notice: NoticeEntry) -> tuple[_Scope, ...]:
    """Member weights per distinct motion scope; the notice is frozen, so cached."""
    cached = _SCOPES.get(meeting_id)
    if cached is not None:
        return cached
    roster = roster_from_wire(notice.roster)
    parking = notice.settings.include_parking
    motions_of: dict[frozenset[str] | None, list[str]] = {}
    for wire in notice.agenda:
        motion = motion_from_wire(wire)
        motions_of.setdefault(motion.scope, []).append(motion.id)
    scopes = []
    for scope, motion_ids in motions_of.items():
        weights: dict[str, tuple[int, int]] = {}
        for member in roster.members:
            weight = member_weight(member, include_parking=parking, scope=scope)
            if weight.heads or weight.area:
                weights[member.id] = (weight.area, weight.heads)
        scopes.append(
            _Scope(
                scope=scope,
                motions=tuple(motion_ids),
                weights=weights,
                total_area=sum(a for a, _ in weights.values()),
                total_heads=sum(h for _, h in weights.values()),
            )
        )
    result = tuple(scopes)
    if len(_SCOPES) > 1000:
        _SCOPES.clear()
    _SCOPES[meeting_id] = result
    return result


async def turnout_in_session(
    ctx: ServiceContext, session: AsyncSession, info: MeetingInfo
) -> TurnoutOut:
    meeting = info.meeting
    notice = await load_notice(session, info)
    rows = await session.execute(
        select(Ballot.member_id).where(
            Ballot.estate_id == meeting.estate_id, Ballot.meeting_id == meeting.id
        )
    )
    ballots = 0
    voted: set[str] = set()
    for (member_id,) in rows:
        ballots += 1
        voted.add(member_id)
    scopes = []
    for scope in _scopes(meeting.id, notice):
        area = heads = 0
        for member_id in voted:
            weight = scope.weights.get(member_id)
            if weight is not None:
                area += weight[0]
                heads += weight[1]
        scopes.append(
            ScopeTurnout(
                scope=None if scope.scope is None else sorted(scope.scope),
                motions=list(scope.motions),
                total_area=format_area(scope.total_area),
                total_heads=scope.total_heads,
                voted_area=format_area(area),
                voted_heads=heads,
            )
        )
    return TurnoutOut(
        meeting=meeting.code,
        state=meeting.state,
        provisional=meeting.state in (MeetingState.NOTICE, MeetingState.OPEN, MeetingState.CLOSED),
        ballots=ballots,
        scopes=scopes,
        at=ctx.now(),
    )


async def turnout(ctx: ServiceContext, code: str) -> TurnoutOut:
    """Participation so far (members who cast any ballot), by area and heads per motion scope."""
    async with ctx.readers() as session:
        info = await find_meeting(session, code)
        if info.meeting.state in _BEFORE_NOTICE:
            raise NotFound(
                "meeting_not_found", f"会议 {code!r} 不存在", f"meeting {code!r} does not exist"
            )
        return await turnout_in_session(ctx, session, info)
