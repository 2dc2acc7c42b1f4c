"""The owner's signed objection POST: limited per key only once its signature verifies."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from crypto.credentials import derive_signing_key, parse_secret
from tests.web.conftest import make_settings
from tests.web.support import client_from, public_meeting, started
from votes.service.context import ServiceContext
from votes.service.objections import OBJECTION_DOMAIN, objection_body
from votes.settings import RateLimit
from web.app import create_app

_TEXT = "我的房屋面积登记有误"


def _objection(meeting: dict[str, Any], letter: Any) -> dict[str, str]:
    key = derive_signing_key(meeting["id"], parse_secret(letter.code))
    body = objection_body(
        meeting=meeting["id"],
        member=key.public_key.hex(),
        subject="roster",
        text=_TEXT,
        nonce=secrets.token_hex(16),
    )
    return {
        "body": body.decode(),
        "signature": key.sign(OBJECTION_DOMAIN, body).hex(),
        "text": _TEXT,
    }


async def test_junk_objections_naming_an_owner_do_not_refuse_the_owner(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    settings = make_settings(tmp_path, rate_limit_ballots=RateLimit(count=2, period_seconds=86400))
    app = create_app(settings, context=ctx, scheduler=False, seed_demo=False)
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    run = uuid.uuid4().hex[:6]
    async with started(app), client_from(app, f"owner-{run}") as owner:
        meeting = await public_meeting(owner, demo.meeting_code)
        real = _objection(meeting, demo.letters[0])
        junk = []
        for n in range(5):
            async with client_from(app, f"attacker-{run}-{n}") as attacker:
                forged = {**real, "signature": "00" * 64}
                junk.append((await attacker.post(url, json=forged)).status_code)
        response = await owner.post(url, json=real)
    assert 429 not in junk
    assert response.status_code == 201, response.text


async def test_junk_objections_from_one_address_are_limited_by_address(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    settings = make_settings(
        tmp_path, rate_limit_invalid_ballots=RateLimit(count=2, period_seconds=86400)
    )
    app = create_app(settings, context=ctx, scheduler=False, seed_demo=False)
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    async with started(app), client_from(app, f"attacker-{uuid.uuid4().hex[:6]}") as attacker:
        meeting = await public_meeting(attacker, demo.meeting_code)
        forged = {**_objection(meeting, demo.letters[0]), "signature": "00" * 64}
        statuses = [(await attacker.post(url, json=forged)).status_code for _ in range(3)]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429


async def test_deeply_nested_objection_body_is_refused_as_junk(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = create_app(make_settings(tmp_path), context=ctx, scheduler=False, seed_demo=False)
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    nested = '{"x":' + "[" * 10_000 + "]" * 10_000 + "}"
    async with started(app), client_from(app, f"attacker-{uuid.uuid4().hex[:6]}") as attacker:
        response = await attacker.post(
            url, json={"body": nested, "signature": "00" * 64, "text": "x"}
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] in {"bad_objection", "bad_signature"}
