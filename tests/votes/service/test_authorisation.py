"""Every role and scope boundary: conveners on their estates, officers in their subdistricts,
operators everywhere; officer keys enrolled, unrevoked, and really signing."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from crypto.signing import Domain, SigningKey
from tests.votes.service.conftest import Officer, World, approve_request, checkpoint_body
from votes.enums import StaffRole
from votes.service import accounts, ballots, credentials, meetings, objections, regions
from votes.service.actors import Actor
from votes.service.errors import ServiceError
from votes.service.schemas import (
    AnswerObjectionRequest,
    ApproveRequest,
    CreateEstateRequest,
    CreateMeetingRequest,
    CreateStaffRequest,
    MotionIn,
    PaperBallotRequest,
    ReplaceCredentialRequest,
    SignCredentialChangeRequest,
    StaffObjectionRequest,
    UpdateMeetingRequest,
)


async def _refused(code: str, awaitable: object, status: int = 403) -> None:
    with pytest.raises(ServiceError) as caught:
        await awaitable  # type: ignore[misc]
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.message_en


# ---------------------------------------------------------------------- conveners


async def test_convener_of_another_estate_cannot_create_a_meeting_there(world: World) -> None:
    world.convener_a = world.convener_b  # draft() uses convener_a on estate A
    await _refused("estate_not_found", world.draft(), status=404)


async def test_convener_of_another_estate_cannot_change_or_submit(world: World) -> None:
    code = await world.draft()
    other = world.convener_b
    await _refused(
        "meeting_not_found",
        meetings.update_draft(world.ctx, code, UpdateMeetingRequest(title="x"), actor=other),
        status=404,
    )
    await _refused(
        "meeting_not_found",
        meetings.add_motion(world.ctx, code, MotionIn(id="X", title="x", item=9), actor=other),
        status=404,
    )
    await _refused(
        "meeting_not_found", credentials.issue_letters(world.ctx, code, actor=other), status=404
    )
    await _refused("meeting_not_found", meetings.submit(world.ctx, code, actor=other), status=404)


async def test_convener_of_another_estate_cannot_publish_or_enter_paper(world: World) -> None:
    code = await world.approved()
    await _refused(
        "meeting_not_found",
        meetings.publish_notice(world.ctx, code, actor=world.convener_b),
        status=404,
    )
    await meetings.publish_notice(world.ctx, code, actor=world.convener_a)
    meeting = await meetings.get_meeting(world.ctx, code)
    assert meeting.open_at is not None
    world.clock.set(meeting.open_at)
    request = PaperBallotRequest(
        member_id="member:1-101",
        choices={"M1": "agree"},
        sheet_sha256=hashlib.sha256(b"s").hexdigest(),
    )
    await _refused(
        "meeting_not_found",
        ballots.enter_paper_ballot(world.ctx, code, request, actor=world.convener_b),
        status=404,
    )


async def test_convener_cannot_approve(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "role_forbidden", meetings.approval_request(world.ctx, code, actor=world.convener_a)
    )


async def test_convener_of_another_estate_cannot_import_its_roster(world: World) -> None:
    await _refused(
        "estate_not_found",
        regions.import_roster(world.ctx, world.estate_a, "r.csv", b"x", actor=world.convener_b),
        status=404,
    )


async def test_convener_cannot_see_another_estates_draft(world: World) -> None:
    code = await world.draft()
    await _refused(
        "meeting_not_found",
        meetings.get_meeting(world.ctx, code, actor=world.convener_b),
        status=404,
    )
    listed = await meetings.list_meetings(world.ctx, actor=world.convener_b)
    assert code not in {m.code for m in listed}


async def test_public_cannot_see_a_draft(world: World) -> None:
    code = await world.draft()
    await _refused("meeting_not_found", meetings.get_meeting(world.ctx, code), status=404)


# ---------------------------------------------------------------------- officers


async def test_officer_cannot_create_a_meeting(world: World) -> None:
    world.convener_a = world.officer_a.actor
    await _refused("role_forbidden", world.draft())


async def test_officer_of_another_subdistrict_cannot_approve(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "meeting_not_found",
        meetings.approval_request(world.ctx, code, actor=world.officer_b.actor),
        status=404,
    )
    request = await meetings.approval_request(world.ctx, code, actor=world.officer_a.actor)
    await _refused(
        "meeting_not_found",
        meetings.approve(
            world.ctx,
            code,
            approve_request(
                world.officer_b, request.approval_body, request.checkpoint, world.clock.now
            ),
            actor=world.officer_b.actor,
        ),
        status=404,
    )


async def test_officer_of_another_subdistrict_cannot_certify_or_answer(world: World) -> None:
    code = await world.opened()
    lodged = await objections.file_staff_objection(
        world.ctx, code, StaffObjectionRequest(subject="other", text="x"), actor=world.convener_a
    )
    await _refused(
        "meeting_not_found",
        objections.answer_objection(
            world.ctx,
            code,
            lodged.id,
            AnswerObjectionRequest(decision="rejected", text="y"),
            actor=world.officer_b.actor,
        ),
        status=404,
    )
    await world.to_close(code)
    await meetings.close_meeting(world.ctx, code)
    await meetings.tally_meeting(world.ctx, code)
    await _refused(
        "meeting_not_found",
        meetings.certification_request(world.ctx, code, actor=world.officer_b.actor),
        status=404,
    )


async def _approve_with(
    world: World, code: str, officer: Officer, key: SigningKey, *, body: bytes | None = None
) -> None:
    request = await meetings.approval_request(world.ctx, code, actor=officer.actor)
    signer = Officer(officer.actor, key, officer.name).signer
    await meetings.approve(
        world.ctx,
        code,
        ApproveRequest(
            public_key=key.public_key.hex(),
            signature=key.sign(Domain.APPROVAL, body or request.approval_body.encode()).hex(),
            cosignature=signer.cosign(checkpoint_body(request.checkpoint), 1),
        ),
        actor=officer.actor,
    )


async def test_unenrolled_officer_key_refused(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "officer_key_not_enrolled",
        _approve_with(world, code, world.officer_a, SigningKey.from_seed(b"\x55" * 32)),
    )


async def test_another_officers_key_refused(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "officer_key_not_enrolled", _approve_with(world, code, world.officer_a, world.officer_b.key)
    )


async def test_revoked_officer_key_refused(world: World) -> None:
    code = await world.submitted()
    keys = await accounts.list_officer_keys(world.ctx, actor=world.officer_a.actor)
    await accounts.revoke_officer_key(world.ctx, keys[0].id, actor=world.officer_a.actor)
    await _refused(
        "officer_key_revoked", _approve_with(world, code, world.officer_a, world.officer_a.key)
    )


async def test_signature_over_another_body_refused(world: World) -> None:
    code = await world.submitted()
    await _refused(
        "bad_officer_signature",
        _approve_with(world, code, world.officer_a, world.officer_a.key, body=b'{"v":1}'),
    )


async def test_forged_cosignature_refused(world: World) -> None:
    code = await world.submitted()
    request = await meetings.approval_request(world.ctx, code, actor=world.officer_a.actor)
    good = approve_request(
        world.officer_a, request.approval_body, request.checkpoint, world.clock.now
    )
    forger = Officer(world.officer_a.actor, SigningKey.from_seed(b"\x66" * 32), "officer.a").signer
    forged = forger.cosign(checkpoint_body(request.checkpoint), 1)
    await _refused(
        "bad_cosignature",
        meetings.approve(
            world.ctx,
            code,
            ApproveRequest(
                public_key=good.public_key, signature=good.signature, cosignature=forged
            ),
            actor=world.officer_a.actor,
        ),
    )


async def test_officer_cannot_revoke_another_officers_key(world: World) -> None:
    keys = await accounts.list_officer_keys(world.ctx, actor=world.officer_b.actor)
    await _refused(
        "officer_key_not_found",
        accounts.revoke_officer_key(world.ctx, keys[0].id, actor=world.officer_a.actor),
        status=404,
    )


async def test_only_officers_enrol_keys(world: World) -> None:
    key = SigningKey.from_seed(b"\x77" * 32).public_key.hex()
    await _refused(
        "role_forbidden",
        accounts.enrol_officer_key(world.ctx, key, "c.key", actor=world.convener_a),
    )


# ---------------------------------------------------------------------- operators


async def test_operator_acts_on_any_estate(world: World) -> None:
    world.convener_a = world.operator
    code = await world.draft(estate_id=world.estate_b)
    assert code


async def test_only_operators_create_staff_and_estates(world: World) -> None:
    request = CreateStaffRequest(
        username="new", password="password-123", role=StaffRole.CONVENER, display_name="n"
    )
    await _refused(
        "role_forbidden", accounts.create_staff(world.ctx, request, actor=world.convener_a)
    )
    await _refused(
        "role_forbidden", accounts.create_staff(world.ctx, request, actor=world.officer_a.actor)
    )
    await _refused(
        "role_forbidden",
        regions.create_estate(
            world.ctx,
            CreateEstateRequest(subdistrict_id=world.subdistrict_a, name="x"),
            actor=world.convener_a,
        ),
    )


async def test_listings_follow_scopes(world: World) -> None:
    code_a = await world.draft()
    world.convener_a = world.operator
    code_b = await world.draft(estate_id=world.estate_b)
    seen_by_officer_a = {
        m.code for m in await meetings.list_meetings(world.ctx, actor=world.officer_a.actor)
    }
    seen_by_operator = {
        m.code for m in await meetings.list_meetings(world.ctx, actor=world.operator)
    }
    assert (seen_by_officer_a, seen_by_operator) == ({code_a}, {code_a, code_b})
    estates = await regions.list_estates(world.ctx, actor=world.convener_b)
    assert [e.id for e in estates] == [world.estate_b]


# ---------------------------------------------------------------------- probing
#
# Staff outside a scope must not learn which estates, meetings or keys exist:
# each use case answers "exists but not yours" exactly as it answers "does not
# exist" (same status, code, details, and message but for the id asked for).

_MISSING_CODE = "nosuchcode"
_MISSING_ESTATE = 987654

_AnyCall = Callable[[World, Actor, str], Awaitable[object]]

_MEETING_CALLS: dict[str, _AnyCall] = {
    "get_meeting": lambda w, a, c: meetings.get_meeting(w.ctx, c, actor=a),
    "update_draft": lambda w, a, c: meetings.update_draft(
        w.ctx, c, UpdateMeetingRequest(title="x"), actor=a
    ),
    "add_motion": lambda w, a, c: meetings.add_motion(
        w.ctx, c, MotionIn(id="X", title="x", item=9), actor=a
    ),
    "remove_motion": lambda w, a, c: meetings.remove_motion(w.ctx, c, "M1", actor=a),
    "submit": lambda w, a, c: meetings.submit(w.ctx, c, actor=a),
    "issue_letters": lambda w, a, c: credentials.issue_letters(w.ctx, c, actor=a),
    "register_public_keys": lambda w, a, c: credentials.register_public_keys(
        w.ctx, c, {"member:1-101": SigningKey.from_seed(b"\x31" * 32).public_key.hex()}, actor=a
    ),
    "request_revocation": lambda w, a, c: credentials.request_revocation(
        w.ctx,
        c,
        ReplaceCredentialRequest(member_id="member:1-101", reason="x", request_sha256="ab" * 32),
        actor=a,
    ),
    "request_replacement": lambda w, a, c: credentials.request_replacement(
        w.ctx,
        c,
        ReplaceCredentialRequest(member_id="member:1-101", reason="x", request_sha256="ab" * 32),
        actor=a,
    ),
    "list_change_requests": lambda w, a, c: credentials.list_change_requests(
        w.ctx, code=c, actor=a
    ),
    "change_request": lambda w, a, c: credentials.change_request(w.ctx, c, uuid.uuid4(), actor=a),
    "approve_change": lambda w, a, c: credentials.approve_change(
        w.ctx,
        c,
        uuid.uuid4(),
        SignCredentialChangeRequest(public_key="ab" * 32, signature="cd" * 64),
        actor=a,
    ),
    "refuse_change": lambda w, a, c: credentials.refuse_change(
        w.ctx, c, uuid.uuid4(), reason="x", actor=a
    ),
    "approval_request": lambda w, a, c: meetings.approval_request(w.ctx, c, actor=a),
    "publish_notice": lambda w, a, c: meetings.publish_notice(w.ctx, c, actor=a),
    "open_meeting": lambda w, a, c: meetings.open_meeting(w.ctx, c, actor=a),
    "close_meeting": lambda w, a, c: meetings.close_meeting(w.ctx, c, actor=a),
    "tally_meeting": lambda w, a, c: meetings.tally_meeting(w.ctx, c, actor=a),
    "certification_request": lambda w, a, c: meetings.certification_request(w.ctx, c, actor=a),
    "publish_result": lambda w, a, c: meetings.publish_result(w.ctx, c, actor=a),
    "archive": lambda w, a, c: meetings.archive(w.ctx, c, actor=a),
    "enter_paper_ballot": lambda w, a, c: ballots.enter_paper_ballot(
        w.ctx,
        c,
        PaperBallotRequest(
            member_id="member:1-101",
            choices={"M1": "agree"},
            sheet_sha256=hashlib.sha256(b"s").hexdigest(),
        ),
        actor=a,
    ),
    "file_staff_objection": lambda w, a, c: objections.file_staff_objection(
        w.ctx, c, StaffObjectionRequest(subject="other", text="x"), actor=a
    ),
    "list_objections": lambda w, a, c: objections.list_objections(w.ctx, c, actor=a),
    "answer_objection": lambda w, a, c: objections.answer_objection(
        w.ctx, c, uuid.uuid4(), AnswerObjectionRequest(decision="rejected", text="y"), actor=a
    ),
}


async def _refusal(awaitable: Awaitable[object]) -> str:
    with pytest.raises(ServiceError) as caught:
        await awaitable
    error = caught.value
    return json.dumps(
        [error.status, error.to_dict("zh-CN"), error.to_dict("en")], ensure_ascii=False
    )


def _outsiders(world: World) -> dict[str, Actor]:
    return {"convener of estate B": world.convener_b, "officer of B": world.officer_b.actor}


@pytest.mark.parametrize("call", sorted(_MEETING_CALLS))
async def test_meeting_outside_the_scope_is_answered_as_nonexistent(
    world: World, call: str
) -> None:
    code = await world.draft()
    make = _MEETING_CALLS[call]
    for who, actor in _outsiders(world).items():
        hidden = await _refusal(make(world, actor, code))
        missing = await _refusal(make(world, actor, _MISSING_CODE))
        assert hidden == missing.replace(_MISSING_CODE, code), (who, hidden)


_ESTATE_CALLS: dict[str, Callable[[World, Actor, int], Awaitable[object]]] = {
    "get_estate": lambda w, a, e: regions.get_estate(w.ctx, e, actor=a),
    "import_roster": lambda w, a, e: regions.import_roster(w.ctx, e, "r.csv", b"x", actor=a),
    "create_draft": lambda w, a, e: meetings.create_draft(
        w.ctx,
        CreateMeetingRequest(
            estate_id=e,
            title="t",
            convener="c",
            open_at=w.clock.now + timedelta(days=16),
            close_at=w.clock.now + timedelta(days=26),
            motions=[MotionIn(id="M1", title="x", item=8)],
        ),
        actor=a,
    ),
}


@pytest.mark.parametrize("call", sorted(_ESTATE_CALLS))
async def test_estate_outside_the_scope_is_answered_as_nonexistent(world: World, call: str) -> None:
    make = _ESTATE_CALLS[call]
    hidden = await _refusal(make(world, world.convener_b, world.estate_a))
    missing = await _refusal(make(world, world.convener_b, _MISSING_ESTATE))
    assert hidden == missing.replace(str(_MISSING_ESTATE), str(world.estate_a))


async def test_another_officers_key_is_answered_as_nonexistent(world: World) -> None:
    keys = await accounts.list_officer_keys(world.ctx, actor=world.officer_b.actor)
    missing_id = uuid.uuid4()
    hidden = await _refusal(
        accounts.revoke_officer_key(world.ctx, keys[0].id, actor=world.officer_a.actor)
    )
    missing = await _refusal(
        accounts.revoke_officer_key(world.ctx, missing_id, actor=world.officer_a.actor)
    )
    assert hidden == missing.replace(str(missing_id), str(keys[0].id))


async def test_wrong_role_within_the_scope_is_still_403(world: World) -> None:
    code = await world.draft()
    await _refused("role_forbidden", meetings.submit(world.ctx, code, actor=world.officer_a.actor))
