"""POST /meetings/{code}/ballots and the per-credential rate limit."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.databases import STORES, store_url
from tests.web.conftest import ON_BOTH_DATABASES, make_app
from tests.web.support import (
    check_inclusion,
    client_from,
    public_meeting,
    signed_ballot,
    started,
    visiting,
)
from votes.record.ballot import ballot_bytes
from votes.record.bundle import decode_bundle
from votes.record.entries import BallotEntry, decode_entry, entry_hash
from votes.service.context import ServiceContext
from votes.settings import RateLimit


async def test_signed_ballot_is_receipted_and_in_the_log(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 201, response.text
    receipt = response.json()
    expected_hash = hashlib.sha256(body["ballot"].encode()).hexdigest()
    assert receipt["body"]["ballot"] == expected_hash
    proof = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/proof/inclusion", params={"hash": expected_hash}
    )
    assert proof.status_code == 200, proof.text
    data = proof.json()
    check_inclusion(data)
    assert data["index"] == receipt["body"]["index"]


async def test_same_ballot_twice_returns_the_same_receipt(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    first = await client.post(url, json=body)
    second = await client.post(url, json=body)
    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json() == second.json()


async def test_forged_signature_is_refused_with_bad_signature(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    body["signature"] = "00" * 64
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "bad_signature"


async def test_ballot_bytes_must_be_exactly_what_was_signed(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    body["ballot"] = body["ballot"].replace(",", ", ", 1)  # same JSON value, other bytes
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "not_canonical"


async def test_ballot_for_unknown_meeting_is_404(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    response = await client.post("/api/v1/meetings/NOSUCH/ballots", json=body)
    assert response.status_code == 404
    assert response.json()["code"] == "meeting_not_found"


async def test_ballot_with_a_malformed_signature_field_is_400(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    body["signature"] = "zz"
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_ballot_needs_no_csrf_token_even_with_a_session_cookie(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    """The ballot route ignores sessions: a stale staff cookie must not block a vote."""
    meeting = await public_meeting(client, demo.meeting_code)
    client.cookies.set("ov_session", "stale")
    body = signed_ballot(meeting, demo.letters[1])
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 201, response.text


async def test_per_credential_limit_answers_429_with_retry_after(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(ctx, tmp_path, rate_limit_ballots=RateLimit(count=2, period_seconds=60))
    async with AsyncTestClient(app=app) as client:
        meeting = await public_meeting(client, demo.meeting_code)
        url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
        body = signed_ballot(meeting, demo.letters[0])
        statuses = [(await client.post(url, json=body)).status_code for _ in range(2)]
        refused = await client.post(url, json=body)
        # Another credential is not affected by the first one's limit.
        other = await client.post(url, json=signed_ballot(meeting, demo.letters[1]))
    assert statuses == [201, 201]
    assert refused.status_code == 429
    assert refused.json()["code"] == "ballot_rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert other.status_code == 201


@ON_BOTH_DATABASES
async def test_ballot_entry_is_the_logged_ballot_on_each_database(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[2])
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=body)
    assert response.status_code == 201, response.text
    receipt = response.json()
    bundle = await client.get(f"/api/v1/meetings/{demo.meeting_code}/bundle")
    assert bundle.status_code == 200
    entries = decode_bundle(bundle.content).entries
    entry = decode_entry(bytes(entries[receipt["body"]["index"]]))
    assert isinstance(entry, BallotEntry)
    assert ballot_bytes(entry.ballot) == body["ballot"].encode()
    assert entry.signature == body["signature"]
    assert entry_hash(entry).hex() == receipt["body"]["entry"]


def _junk_naming(body: dict[str, str]) -> dict[str, str]:
    """A ballot naming the same member key with a signature that does not verify."""
    return {"ballot": body["ballot"], "signature": "00" * 64}


@pytest.fixture(params=STORES)
def limit_store_url(request: pytest.FixtureRequest) -> str | None:
    """The rate-limit store of the app: process memory, or Redis."""
    return store_url(request)


async def test_junk_naming_an_owner_from_many_addresses_does_not_refuse_the_owner(
    ctx: ServiceContext, tmp_path: Path, demo: Any, limit_store_url: str | None
) -> None:
    app = make_app(
        ctx,
        tmp_path,
        redis_url=limit_store_url,
        rate_limit_ballots=RateLimit(count=2, period_seconds=86400),
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    async with visiting(app, demo.meeting_code) as owner:
        body = signed_ballot(owner.meeting, demo.letters[0])
        junk = []
        for n in range(10):
            async with client_from(app, f"attacker-{owner.run}-{n}") as attacker:
                junk.append((await attacker.post(url, json=_junk_naming(body))).status_code)
        real = await owner.client.post(url, json=body)
    assert junk == [422] * 10
    assert real.status_code == 201, real.text


async def test_invalid_ballots_from_one_address_are_limited_by_address(
    ctx: ServiceContext, tmp_path: Path, demo: Any, limit_store_url: str | None
) -> None:
    app = make_app(
        ctx,
        tmp_path,
        redis_url=limit_store_url,
        rate_limit_invalid_ballots=RateLimit(count=3, period_seconds=86400),
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    async with visiting(app, demo.meeting_code) as owner:
        junk = _junk_naming(signed_ballot(owner.meeting, demo.letters[0]))
        statuses = [(await owner.client.post(url, json=junk)).status_code for _ in range(3)]
        refused = await owner.client.post(url, json=junk)
    assert statuses == [422, 422, 422]
    assert refused.status_code == 429
    assert refused.json()["code"] == "address_rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 86400


async def test_invalid_ballots_do_not_limit_other_addresses(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(
        ctx, tmp_path, rate_limit_invalid_ballots=RateLimit(count=1, period_seconds=86400)
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    async with visiting(app, demo.meeting_code) as owner:
        junk = _junk_naming(signed_ballot(owner.meeting, demo.letters[0]))
        for _ in range(2):
            await owner.client.post(url, json=junk)
        async with client_from(app, f"neighbour-{owner.run}") as neighbour:
            other = await neighbour.post(url, json=junk)
    assert other.status_code == 422
    assert other.json()["code"] == "bad_signature"


async def test_valid_ballot_from_an_address_limited_for_junk_is_accepted(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    """Phones behind one carrier NAT share an address: one sender's junk refuses nobody else."""
    app = make_app(
        ctx, tmp_path, rate_limit_invalid_ballots=RateLimit(count=1, period_seconds=86400)
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    async with visiting(app, demo.meeting_code) as owner:
        junk = _junk_naming(signed_ballot(owner.meeting, demo.letters[0]))
        limited = [(await owner.client.post(url, json=junk)).status_code for _ in range(2)]
        honest = await owner.client.post(url, json=signed_ballot(owner.meeting, demo.letters[1]))
    assert limited == [422, 429]
    assert honest.status_code == 201, honest.text


async def test_unparsable_ballot_counts_against_the_address(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(
        ctx, tmp_path, rate_limit_invalid_ballots=RateLimit(count=1, period_seconds=86400)
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
    run = uuid.uuid4().hex[:6]  # addresses of this run only (a shared Redis keeps counts)
    async with started(app), client_from(app, f"owner-{run}") as client:
        junk = {"ballot": "{not json", "signature": "00" * 64}
        statuses = [(await client.post(url, json=junk)).status_code for _ in range(2)]
    assert statuses == [422, 429]
