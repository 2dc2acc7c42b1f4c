"""Turnout channels over memory and Redis, and their behaviour when Redis is down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.databases import STORES, closed_redis_url, store_url
from votes.settings import Settings
from web.live import ChannelsEventPublisher, build_channels, turnout_channel


def _settings(tmp_path: Path, redis_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path, redis_url=redis_url)


@pytest.fixture(params=STORES)
def channel_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return _settings(tmp_path, store_url(request))


async def test_published_event_reaches_a_subscriber(channel_settings: Settings) -> None:
    plugin = build_channels(channel_settings)
    publisher = ChannelsEventPublisher(plugin)
    async with plugin, plugin.start_subscription(turnout_channel("M1")) as subscriber:
        await asyncio.sleep(0.1)  # Redis: let the SUBSCRIBE land first
        await publisher.publish("M1", {"ballots": 3})
        events = subscriber.iter_events()
        raw = await asyncio.wait_for(events.__anext__(), timeout=5)
    assert msgspec.json.decode(raw) == {"ballots": 3}


async def test_events_of_another_meeting_are_not_delivered(channel_settings: Settings) -> None:
    plugin = build_channels(channel_settings)
    publisher = ChannelsEventPublisher(plugin)
    async with plugin, plugin.start_subscription(turnout_channel("M1")) as subscriber:
        await asyncio.sleep(0.1)
        await publisher.publish("M2", {"ballots": 1})
        await publisher.publish("M1", {"ballots": 2})
        raw = await asyncio.wait_for(subscriber.iter_events().__anext__(), timeout=5)
    assert msgspec.json.decode(raw) == {"ballots": 2}


async def test_two_plugins_share_events_through_redis(tmp_path: Path, redis_url: str) -> None:
    """Two app processes: a ballot taken by one reaches the other's subscribers."""
    sender = build_channels(_settings(tmp_path, redis_url))
    receiver = build_channels(_settings(tmp_path, redis_url))
    async with (
        sender,
        receiver,
        receiver.start_subscription(turnout_channel("M9")) as subscriber,
    ):
        await asyncio.sleep(0.1)
        await ChannelsEventPublisher(sender).publish("M9", {"ballots": 7})
        raw = await asyncio.wait_for(subscriber.iter_events().__anext__(), timeout=5)
    assert msgspec.json.decode(raw) == {"ballots": 7}


async def test_publishing_with_redis_down_neither_raises_nor_blocks(tmp_path: Path) -> None:
    plugin = build_channels(_settings(tmp_path, closed_redis_url()))
    publisher = ChannelsEventPublisher(plugin)
    async with plugin, plugin.start_subscription(turnout_channel("M1")):
        for count in range(3):
            await asyncio.wait_for(publisher.publish("M1", {"ballots": count}), timeout=2)
        await asyncio.sleep(0.2)
    # Leaving the context shut the plugin down: its queue drained despite the failures.


async def test_publishing_before_startup_is_dropped_quietly(tmp_path: Path) -> None:
    plugin = build_channels(_settings(tmp_path, None))
    await ChannelsEventPublisher(plugin).publish("M1", {"ballots": 1})
