"""Deadlines: open, close and tally every meeting whose instant has passed.

Exactly once with any number of processes: each step runs in its own
transaction that locks the meeting row and re-checks the state, so a second
process arriving at the same time finds the step done and skips it. After a
restart the next run catches up on every deadline missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import or_, select

from votes.enums import MeetingState
from votes.service import meetings
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.storage.models import Meeting

__all__ = ["Scheduler", "run_due"]

_log = logging.getLogger(__name__)

# Refusals that mean "another process did it already" (or it is not due after all).
_ALREADY = frozenset({"invalid_transition", "too_early"})


async def run_due(ctx: ServiceContext) -> list[str]:
    """Do every due step; return what this call did, as ``"<step>:<meeting code>"``."""
    now = ctx.now()
    async with ctx.readers() as session:
        rows = await session.execute(
            select(Meeting.code, Meeting.state)
            .where(
                or_(
                    (Meeting.state == MeetingState.NOTICE) & (Meeting.open_at <= now),
                    (Meeting.state == MeetingState.OPEN) & (Meeting.close_at <= now),
                    Meeting.state == MeetingState.CLOSED,
                )
            )
            .order_by(Meeting.close_at)
        )
        due = [(code, state) for code, state in rows]
    done: list[str] = []
    for code, state in due:
        steps = {
            MeetingState.NOTICE: ("open", "close", "tally"),
            MeetingState.OPEN: ("close", "tally"),
            MeetingState.CLOSED: ("tally",),
        }[state]
        for step in steps:
            action = {
                "open": meetings.open_meeting,
                "close": meetings.close_meeting,
                "tally": meetings.tally_meeting,
            }[step]
            try:
                await action(ctx, code)
            except ServiceError as exc:
                if exc.code not in _ALREADY:
                    _log.error("scheduler: %s of meeting %s refused: %s", step, code, exc)
                # Either another process did this step (and will do the next ones,
                # or already did) or it is not due; the next run re-checks.
                break
            except Exception:
                _log.exception("scheduler: %s of meeting %s failed", step, code)
                break
            done.append(f"{step}:{code}")
            _log.info("scheduler: %s meeting %s", step, code)
    return done


class Scheduler:
    """Runs :func:`run_due` every ``interval`` seconds in the background (one per process)."""

    def __init__(self, ctx: ServiceContext, interval: float | None = None) -> None:
        self.ctx = ctx
        self.interval = float(
            ctx.settings.scheduler_interval_seconds if interval is None else interval
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="votes-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while True:
            try:
                await run_due(self.ctx)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("scheduler run failed")
            await asyncio.sleep(self.interval)
