"""Routes exercised on the demo meeting (OPEN, letters issued): record, turnout,
paper and proxy ballots, credentials, objections, officer keys, audit."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from crypto.merkle import verify_consistency
from crypto.notes import Checkpoint
from crypto.signing import SigningKey
from tests.web.officer import demo_officer_key
from tests.web.support import (
    change_signature,
    checkpoint_root,
    default_choices,
    login_as,
    public_meeting,
    signed_ballot,
    signed_objection,
)

# ------------------------------------------------------------------ record


async def test_checkpoint_is_a_signed_note_of_the_log(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/checkpoint")
    assert response.status_code == 200
    body = response.json()
    assert checkpoint_root(body["note"]).hex() == body["root"]
    assert Checkpoint.parse(body["note"].split("\n\n", 1)[0] + "\n").size == body["size"]


async def test_consistency_proof_links_two_checkpoints(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    api = f"/api/v1/meetings/{demo.meeting_code}"
    before = (await client.get(f"{api}/checkpoint")).json()
    meeting = await public_meeting(client, demo.meeting_code)
    assert (
        await client.post(f"{api}/ballots", json=signed_ballot(meeting, demo.letters[0]))
    ).status_code == 201
    after = (await client.get(f"{api}/checkpoint")).json()
    response = await client.get(
        f"{api}/proof/consistency", params={"from": before["size"], "to": after["size"]}
    )
    assert response.status_code == 200, response.text
    verify_consistency(
        size1=before["size"],
        size2=after["size"],
        proof=[bytes.fromhex(h) for h in response.json()["proof"]],
        root1=bytes.fromhex(before["root"]),
        root2=bytes.fromhex(after["root"]),
    )


async def test_inclusion_proof_needs_exactly_one_of_hash_and_index(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/proof/inclusion")
    assert response.status_code == 422
    assert response.json()["code"] == "bad_proof_request"


async def test_inclusion_proof_by_index(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/proof/inclusion", params={"index": 0}
    )
    assert response.status_code == 200
    assert response.json()["index"] == 0


async def test_inclusion_proof_of_an_unknown_ballot_is_404(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/proof/inclusion", params={"hash": "ab" * 32}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "ballot_not_found"


async def test_inclusion_hash_that_is_not_hex_is_400(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/proof/inclusion", params={"hash": "xyz"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_bundle_is_a_json_attachment(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/bundle")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert response.json()["format"] == "owner-vote-bundle"


async def test_public_roster_has_units_and_areas_but_no_owner_names(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/roster")
    assert response.status_code == 200
    body = response.json()
    assert body["members"]
    unit = body["members"][0]["units"][0]
    assert set(unit) == {"number", "building", "area", "kind"}
    assert "owner" not in response.text
    assert "O0001" not in response.text  # an owner id of the demo roster


async def test_result_before_tally_is_refused(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/result")
    assert response.status_code in (404, 409)
    assert response.json()["code"]


async def test_turnout_snapshot_counts_a_ballot(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    api = f"/api/v1/meetings/{demo.meeting_code}"
    meeting = await public_meeting(client, demo.meeting_code)
    await client.post(f"{api}/ballots", json=signed_ballot(meeting, demo.letters[3]))
    body = (await client.get(f"{api}/turnout")).json()
    assert body["ballots"] == 1
    assert body["provisional"] is True


# ----------------------------------------------------------- paper and proxy


async def test_paper_ballot_entered_by_the_convener(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    meeting = await public_meeting(client, demo.meeting_code)
    sheet = hashlib.sha256(b"scan of sheet 1").hexdigest()
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/paper-ballots",
        json={
            "member_id": demo.letters[4].member_id,
            "choices": default_choices(meeting),
            "sheet_sha256": sheet,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["sheet_sha256"] == sheet


async def test_paper_ballot_without_login_is_401(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/paper-ballots",
        json={"member_id": "member:1-101", "choices": {"M1": "agree"}, "sheet_sha256": "a" * 64},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_paper_ballot_by_an_officer_is_403(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "officer")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/paper-ballots",
        json={
            "member_id": demo.letters[4].member_id,
            "choices": {"M1": "agree"},
            "sheet_sha256": "a" * 64,
        },
    )
    assert response.status_code == 403


async def test_proxy_ballot_with_the_members_credential(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[2])
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/proxy-ballots",
        json={
            **body,
            "authorisation_sha256": hashlib.sha256(b"authorisation").hexdigest(),
            "holder": "张三 110101199001011234",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["body"]["ballot"] == hashlib.sha256(body["ballot"].encode()).hexdigest()


# ---------------------------------------------------------------- credentials


async def test_replaced_credential_stops_the_old_key_once_the_officer_signs(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    api = f"/api/v1/meetings/{demo.meeting_code}"
    old = demo.letters[1]
    replaced = await client.post(
        f"{api}/credentials/replace",
        json={
            "member_id": old.member_id,
            "reason": "信件遗失",
            "request_sha256": hashlib.sha256(b"written request").hexdigest(),
        },
    )
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["letter"]["public_key"] != old.public_key
    pending = replaced.json()["request"]
    await login_as(client, demo, "officer")
    key = demo_officer_key(demo)
    signed = await client.post(
        f"{api}/credential-requests/{pending['id']}/approve",
        json=change_signature(key, pending["body"]),
    )
    assert signed.status_code == 200, signed.text
    meeting = await public_meeting(client, demo.meeting_code)
    refused = await client.post(f"{api}/ballots", json=signed_ballot(meeting, old))
    assert refused.status_code == 409
    assert refused.json()["code"] == "revoked_key"


async def test_letters_cannot_be_issued_again_while_open(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/letters")
    assert response.status_code == 409


async def test_register_keys_is_refused_once_voting_is_open(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/keys",
        json={"keys": {demo.letters[0].member_id: SigningKey.generate().public_key.hex()}},
    )
    assert response.status_code == 409


async def test_revoke_by_the_public_is_401(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credentials/revoke",
        json={"member_id": demo.letters[0].member_id, "reason": "x", "request_sha256": "ab" * 32},
    )
    assert response.status_code == 401


# ----------------------------------------------------------------- objections


async def test_owner_files_a_signed_objection_and_staff_see_it(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    letter = demo.letters[0]
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/objections",
        json=signed_objection(meeting, letter, subject="roster", text="我的房屋面积登记有误"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["member_id"] == letter.member_id
    await login_as(client, demo, "officer")
    listed = await client.get(f"/api/v1/meetings/{demo.meeting_code}/objections")
    assert [o["id"] for o in listed.json()] == [response.json()["id"]]


async def test_objection_with_a_forged_signature_is_refused(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    objection = signed_objection(meeting, demo.letters[0], subject="other", text="x")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/objections",
        json={**objection, "signature": "00" * 64},
    )
    assert response.status_code in (403, 422)


async def test_replayed_signed_objection_is_refused_with_409(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    request = signed_objection(
        meeting, demo.letters[0], subject="procedure", text="公告张贴时间不足"
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    assert (await client.post(url, json=request)).status_code == 201
    replay = await client.post(url, json=request)
    assert (replay.status_code, replay.json()["code"]) == (409, "objection_replayed")
    await login_as(client, demo, "officer")
    listed = await client.get(url)
    assert len(listed.json()) == 1


async def test_objection_list_needs_login(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/objections")
    assert response.status_code == 401


# ---------------------------------------------------------------- officer keys


async def test_officer_enrols_lists_and_revokes_a_key(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "officer")
    key = SigningKey.generate().public_key.hex()
    enrolled = await client.post(
        "/api/v1/officer-keys", json={"public_key": key, "name": "officer.2"}
    )
    assert enrolled.status_code == 201, enrolled.text
    listed = await client.get("/api/v1/officer-keys")
    assert key in {k["public_key"] for k in listed.json()}
    revoked = await client.post(f"/api/v1/officer-keys/{enrolled.json()['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None


async def test_convener_cannot_enrol_an_officer_key(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    response = await client.post(
        "/api/v1/officer-keys",
        json={"public_key": SigningKey.generate().public_key.hex(), "name": "nope"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_forbidden"


@pytest.mark.parametrize("path", ["/api/v1/officer-keys", "/api/v1/audit", "/api/v1/estates"])
async def test_staff_lists_need_login(client: AsyncTestClient[Litestar], path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
