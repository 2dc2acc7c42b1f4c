"""Helpers of the web tests: demo data, and ballots and objections signed as a phone would
sign them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar

from crypto.credentials import derive_signing_key, parse_secret
from crypto.merkle import verify_inclusion
from crypto.notes import Checkpoint
from crypto.signing import Domain, SigningKey
from votes.record.ballot import ballot_bytes, build_ballot, sign_ballot
from votes.service.objections import OBJECTION_DOMAIN, objection_body
from votes.service.schemas import LetterOut


async def login_as(client: httpx.AsyncClient, demo: Any, role: str) -> None:
    """Log in as the demo estate's account of ``role`` and send its CSRF token from now on."""
    account = next(a for a in demo.accounts if a.role.value == role)
    response = await client.post(
        "/api/v1/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = response.headers["x-csrftoken"]


async def public_meeting(client: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/meetings/{code}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def default_choices(meeting: dict[str, Any]) -> dict[str, Any]:
    """A valid choice on every motion: agree, the first candidate(s), or abstain."""
    choices: dict[str, Any] = {}
    for motion in meeting["motions"]:
        if motion["type"] == "yes-no":
            choices[motion["id"]] = "agree"
        elif motion["type"] == "election":
            choices[motion["id"]] = motion["candidates"][: motion["seats"]]
        else:
            choices[motion["id"]] = motion["candidates"][0]
    return choices


def signed_ballot(
    meeting: dict[str, Any], letter: LetterOut, choices: dict[str, Any] | None = None
) -> dict[str, str]:
    """The POST body of a ballot signed with the letter's credential."""
    key = derive_signing_key(meeting["id"], parse_secret(letter.code))
    ballot = build_ballot(
        meeting=meeting["id"],
        member=key.public_key,
        choices=default_choices(meeting) if choices is None else choices,
        roster_root=meeting["roster_root"],
    )
    return {
        "ballot": ballot_bytes(ballot).decode(),
        "signature": sign_ballot(ballot, key).hex(),
    }


def signed_objection(
    meeting: dict[str, Any], letter: LetterOut, *, subject: str, text: str
) -> dict[str, str]:
    """The POST body of an objection signed with the letter's credential (a fresh nonce)."""
    key = derive_signing_key(meeting["id"], parse_secret(letter.code))
    body = objection_body(
        meeting=meeting["id"],
        member=key.public_key.hex(),
        subject=subject,
        text=text,
        nonce=secrets.token_hex(16),
    )
    return {
        "body": body.decode(),
        "signature": key.sign(OBJECTION_DOMAIN, body).hex(),
        "text": text,
    }


def change_signature(key: SigningKey, body: str) -> dict[str, str]:
    """The officer's signature of a credential change request body (the approve POST body)."""
    return {
        "public_key": key.public_key.hex(),
        "signature": key.sign(Domain.CREDENTIAL_CHANGE, body.encode()).hex(),
    }


def checkpoint_root(note: str) -> bytes:
    """The root hash a signed checkpoint note states (read from its body)."""
    return Checkpoint.parse(note.split("\n\n", 1)[0] + "\n").root_hash


def check_inclusion(proof: dict[str, Any]) -> None:
    """Check a ``/proof/inclusion`` answer against the checkpoint it carries (raises if wrong)."""
    verify_inclusion(
        leaf_hash=bytes.fromhex(proof["leaf_hash"]),
        index=proof["index"],
        size=proof["size"],
        proof=[bytes.fromhex(h) for h in proof["proof"]],
        root=checkpoint_root(proof["checkpoint"]),
    )


@asynccontextmanager
async def started(app: Litestar) -> AsyncIterator[None]:
    """Run ``app``'s startup and shutdown in this event loop (for :func:`client_from`)."""
    async with app.lifespan():
        yield


@asynccontextmanager
async def client_from(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``address``, run in this event loop.

    The app must be started in this loop (:func:`started`), not by an
    ``AsyncTestClient``, which runs it in a loop of its own.
    """
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@dataclass
class Visitor:
    """A client from an address of this test run alone, and the meeting as it read it."""

    client: httpx.AsyncClient
    meeting: dict[str, Any]
    run: str  # names the run's other addresses, e.g. f"attacker-{run}-{n}"


@asynccontextmanager
async def visiting(app: Litestar, code: str, who: str = "owner") -> AsyncIterator[Visitor]:
    """Start ``app`` in this loop; read meeting ``code`` from the new address ``{who}-{run}``.

    The run id keeps each run's addresses apart (a shared Redis keeps its counts).
    """
    run = uuid.uuid4().hex[:6]
    async with started(app), client_from(app, f"{who}-{run}") as client:
        yield Visitor(client, await public_meeting(client, code), run)
