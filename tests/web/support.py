"""Helpers of the web tests: demo data, and ballots signed as a phone would sign them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from crypto.credentials import derive_signing_key, parse_secret
from votes.record.ballot import ballot_bytes, build_ballot, sign_ballot
from votes.service.schemas import LetterOut


async def public_meeting(client: AsyncTestClient[Litestar], code: str) -> dict[str, Any]:
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
