"""The credential change API on the demo meeting: the convener requests, the officer
lists what waits for them, signs it (then it is logged) or refuses it."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from crypto.signing import Domain, SigningKey
from tests.web.officer import demo_officer_key
from tests.web.support import change_signature, login_as, public_meeting, signed_ballot
from votes.service.schemas import LetterOut

_REQUEST = hashlib.sha256(b"the convener's written request").hexdigest()


async def _request_replacement(
    client: AsyncTestClient[Litestar], demo: Any, letter: LetterOut
) -> dict[str, Any]:
    await login_as(client, demo, "convener")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credentials/replace",
        json={"member_id": letter.member_id, "reason": "信件遗失", "request_sha256": _REQUEST},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_replacement_request_is_pending_with_its_letter(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    assert made["request"]["state"] == "pending"
    assert made["request"]["new_key"] == made["letter"]["public_key"]
    assert made["request"]["request_sha256"] == _REQUEST


async def test_officer_lists_the_pending_request_with_what_to_sign(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    await login_as(client, demo, "officer")
    response = await client.get("/api/v1/credential-requests")
    assert response.status_code == 200, response.text
    [item] = response.json()
    assert item["id"] == made["request"]["id"]
    assert item["meeting_code"] == demo.meeting_code
    assert item["member_id"] == demo.letters[1].member_id
    assert item["units"] == demo.letters[1].units
    assert item["old_key"] == demo.letters[1].public_key
    assert item["reason"] == "信件遗失"
    assert item["requested_by"] == "convener"
    assert item["body"] == made["request"]["body"]


async def test_officer_signature_logs_the_change_and_the_new_key_votes(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    await login_as(client, demo, "officer")
    api = f"/api/v1/meetings/{demo.meeting_code}"
    signed = await client.post(
        f"{api}/credential-requests/{made['request']['id']}/approve",
        json=change_signature(demo_officer_key(demo), made["request"]["body"]),
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "approved"
    assert isinstance(signed.json()["log_index"], int)
    meeting = await public_meeting(client, demo.meeting_code)
    letter = msgspec.convert(made["letter"], LetterOut)
    cast = await client.post(f"{api}/ballots", json=signed_ballot(meeting, letter))
    assert cast.status_code == 201, cast.text


async def test_new_key_does_not_vote_before_the_officer_signs(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    meeting = await public_meeting(client, demo.meeting_code)
    letter = msgspec.convert(made["letter"], LetterOut)
    cast = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/ballots", json=signed_ballot(meeting, letter)
    )
    assert cast.status_code == 422, cast.text
    assert cast.json()["code"] == "unknown_member"


async def test_forged_officer_signature_is_403_with_a_stable_code(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    await login_as(client, demo, "officer")
    key = demo_officer_key(demo)
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credential-requests/{made['request']['id']}/approve",
        json={
            "public_key": key.public_key.hex(),
            "signature": SigningKey.from_seed(b"\x66" * 32)
            .sign(Domain.CREDENTIAL_CHANGE, made["request"]["body"].encode())
            .hex(),
        },
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "bad_officer_signature"


async def test_officer_refuses_a_request(client: AsyncTestClient[Litestar], demo: Any) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    await login_as(client, demo, "officer")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credential-requests/{made['request']['id']}/refuse",
        json={"reason": "申请材料不全"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["refusal"]) == ("refused", "申请材料不全")
    assert (await client.get("/api/v1/credential-requests")).json() == []


async def test_convener_cannot_sign_a_change_over_http(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    made = await _request_replacement(client, demo, demo.letters[1])
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credential-requests/{made['request']['id']}/approve",
        json=change_signature(demo_officer_key(demo), made["request"]["body"]),
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "role_forbidden"


async def test_replacement_without_the_request_hash_is_refused(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/credentials/replace",
        json={"member_id": demo.letters[1].member_id, "reason": "信件遗失"},
    )
    assert 400 <= response.status_code < 500, response.text
    listed = await client.get(f"/api/v1/meetings/{demo.meeting_code}/credential-requests")
    assert listed.json() == []


async def test_unknown_request_is_404(client: AsyncTestClient[Litestar], demo: Any) -> None:
    await login_as(client, demo, "officer")
    response = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/credential-requests/"
        "00000000-0000-4000-8000-000000000000"
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "credential_request_not_found"


async def test_registering_the_identity_point_as_a_key_is_422(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    await login_as(client, demo, "convener")
    identity = (bytes([1]) + bytes(31)).hex()
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/keys",
        json={"keys": {demo.letters[0].member_id: identity}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "bad_public_key"
