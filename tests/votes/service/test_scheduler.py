"""The scheduler: deadlines met exactly once across processes, and caught up after a restart."""

from __future__ import annotations

import asyncio

import msgspec

from tests.votes.service.conftest import Backend, FakeClock, World, make_context, signed_ballot
from votes.service import ballots, meetings, record, scheduler


async def _entry_types(world: World, code: str) -> list[str]:
    data = await record.bundle(world.ctx, code)
    return [e["type"] for e in msgspec.json.decode(data)["entries"]]


async def test_nothing_due_does_nothing(world: World) -> None:
    await world.noticed()
    assert await scheduler.run_due(world.ctx) == []


async def test_opens_at_open_at(world: World) -> None:
    code = await world.noticed()
    meeting = await meetings.get_meeting(world.ctx, code)
    assert meeting.open_at is not None
    world.clock.set(meeting.open_at)
    assert await scheduler.run_due(world.ctx) == [f"open:{code}"]
    assert (await meetings.get_meeting(world.ctx, code)).state == "open"


async def test_two_processes_close_and_tally_exactly_once(
    world: World, backend: Backend, clock: FakeClock
) -> None:
    code = await world.opened()
    raw, sig = signed_ballot(world, code, "member:1-101", {"M1": "agree"})
    await ballots.cast_ballot(world.ctx, code, raw, sig)
    await world.to_close(code)
    # A second "process": its own engine and connection pool on the same database.
    other = make_context(backend, clock)
    try:
        done = await asyncio.gather(scheduler.run_due(world.ctx), scheduler.run_due(other))
    finally:
        await other.close()
    assert sorted(step for steps in done for step in steps) == [f"close:{code}", f"tally:{code}"]
    types = await _entry_types(world, code)
    assert (types.count("closing"), types.count("tally")) == (1, 1)
    assert (await meetings.get_meeting(world.ctx, code)).state == "tallied"


async def test_catches_up_after_a_restart(world: World, backend: Backend, clock: FakeClock) -> None:
    """Down from before the opening until after the close: one run opens, closes and tallies."""
    code = await world.noticed()
    meeting = await meetings.get_meeting(world.ctx, code)
    assert meeting.close_at is not None
    clock.set(meeting.close_at)
    clock.advance(days=3)
    restarted = make_context(backend, clock)
    try:
        done = await scheduler.run_due(restarted)
    finally:
        await restarted.close()
    assert done == [f"open:{code}", f"close:{code}", f"tally:{code}"]
    assert (await _entry_types(world, code))[-3:] == ["open", "closing", "tally"]


async def test_a_closed_but_untallied_meeting_is_tallied(world: World) -> None:
    code = await world.opened()
    await world.to_close(code)
    await meetings.close_meeting(world.ctx, code)
    assert await scheduler.run_due(world.ctx) == [f"tally:{code}"]


async def test_background_scheduler_runs_until_stopped(world: World) -> None:
    code = await world.opened()
    await world.to_close(code)
    task = scheduler.Scheduler(world.ctx, interval=0.01)
    task.start()
    try:
        for _ in range(500):
            if (await meetings.get_meeting(world.ctx, code)).state == "tallied":
                break
            await asyncio.sleep(0.01)
        assert task.running
    finally:
        await task.stop()
    assert not task.running
    assert (await meetings.get_meeting(world.ctx, code)).state == "tallied"
