"""Live turnout: a JSON snapshot and a server-sent-event stream.

The stream sends a ``turnout`` event at once, then after every ballot (pushed
through the meeting's channel by whichever app process took it), at most
once per :data:`MIN_INTERVAL_SECONDS` (bursts are coalesced to the newest
figures), and a fresh snapshot from the database every
:data:`REFRESH_SECONDS` even without events — so a Redis outage only slows
the board down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Final

import msgspec
from litestar import Controller, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage

from votes.service import turnout
from votes.service.context import ServiceContext
from votes.service.schemas import TurnoutOut
from web.auth import SKIP_SESSION
from web.live import turnout_channel
from web.routes.api.meetings import MeetingCode

__all__ = ["MIN_INTERVAL_SECONDS", "REFRESH_SECONDS", "TurnoutController"]

REFRESH_SECONDS: Final = 15.0
MIN_INTERVAL_SECONDS: Final = 1.0
_QUEUE_SIZE: Final = 64


class _Event(msgspec.Struct):
    type: str
    turnout: TurnoutOut


def _figures_from_event(raw: bytes) -> TurnoutOut | None:
    """The turnout carried by a channel event, or None if it carries none."""
    try:
        event = msgspec.json.decode(raw, type=_Event)
    except msgspec.DecodeError:
        return None
    return event.turnout if event.type == "turnout" else None


def _message(figures: TurnoutOut) -> ServerSentEventMessage:
    return ServerSentEventMessage(
        event="turnout", data=msgspec.json.encode(figures).decode(), id=str(figures.ballots)
    )


class TurnoutController(Controller):
    path = "/meetings/{code:str}"
    tags = ["turnout 实时参与"]  # noqa: RUF012

    @get(
        "/turnout",
        summary="Participation so far by area and heads, per motion scope (provisional)",
        opt={SKIP_SESSION: True},
    )
    async def snapshot(self, ctx: NamedDependency[ServiceContext], code: MeetingCode) -> TurnoutOut:
        return await turnout.turnout(ctx, code)

    @get(
        "/turnout/stream",
        summary="The same figures as server-sent events (event `turnout`, data TurnoutOut)",
        opt={SKIP_SESSION: True},
    )
    async def stream(
        self,
        ctx: NamedDependency[ServiceContext],
        channels: NamedDependency[ChannelsPlugin],
        code: MeetingCode,
    ) -> ServerSentEvent:
        await turnout.turnout(ctx, code)  # an unknown meeting is a 404 before streaming

        async def events() -> AsyncGenerator[ServerSentEventMessage, None]:
            queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=_QUEUE_SIZE)

            async def received(raw: bytes) -> None:
                if queue.full():
                    queue.get_nowait()  # keep the newest
                queue.put_nowait(raw)

            async with (
                channels.start_subscription(turnout_channel(code)) as subscriber,
                subscriber.run_in_background(received),
            ):
                # Subscribed first, then the snapshot: no ballot falls between the two.
                yield _message(await turnout.turnout(ctx, code))
                last_sent = time.monotonic()
                while True:
                    latest: TurnoutOut | None = None
                    raw: bytes | None
                    try:
                        raw = await asyncio.wait_for(queue.get(), timeout=REFRESH_SECONDS)
                    except TimeoutError:
                        raw = None
                    if raw is not None:
                        wait = MIN_INTERVAL_SECONDS - (time.monotonic() - last_sent)
                        if wait > 0:
                            await asyncio.sleep(wait)
                        while not queue.empty():
                            raw = queue.get_nowait()  # coalesce a burst
                        latest = _figures_from_event(raw)
                    if latest is None:
                        latest = await turnout.turnout(ctx, code)
                    last_sent = time.monotonic()
                    yield _message(latest)

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})
