"""Meetings and their lifecycle over the API: each step's success and its refusals."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.web.conftest import ON_BOTH_DATABASES
from tests.web.scenario import Scenario
from tests.web.support import signed_ballot
from votes.cli import main


async def test_created_meeting_is_a_draft_with_its_motions(s: Scenario) -> None:
    await s.until("draft")
    meeting = await s.call("GET", s.m)
    assert meeting["state"] == "draft"
    assert [m["id"] for m in meeting["motions"]] == ["M1", "M2"]


async def test_draft_is_listed_for_its_convener(s: Scenario) -> None:
    await s.until("draft")
    listed = await s.call("GET", "/meetings")
    assert [m["code"] for m in listed] == [s.code]


async def test_draft_is_hidden_from_the_public(s: Scenario) -> None:
    await s.until("draft")
    s.client.cookies.clear()
    response = await s.client.get(f"/api/v1{s.m}")
    assert response.status_code == 404
    assert response.json()["code"] == "meeting_not_found"


async def test_patch_changes_a_draft(s: Scenario) -> None:
    await s.until("draft")
    changed = await s.call("PATCH", s.m, json={"title": "新的标题"})
    assert changed["title"] == "新的标题"


async def test_motion_added_and_removed_in_draft(s: Scenario) -> None:
    await s.until("draft")
    added = await s.call(
        "POST",
        f"{s.m}/motions",
        json={"id": "M3", "title": "使用维修资金更换电梯", "item": 6},
        expect=201,
    )
    assert [m["id"] for m in added["motions"]] == ["M1", "M2", "M3"]
    removed = await s.call("DELETE", f"{s.m}/motions/M3")
    assert [m["id"] for m in removed["motions"]] == ["M1", "M2"]


async def test_motion_cannot_change_after_submission(s: Scenario) -> None:
    await s.until("submitted")
    await s.as_user("conv")
    response = await s.client.post(
        f"/api/v1{s.m}/motions", json={"id": "M3", "title": "迟来的议题", "item": 6}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


async def test_create_meeting_on_a_missing_estate_is_404(s: Scenario) -> None:
    await s.until("roster")
    await s.as_user("conv")
    response = await s.client.post(
        "/api/v1/meetings",
        json={
            "estate_id": s.estate_id + 999,
            "title": "t",
            "convener": "c",
            "open_at": "2030-01-01T00:00:00Z",
            "close_at": "2030-01-10T00:00:00Z",
        },
    )
    assert response.status_code == 404
    assert response.json()["code"] == "estate_not_found"


async def test_letters_return_each_secret_once_with_its_url(s: Scenario) -> None:
    await s.until("letters")
    assert s.letters
    assert all(letter.url.endswith(f"/b/{s.code}#k={letter.code}") for letter in s.letters)
    assert len({letter.public_key for letter in s.letters}) == len(s.letters)


async def test_submit_by_an_officer_is_refused(s: Scenario) -> None:
    await s.until("letters")
    await s.as_user("officer")
    response = await s.client.post(f"/api/v1{s.m}/submit")
    assert response.status_code == 403
    assert response.json()["code"] == "role_forbidden"


async def test_approval_by_an_officer_of_another_subdistrict_is_answered_as_missing(
    s: Scenario,
) -> None:
    await s.until("submitted")
    body = await s.approval_body()  # a valid signature by the right officer's key
    await s.as_user("stranger")
    response = await s.client.post(f"/api/v1{s.m}/approve", json=body)
    missing = await s.client.post("/api/v1/meetings/nosuchcode/approve", json=body)
    assert (response.status_code, response.json()["code"]) == (404, "meeting_not_found")
    assert response.json()["message"] == missing.json()["message"].replace("nosuchcode", s.code)


async def test_meeting_of_another_subdistrict_is_answered_as_missing(s: Scenario) -> None:
    await s.until("submitted")
    await s.as_user("stranger")
    response = await s.client.get(f"/api/v1{s.m}")
    missing = await s.client.get("/api/v1/meetings/nosuchcode")
    assert (response.status_code, missing.status_code) == (404, 404)
    assert response.json() == {
        **missing.json(),
        "message": missing.json()["message"].replace("nosuchcode", s.code),
    }


async def test_approval_with_a_bad_signature_is_403(s: Scenario) -> None:
    await s.until("submitted")
    body = await s.approval_body()
    body["signature"] = "00" * 64
    response = await s.client.post(f"/api/v1{s.m}/approve", json=body)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_officer_signature"


async def test_approved_meeting_goes_to_notice(s: Scenario) -> None:
    await s.until("notice")
    meeting = await s.call("GET", s.m)
    assert meeting["state"] == "notice"


async def test_opening_before_open_at_is_409_too_early(s: Scenario) -> None:
    await s.until("notice")
    response = await s.client.post(f"/api/v1{s.m}/open")
    assert response.status_code == 409
    assert response.json()["code"] == "too_early"


async def test_open_meeting_takes_ballots_and_shows_turnout(s: Scenario) -> None:
    await s.until("voted")
    turnout = await s.call("GET", f"{s.m}/turnout")
    assert turnout["ballots"] == 3


async def test_closing_before_close_at_is_409_too_early(s: Scenario) -> None:
    await s.until("open")
    response = await s.client.post(f"/api/v1{s.m}/close")
    assert response.status_code == 409
    assert response.json()["code"] == "too_early"


async def test_ballot_after_close_is_refused(s: Scenario) -> None:
    await s.until("closed")
    response = await s.client.post(
        f"/api/v1{s.m}/ballots", json=signed_ballot(s.meeting, s.letters[5])
    )
    assert response.status_code == 409
    assert response.json()["code"] == "meeting_closed"


async def test_tally_publishes_a_result(s: Scenario) -> None:
    await s.until("tallied")
    result = await s.call("GET", f"{s.m}/result")
    assert result["state"] == "tallied"
    assert [m["id"] for m in result["result"]["motions"]] == ["M1", "M2"]
    assert result["result"]["motions"][0]["agree"]["heads"] == 3


async def test_certify_before_objections_are_answered_is_refused(s: Scenario) -> None:
    await s.until("tallied")
    await s.as_user("conv")
    objection = await s.call(
        "POST",
        f"{s.m}/objections/staff",
        json={"subject": "tally", "text": "业主反映计票有误"},
        expect=201,
    )
    s.clock.advance(days=8)
    body = await s.certification_body()
    response = await s.client.post(f"/api/v1{s.m}/certify", json=body)
    assert response.status_code == 409
    answered = await s.call(
        "POST",
        f"{s.m}/objections/{objection['id']}/answer",
        json={"decision": "rejected", "text": "经核查计票无误"},
    )
    assert answered["state"] != "open"
    body = await s.certification_body()
    await s.call("POST", f"{s.m}/certify", json=body)


@ON_BOTH_DATABASES
async def test_certified_result_is_published_then_archived(s: Scenario) -> None:
    await s.until("archived")
    meeting = await s.call("GET", s.m)
    assert meeting["state"] == "archived"
    result = await s.call("GET", f"{s.m}/result")
    assert result["certified"] is True


async def test_publishing_before_certification_is_409(s: Scenario) -> None:
    await s.until("tallied")
    await s.as_user("conv")
    response = await s.client.post(f"/api/v1{s.m}/publish")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


async def test_audit_lists_the_conveners_actions(s: Scenario) -> None:
    await s.until("submitted")
    records = await s.call("GET", "/audit")
    actions = {r["action"] for r in records}
    assert {"meeting.submit"} <= actions


async def test_bundle_of_a_certified_meeting_passes_votes_verify(
    s: Scenario, tmp_path: Path
) -> None:
    """The bundle served by the API is a complete record: the offline verifier accepts it."""
    await s.until("certified")
    response = await s.client.get(f"/api/v1{s.m}/bundle")
    assert response.status_code == 200
    path = tmp_path / "meeting.ovb.json"
    path.write_bytes(response.content)
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 0, result.output
