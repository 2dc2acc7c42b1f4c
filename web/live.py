"""Live turnout: Litestar channels (Redis pub/sub or memory) and the service's event sink.

The service publishes a turnout event after each committed ballot through
:class:`ChannelsEventPublisher`; every app process subscribed to the meeting's
channel pushes it to its server-sent-event clients. The Redis backend is
wrapped by :class:`ResilientChannelsBackend`, so a Redis outage only pauses the
push (the SSE stream still sends a fresh snapshot from the database every few
seconds) and never fails a ballot or kills the plugin's worker tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any, Final

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from votes.settings import Settings
from web.stores import redis_client

__all__ = [
    "ChannelsEventPublisher",
    "ResilientChannelsBackend",
    "build_channels",
    "turnout_channel",
]

logger = logging.getLogger(__name__)
_RETRY_SECONDS: Final = 2.0


def turnout_channel(meeting_code: str) -> str:
    """The channel carrying turnout events of one meeting."""
    return f"turnout:{meeting_code}"


class ResilientChannelsBackend(ChannelsBackend):
    """Wrap a channels backend so its failures are logged, never raised.

    ``publish`` drops the event when the backend fails (subscribers catch up
    with their periodic snapshot); ``stream_events`` restarts the inner stream
    after a pause, and re-subscribes to the channels in use.
    """

    def __init__(
        self, inner: ChannelsBackend, *, name: str = "redis", client: Redis | None = None
    ) -> None:
        self._inner = inner
        self._name = name
        self._client = client  # closed on shutdown
        self._channels: set[str] = set()
        self._failing = False

    def _failed(self, action: str, error: BaseException) -> None:
        if not self._failing:
            logger.warning(
                "channels (%s): %s failed (%s: %s); live turnout paused",
                self._name,
                action,
                type(error).__name__,
                error,
            )
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            logger.warning("channels (%s): backend reachable again", self._name)
        self._failing = False

    async def on_startup(self) -> None:
        try:
            await self._inner.on_startup()
        except Exception as error:
            self._failed("startup", error)

    async def on_shutdown(self) -> None:
        try:
            await self._inner.on_shutdown()
            if self._client is not None:
                await self._client.aclose()
        except Exception as error:
            logger.info("channels (%s): shutdown error ignored: %s", self._name, error)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        try:
            await self._inner.publish(data, channels)
        except Exception as error:
            self._failed("publish", error)
        else:
            self._recovered()

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self._channels.update(channels)
        try:
            await self._inner.subscribe(channels)
        except Exception as error:
            self._failed("subscribe", error)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self._channels.difference_update(channels)
        try:
            await self._inner.unsubscribe(channels)
        except Exception as error:
            self._failed("unsubscribe", error)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            try:
                async for channel, data in self._inner.stream_events():
                    self._recovered()
                    yield channel, data
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._failed("receive", error)
            await asyncio.sleep(_RETRY_SECONDS)
            if self._channels:
                try:
                    await self._inner.subscribe(list(self._channels))
                except Exception as error:
                    self._failed("re-subscribe", error)

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        return []


class ChannelsEventPublisher:
    """The service's ``EventPublisher``: events go to the meeting's turnout channel.

    Publishing only queues the event (the plugin's worker sends it), and never
    raises: a receipt must not wait for, or fail because of, live turnout.
    """

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self._plugin = plugin

    async def publish(self, meeting_code: str, event: dict[str, Any]) -> None:
        try:
            self._plugin.publish(event, turnout_channel(meeting_code))
        except Exception as error:  # not started yet, or an unencodable event
            logger.warning("turnout event for %s dropped: %s", meeting_code, error)


def build_channels(settings: Settings) -> ChannelsPlugin:
    """Redis pub/sub when ``settings.redis_url`` is set, else the in-process backend."""
    backend: ChannelsBackend
    if settings.redis_url:
        client = redis_client(settings.redis_url, pubsub=True)
        backend = ResilientChannelsBackend(
            RedisChannelsPubSubBackend(redis=client, key_prefix="OWNER_VOTE_CHANNELS"),
            client=client,
        )
    else:
        backend = ResilientChannelsBackend(MemoryChannelsBackend(), name="memory")
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        # A slow SSE client must not hold unbounded events: keep the newest.
        subscriber_max_backlog=32,
        subscriber_backlog_strategy="dropleft",
    )
