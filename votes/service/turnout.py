"""Live turnout: participation so far by area and heads, per motion scope (provisional)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from votes.enums import MeetingState
from votes.record.entries import NoticeEntry, motion_from_wire, roster_from_wire
from votes.roster import member_weight
from votes.rules import format_area
from votes.service._common import MeetingInfo, find_meeting, load_notice
from votes.service.actors import meeting_not_found
from votes.service.context import ServiceContext
from votes.service.schemas import ScopeTurnout, TurnoutOut
from votes.storage.models import Ballot, Meeting

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


@dataclass(slots=True)
class _Voted:
    """The ballots of a meeting counted so far, up to and including ``last``."""

    last: tuple[int, bytes] | None = None  # (log index, ballot hash) of the last one counted
    ballots: int = 0
    members: set[str] = field(default_factory=set)
    area: list[int] = field(default_factory=list)  # per scope, of the members who voted
    heads: list[int] = field(default_factory=list)

    def count(self, scopes: tuple[_Scope, ...], member_id: str) -> None:
        self.ballots += 1
        if member_id in self.members:
            return
        self.members.add(member_id)
        for i, scope in enumerate(scopes):
            weight = scope.weights.get(member_id)
            if weight is not None:
                self.area[i] += weight[0]
                self.heads[i] += weight[1]


_VOTED: dict[uuid.UUID, _Voted] = {}
_BALLOTS = cast(Table, Ballot.__table__)


async def _voted(session: AsyncSession, meeting: Meeting, scopes: tuple[_Scope, ...]) -> _Voted:
    """Who has voted so far, reading only the ballots logged since the last call.

    Ballot rows are never deleted and are committed in log order (appends take
    turns on the log head), so a read that sees index i has seen every ballot
    before it: each call reads only the ballots from the last one counted on
    (by the (meeting, log index) unique index) instead of all the meeting's
    ballots, which live turnout would otherwise do about once a second per
    process during voting. The last one counted is read again as a check: if
    it is not there (a database restored from a backup, another database with
    the same meeting), the count starts over.
    """
    seen = _VOTED.get(meeting.id)
    while True:
        if seen is None:
            if len(_VOTED) > 1000:
                _VOTED.clear()
            seen = _VOTED[meeting.id] = _Voted(area=[0] * len(scopes), heads=[0] * len(scopes))
        start = seen.last
        rows = (
            await session.execute(
                select(_BALLOTS.c.log_index, _BALLOTS.c.ballot_hash, _BALLOTS.c.member_id)
                .where(
                    _BALLOTS.c.estate_id == meeting.estate_id,
                    _BALLOTS.c.meeting_id == meeting.id,
                    _BALLOTS.c.log_index >= (0 if start is None else start[0]),
                )
                .order_by(_BALLOTS.c.log_index)
            )
        ).all()
        if start is not None and (not rows or (rows[0][0], rows[0][1]) != start):
            # Not the ballots counted before: count again from the start (once: the next
            # read starts at index 0 and checks nothing).
            if _VOTED.get(meeting.id) is seen:
                del _VOTED[meeting.id]
            seen = None
            continue
        # No await from here on; a concurrent call may have counted some of these meanwhile.
        done = -1 if seen.last is None else seen.last[0]
        for index, ballot_hash, member_id in rows:
            if index > done:
                seen.count(scopes, member_id)
                seen.last = (index, ballot_hash)
        return seen


async def turnout_in_session(
    ctx: ServiceContext, session: AsyncSession, info: MeetingInfo
) -> TurnoutOut:
    meeting = info.meeting
    notice = await load_notice(session, info)
    scopes = _SCOPES.get(meeting.id)
    if scopes is None:
        # Seconds of pure Python for a large estate, once per process and meeting: in a
        # thread, so the event loop keeps serving (ballots) meanwhile.
        scopes = await asyncio.to_thread(_scopes, meeting.id, notice)
    voted = await _voted(session, meeting, scopes)
    figures = [
        ScopeTurnout(
            scope=None if scope.scope is None else sorted(scope.scope),
            motions=list(scope.motions),
            total_area=format_area(scope.total_area),
            total_heads=scope.total_heads,
            voted_area=format_area(area),
            voted_heads=heads,
        )
        for scope, area, heads in zip(scopes, voted.area, voted.heads, strict=True)
    ]
    return TurnoutOut(
        meeting=meeting.code,
        state=meeting.state,
        provisional=meeting.state in (MeetingState.NOTICE, MeetingState.OPEN, MeetingState.CLOSED),
        ballots=voted.ballots,
        scopes=figures,
        at=ctx.now(),
    )


async def turnout(ctx: ServiceContext, code: str) -> TurnoutOut:
    """Participation so far (members who cast any ballot), by area and heads per motion scope."""
    async with ctx.readers() as session:
        info = await find_meeting(session, code)
        if info.meeting.state in _BEFORE_NOTICE:
            raise meeting_not_found(code)
        return await turnout_in_session(ctx, session, info)
