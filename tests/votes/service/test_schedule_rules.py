"""The schedule rules a meeting is held to are recorded on its notice (docs/verification.md).

``notice_days``, ``voting_min_days`` and ``voting_max_days`` default to the
service's configuration; a meeting may set stricter ones, never laxer ones, and
the exported bundle's notice carries the rules that ``votes verify`` checks.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import msgspec
import pytest

from tests.votes.service.conftest import World
from votes.record.entries import NoticeEntry
from votes.record.verify import verify_bundle
from votes.service import meetings, record
from votes.service.errors import ServiceError
from votes.service.schemas import MeetingSettings, UpdateMeetingRequest


async def _refused(code: str, awaitable: object) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code == code, (caught.value.code, caught.value.message_en)
    return caught.value


async def _notice(world: World, code: str) -> NoticeEntry:
    bundle = msgspec.json.decode(await record.bundle(world.ctx, code))
    return msgspec.convert(bundle["entries"][0], NoticeEntry)


async def test_notice_records_the_services_schedule_rules(world: World) -> None:
    service = dataclasses.replace(world.ctx.settings, notice_days=7, voting_max_days=30)
    world.ctx = dataclasses.replace(world.ctx, settings=service)
    code = await world.submitted()
    settings = (await _notice(world, code)).settings
    assert (settings.notice_days, settings.voting_min_days, settings.voting_max_days) == (
        7,
        service.voting_min_days,
        30,
    )


async def test_stricter_notice_days_of_the_meeting_is_recorded(world: World) -> None:
    now = world.clock.now
    code = await world.submitted(
        settings=MeetingSettings(notice_days=20),
        open_at=now + timedelta(days=21),
        close_at=now + timedelta(days=31),
    )
    assert (await _notice(world, code)).settings.notice_days == 20


async def test_stricter_notice_days_of_the_meeting_is_held_to(world: World) -> None:
    # Sixteen days' notice is enough for the service's 15, not for the meeting's 20.
    error = await _refused(
        "notice_period_too_short", world.draft(settings=MeetingSettings(notice_days=20))
    )
    assert error.status == 422


@pytest.mark.parametrize(
    "rules",
    [{"notice_days": 14}, {"voting_min_days": 4}, {"voting_max_days": 61}],
    ids=["short-notice", "short-minimum", "long-maximum"],
)
async def test_rules_laxer_than_the_services_are_refused(
    world: World, rules: dict[str, int]
) -> None:
    error = await _refused("bad_settings", world.draft(settings=MeetingSettings(**rules)))
    assert error.status == 422
    assert error.message_zh
    assert error.message_en


async def test_minimum_above_maximum_is_refused(world: World) -> None:
    settings = MeetingSettings(voting_min_days=20, voting_max_days=10)
    await _refused("bad_settings", world.draft(settings=settings))


async def test_laxer_rules_in_a_draft_update_change_nothing(world: World) -> None:
    code = await world.draft()
    before = await meetings.get_meeting(world.ctx, code, actor=world.convener_a)
    request = UpdateMeetingRequest(settings=MeetingSettings(notice_days=1))
    update = meetings.update_draft(world.ctx, code, request, actor=world.convener_a)
    await _refused("bad_settings", update)
    assert await meetings.get_meeting(world.ctx, code, actor=world.convener_a) == before


async def test_submitted_meetings_notice_meets_its_recorded_rules(world: World) -> None:
    # Only what a meeting not yet open lacks is reported: nothing about its schedule.
    code = await world.submitted()
    report = verify_bundle(await record.bundle(world.ctx, code))
    period = next(c for c in report.checks if c.spec.name == "voting-period")
    assert [f.message for f in period.findings] == [
        "the log has no open entry: voting never opened",
        "the log has no closing entry: voting has not closed",
    ]


async def test_seats_on_a_motion_other_than_an_election_are_refused(world: World) -> None:
    # The notice's format gives seats only to elections; votes verify refuses others.
    motions = world.motions()
    motions[0] = msgspec.structs.replace(motions[0], seats=3)
    await _refused("bad_motion", world.draft(motions=motions))
