"""Every allowed and refused transition of the meeting lifecycle, on a fake clock."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

import msgspec
import pytest

from crypto.signing import Domain
from tests.votes.service.conftest import World, approve_request, checkpoint_body, signed_ballot
from votes.enums import MeetingState
from votes.record.entries import decode_entry, return_body
from votes.service import accounts, ballots, credentials, meetings, objections, record, regions
from votes.service._common import find_meeting
from votes.service.errors import ServiceError
from votes.service.schemas import (
    AnswerObjectionRequest,
    CertifyRequest,
    MeetingSettings,
    MemberObjectionRequest,
    MotionIn,
    ReturnRequest,
    StaffObjectionRequest,
    UpdateMeetingRequest,
)
from votes.storage import get_entries


async def _entry_types(world: World, code: str) -> list[str]:
    data = await record.bundle(world.ctx, code)

    return [e["type"] for e in msgspec.json.decode(data)["entries"]]


async def _refused(code: str, awaitable: object) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code == code, (caught.value.code, caught.value.message_en)
    return caught.value


# ---------------------------------------------------------------------- draft


async def test_draft_motions_can_be_added_and_removed(world: World) -> None:
    code = await world.draft()
    out = await meetings.add_motion(
        world.ctx, code, MotionIn(id="M9", title="新增议题", item=9), actor=world.convener_a
    )
    assert [m.id for m in out.motions] == ["M1", "M2", "M3", "M9"]
    out = await meetings.remove_motion(world.ctx, code, "M2", actor=world.convener_a)
    assert [m.id for m in out.motions] == ["M1", "M3", "M9"]


async def test_draft_update_changes_title_and_dates(world: World) -> None:
    code = await world.draft()
    new_open = world.clock.now + timedelta(days=20)
    out = await meetings.update_draft(
        world.ctx,
        code,
        UpdateMeetingRequest(
            title="新标题", open_at=new_open, close_at=new_open + timedelta(days=7)
        ),
        actor=world.convener_a,
    )
    assert (out.title, out.open_at) == ("新标题", new_open)


async def test_motion_change_refused_after_submit(world: World) -> None:
    code = await world.submitted()
    error = await _refused(
        "invalid_transition",
        meetings.add_motion(
            world.ctx, code, MotionIn(id="M9", title="x", item=9), actor=world.convener_a
        ),
    )
    assert error.status == 409
    await _refused(
        "invalid_transition", meetings.remove_motion(world.ctx, code, "M1", actor=world.convener_a)
    )
    await _refused(
        "invalid_transition",
        meetings.update_draft(
            world.ctx, code, UpdateMeetingRequest(title="x"), actor=world.convener_a
        ),
    )


async def test_duplicate_motion_id_refused(world: World) -> None:
    code = await world.draft()
    await _refused(
        "duplicate_motion",
        meetings.add_motion(
            world.ctx, code, MotionIn(id="M1", title="x", item=9), actor=world.convener_a
        ),
    )


async def test_notice_shorter_than_fifteen_days_refused(world: World) -> None:
    now = world.clock.now
    error = await _refused(
        "notice_period_too_short",
        world.draft(open_at=now + timedelta(days=14, hours=23), close_at=now + timedelta(days=25)),
    )
    assert error.status == 422


async def test_notice_period_follows_the_setting(world: World) -> None:
    """A city with 7 days' notice (settings.notice_days) accepts an opening 7 days away."""
    settings = dataclasses.replace(world.ctx.settings, notice_days=7)
    world.ctx = dataclasses.replace(world.ctx, settings=settings)
    now = world.clock.now
    code = await world.draft(open_at=now + timedelta(days=7), close_at=now + timedelta(days=17))
    assert code


@pytest.mark.parametrize(
    ("days", "code"),
    [(4, "voting_period_too_short"), (61, "voting_period_too_long")],
)
async def test_voting_window_outside_5_to_60_days_refused(
    world: World, days: int, code: str
) -> None:
    opening = world.clock.now + timedelta(days=16)
    await _refused(code, world.draft(open_at=opening, close_at=opening + timedelta(days=days)))


@pytest.mark.parametrize("days", [5, 60])
async def test_voting_window_bounds_accepted(world: World, days: int) -> None:
    opening = world.clock.now + timedelta(days=16)
    assert await world.draft(open_at=opening, close_at=opening + timedelta(days=days))


# ---------------------------------------------------------------------- submit


async def test_submit_writes_the_notice_and_freezes_the_roster(world: World) -> None:
    code = await world.submitted()
    meeting = await meetings.get_meeting(world.ctx, code, actor=world.convener_a)
    assert meeting.state == MeetingState.SUBMITTED
    assert meeting.log_size == 1
    before = await record.public_roster(world.ctx, code)
    # A new roster import for the estate does not change the submitted meeting.
    await regions.import_roster(
        world.ctx,
        world.estate_a,
        "r.csv",
        b"unit,building,area,owner\n9-901,9,50.00,Z\n",
        actor=world.convener_a,
    )
    after = await record.public_roster(world.ctx, code)
    assert after == before
    assert before.roster_root == meeting.roster_root


async def test_submit_refused_without_letters(world: World) -> None:
    code = await world.draft()
    await _refused("letters_missing", meetings.submit(world.ctx, code, actor=world.convener_a))


async def test_submit_refused_without_motions(world: World) -> None:
    code = await world.draft(motions=[])
    await credentials.issue_letters(world.ctx, code, actor=world.convener_a)
    await _refused("no_motions", meetings.submit(world.ctx, code, actor=world.convener_a))


async def test_submit_refused_for_a_motion_scoped_to_a_building_not_in_the_roster(
    world: World,
) -> None:
    motions = [*world.motions(), MotionIn(id="M4", title="9号楼外墙", item=5, scope=["2", "9"])]
    code = await world.draft(motions=motions)
    await credentials.issue_letters(world.ctx, code, actor=world.convener_a)
    error = await _refused(
        "unknown_building", meetings.submit(world.ctx, code, actor=world.convener_a)
    )
    assert (error.status, error.details) == (422, {"motion": "M4", "buildings": ["9"]})
    meeting = await meetings.get_meeting(world.ctx, code, actor=world.convener_a)
    assert (meeting.state, meeting.log_size) == (MeetingState.DRAFT, 0)


async def test_letters_refused_after_submit(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "invalid_transition", credentials.issue_letters(world.ctx, code, actor=world.convener_a)
    )


# ---------------------------------------------------------------------- approve / notice


async def test_approve_refused_before_submit(world: World) -> None:
    code = await world.draft()
    await _refused(
        "invalid_transition",
        meetings.approval_request(world.ctx, code, actor=world.officer_a.actor),
    )


async def test_approval_writes_entry_and_state(world: World) -> None:
    code = await world.approved()
    assert (await meetings.get_meeting(world.ctx, code, actor=world.convener_a)).state == "approved"
    assert await _entry_types(world, code) == ["notice", "approval"]


async def test_publish_notice_refused_until_officer_cosigns_the_approval(world: World) -> None:

    code = await world.submitted()
    request = await meetings.approval_request(world.ctx, code, actor=world.officer_a.actor)
    await meetings.approve(
        world.ctx,
        code,
        approve_request(
            world.officer_a, request.approval_body, request.checkpoint, world.clock.now
        ),
        actor=world.officer_a.actor,
    )
    await _refused(
        "approval_not_cosigned", meetings.publish_notice(world.ctx, code, actor=world.convener_a)
    )


async def test_publish_notice_refused_when_opening_is_too_close(world: World) -> None:
    code = await world.approved()
    world.clock.advance(days=2)  # 16 days were planned; 14 remain
    await _refused(
        "notice_period_too_short", meetings.publish_notice(world.ctx, code, actor=world.convener_a)
    )


async def test_publish_notice_sets_the_notice_time(world: World) -> None:
    code = await world.approved()
    world.clock.advance(hours=3)
    await meetings.publish_notice(world.ctx, code, actor=world.convener_a)
    meeting = await meetings.get_meeting(world.ctx, code)
    assert (meeting.state, meeting.notice_at) == ("notice", world.clock.now)


# ---------------------------------------------------------------------- open / close


async def test_open_refused_before_open_at(world: World) -> None:
    code = await world.noticed()
    await _refused("too_early", meetings.open_meeting(world.ctx, code))


async def test_open_refused_before_notice(world: World) -> None:
    code = await world.approved()
    world.clock.advance(days=30)
    await _refused("invalid_transition", meetings.open_meeting(world.ctx, code))


async def test_open_at_open_at_writes_open_entry(world: World) -> None:
    code = await world.opened()
    assert (await _entry_types(world, code))[-1] == "open"


async def test_close_refused_before_deadline(world: World) -> None:
    code = await world.opened()
    world.clock.advance(days=9, hours=23)
    await _refused("too_early", meetings.close_meeting(world.ctx, code))


async def test_tally_refused_while_open(world: World) -> None:
    code = await world.opened()
    await _refused("invalid_transition", meetings.tally_meeting(world.ctx, code))


async def test_close_then_tally_writes_both_entries(world: World) -> None:
    code = await world.opened()
    await world.to_close(code)
    await meetings.close_meeting(world.ctx, code)
    await meetings.tally_meeting(world.ctx, code)
    assert (await _entry_types(world, code))[-2:] == ["closing", "tally"]
    result = await record.result(world.ctx, code)
    assert (result.state, result.certified) == ("tallied", False)


async def test_voting_after_close_refused(world: World) -> None:
    code = await world.opened()
    await world.to_close(code)  # the deadline has passed; the scheduler has not run yet
    raw, sig = signed_ballot(world, code, "member:1-101", {"M1": "agree"})
    await _refused("meeting_closed", ballots.cast_ballot(world.ctx, code, raw, sig))


# ---------------------------------------------------------------------- certify / return


async def _tallied(world: World) -> str:
    code = await world.opened()
    await world.to_close(code)
    await meetings.close_meeting(world.ctx, code)
    await meetings.tally_meeting(world.ctx, code)
    return code


async def _certify_request(world: World, code: str) -> CertifyRequest:

    officer = world.officer_a
    request = await meetings.certification_request(world.ctx, code, actor=officer.actor)
    return CertifyRequest(
        public_key=officer.public_hex,
        checkpoint_size=request.checkpoint_size,
        signature=officer.key.sign(Domain.CERTIFICATION, request.certification_body.encode()).hex(),
        cosignature=officer.signer.cosign(checkpoint_body(request.checkpoint), 1),
    )


async def test_certify_refused_during_objection_window(world: World) -> None:
    code = await _tallied(world)
    request = await _certify_request(world, code)
    await _refused(
        "objection_window_open",
        meetings.certify(world.ctx, code, request, actor=world.officer_a.actor),
    )


async def test_certify_refused_with_an_unanswered_objection(world: World) -> None:
    code = await _tallied(world)
    await objections.file_staff_objection(
        world.ctx, code, StaffObjectionRequest(subject="tally", text="异议"), actor=world.convener_a
    )
    world.clock.advance(days=8)
    request = await _certify_request(world, code)
    await _refused(
        "objections_unanswered",
        meetings.certify(world.ctx, code, request, actor=world.officer_a.actor),
    )


async def test_certify_refused_on_a_stale_checkpoint(world: World) -> None:
    code = await _tallied(world)
    request = await _certify_request(world, code)
    lodged = await objections.file_staff_objection(
        world.ctx, code, StaffObjectionRequest(subject="tally", text="异议"), actor=world.convener_a
    )
    await objections.answer_objection(
        world.ctx,
        code,
        lodged.id,
        AnswerObjectionRequest(decision="rejected", text="驳回"),
        actor=world.officer_a.actor,
    )
    world.clock.advance(days=8)
    await _refused(
        "stale_checkpoint", meetings.certify(world.ctx, code, request, actor=world.officer_a.actor)
    )


async def test_certify_after_window_then_publish_and_archive(world: World) -> None:
    code = await _tallied(world)
    world.clock.advance(days=7)
    await world.certify(code)
    await meetings.publish_result(world.ctx, code, actor=world.convener_a)
    out = await meetings.archive(world.ctx, code, actor=world.convener_a)
    assert out.state == MeetingState.ARCHIVED
    assert (await _entry_types(world, code))[-2:] == ["certification", "publication"]


async def test_publish_result_refused_before_certification(world: World) -> None:
    code = await _tallied(world)
    await _refused(
        "invalid_transition", meetings.publish_result(world.ctx, code, actor=world.convener_a)
    )


async def test_return_result_is_signed_logged_and_final(world: World) -> None:

    code = await _tallied(world)
    officer = world.officer_a
    request = await meetings.certification_request(world.ctx, code, actor=officer.actor)
    reason = "名册面积有误"
    body = return_body(
        meeting=request.meeting,
        tally=request.tally,
        size=request.checkpoint_size,
        root=request.checkpoint_root,
        reason=hashlib.sha256(reason.encode()).hexdigest(),
    )
    out = await meetings.return_result(
        world.ctx,
        code,
        ReturnRequest(
            public_key=officer.public_hex,
            checkpoint_size=request.checkpoint_size,
            reason=reason,
            signature=officer.key.sign(Domain.CERTIFICATION, body).hex(),
            cosignature=officer.signer.cosign(checkpoint_body(request.checkpoint), 1),
        ),
        actor=officer.actor,
    )
    assert out.state == MeetingState.RETURNED
    await _refused(
        "invalid_transition", meetings.publish_result(world.ctx, code, actor=world.convener_a)
    )
    assert (await meetings.archive(world.ctx, code, actor=world.convener_a)).state == "archived"


async def test_archive_refused_while_open(world: World) -> None:
    code = await world.opened()
    await _refused("invalid_transition", meetings.archive(world.ctx, code, actor=world.convener_a))


# ---------------------------------------------------------------------- objections


async def test_objection_refused_before_approval(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "invalid_transition",
        objections.file_staff_objection(
            world.ctx,
            code,
            StaffObjectionRequest(subject="roster", text="x"),
            actor=world.convener_a,
        ),
    )


async def test_objection_refused_after_the_window(world: World) -> None:
    code = await _tallied(world)
    world.clock.advance(days=7)
    await _refused(
        "objection_window_closed",
        objections.file_staff_objection(
            world.ctx,
            code,
            StaffObjectionRequest(subject="tally", text="x"),
            actor=world.convener_a,
        ),
    )


async def test_member_objection_signed_with_credential_is_recorded(world: World) -> None:

    code = await world.noticed()
    meeting_id, key = world.letter(code, "member:1-101")
    body = objections.objection_body(
        meeting=meeting_id,
        member=key.public_key.hex(),
        subject="roster",
        text="面积有误",
        nonce=secrets.token_hex(16),
    )
    signature = key.sign(objections.OBJECTION_DOMAIN, body).hex()
    out = await objections.file_member_objection(
        world.ctx,
        code,
        MemberObjectionRequest(body=body.decode(), signature=signature, text="面积有误"),
    )
    assert (out.member_id, out.subject, out.text, out.by_staff) == (
        "member:1-101",
        "roster",
        "面积有误",
        False,
    )
    forged = world.letter(code, "member:1-102")[1].sign(objections.OBJECTION_DOMAIN, body).hex()
    await _refused(
        "bad_signature",
        objections.file_member_objection(
            world.ctx,
            code,
            MemberObjectionRequest(body=body.decode(), signature=forged, text="面积有误"),
        ),
    )


def _member_objection(
    world: World, code: str, member_id: str, text: str, *, nonce: str | None = None
) -> MemberObjectionRequest:
    meeting_id, key = world.letter(code, member_id)
    body = objections.objection_body(
        meeting=meeting_id,
        member=key.public_key.hex(),
        subject="roster",
        text=text,
        nonce=nonce or secrets.token_hex(16),
    )
    signature = key.sign(objections.OBJECTION_DOMAIN, body).hex()
    return MemberObjectionRequest(body=body.decode(), signature=signature, text=text)


async def test_replayed_member_objection_is_refused_and_not_logged(world: World) -> None:
    code = await world.noticed()
    request = _member_objection(world, code, "member:1-101", "面积有误")
    await objections.file_member_objection(world.ctx, code, request)
    types_before = await _entry_types(world, code)
    error = await _refused(
        "objection_replayed", objections.file_member_objection(world.ctx, code, request)
    )
    assert error.status == 409
    assert await _entry_types(world, code) == types_before
    listed = await objections.list_objections(world.ctx, code, actor=world.convener_a)
    assert len(listed) == 1


async def test_two_members_may_use_the_same_nonce(world: World) -> None:
    code = await world.noticed()
    nonce = secrets.token_hex(16)
    for member in ("member:1-101", "member:1-102"):
        request = _member_objection(world, code, member, "面积有误", nonce=nonce)
        await objections.file_member_objection(world.ctx, code, request)
    listed = await objections.list_objections(world.ctx, code, actor=world.convener_a)
    assert [o.member_id for o in listed] == ["member:1-101", "member:1-102"]


async def test_member_objection_text_must_be_the_signed_document(world: World) -> None:
    code = await world.noticed()
    request = _member_objection(world, code, "member:1-101", "面积有误")
    swapped = msgspec.structs.replace(request, text="另一段文字")
    await _refused("bad_objection", objections.file_member_objection(world.ctx, code, swapped))


async def test_member_objection_is_logged_with_the_owners_signature(world: World) -> None:
    code = await world.noticed()
    request = _member_objection(world, code, "member:1-101", "面积有误")
    await objections.file_member_objection(world.ctx, code, request)
    data = msgspec.json.decode(await record.bundle(world.ctx, code))
    entry = data["entries"][-1]
    signed = msgspec.json.decode(request.body)
    assert (entry["type"], entry["member"], entry["staff"]) == ("objection", "member:1-101", None)
    assert (entry["key"], entry["nonce"], entry["signature"], entry["document"]) == (
        signed["member"],
        signed["nonce"],
        request.signature,
        signed["document"],
    )


async def test_staff_objection_is_logged_as_recorded_by_staff(world: World) -> None:
    code = await world.noticed()
    await objections.file_staff_objection(
        world.ctx, code, StaffObjectionRequest(subject="agenda", text="x"), actor=world.convener_a
    )
    data = msgspec.json.decode(await record.bundle(world.ctx, code))
    entry = data["entries"][-1]
    assert (entry["staff"], entry["key"], entry["nonce"], entry["signature"]) == (
        world.convener_a.username,
        None,
        None,
        None,
    )


async def test_objection_deadline_is_whole_seconds_from_the_tally_entry(world: World) -> None:
    code = await world.opened()
    await world.to_close(code)
    await meetings.close_meeting(world.ctx, code)
    world.clock.advance(seconds=3.75)
    await meetings.tally_meeting(world.ctx, code)
    data = msgspec.json.decode(await record.bundle(world.ctx, code))
    tally_time = datetime.fromisoformat(data["entries"][-1]["time"])
    meeting = await meetings.get_meeting(world.ctx, code)
    assert meeting.objection_deadline == tally_time + timedelta(days=7)


async def test_answered_objection_cannot_be_answered_again(world: World) -> None:
    code = await world.opened()
    lodged = await objections.file_staff_objection(
        world.ctx,
        code,
        StaffObjectionRequest(subject="procedure", text="x"),
        actor=world.convener_a,
    )
    answer = AnswerObjectionRequest(decision="upheld", text="y")
    out = await objections.answer_objection(
        world.ctx, code, lodged.id, answer, actor=world.officer_a.actor
    )
    assert out.state == "upheld"
    await _refused(
        "objection_answered",
        objections.answer_objection(
            world.ctx, code, lodged.id, answer, actor=world.officer_a.actor
        ),
    )


# ---------------------------------------------------------------------- audit and log


async def test_every_staff_transition_is_audited(world: World) -> None:
    await _tallied(world)
    events = await accounts.list_audit(world.ctx, estate_id=world.estate_a, actor=world.operator)
    actions = {e.action for e in events}
    assert {
        "meeting.create",
        "credentials.issue",
        "meeting.submit",
        "meeting.approve",
        "checkpoint.cosign",
        "meeting.publish_notice",
        "meeting.open",
        "meeting.close",
        "meeting.tally",
        "roster.import",
    } <= actions


async def test_refused_transition_changes_nothing(world: World) -> None:
    code = await world.noticed()
    before = await meetings.get_meeting(world.ctx, code)
    await _refused("too_early", meetings.open_meeting(world.ctx, code))
    after = await meetings.get_meeting(world.ctx, code)
    assert after == before


async def test_notice_entry_records_the_per_meeting_settings(world: World) -> None:
    settings = MeetingSettings(include_parking=True, objection_days=3)
    code = await world.submitted(settings=settings)
    async with world.ctx.sessions() as session:
        info = await find_meeting(session, code)
        raw = await get_entries(
            session, estate_id=info.meeting.estate_id, meeting_id=info.meeting.id, stop=1
        )
    notice = decode_entry(raw[0])
    service = world.ctx.settings
    assert notice.settings == msgspec.structs.replace(  # type: ignore[union-attr]
        settings,
        notice_days=service.notice_days,
        voting_min_days=service.voting_min_days,
        voting_max_days=service.voting_max_days,
    )
