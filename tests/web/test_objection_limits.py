"""The owner's signed objection POST: limited per key only once its signature verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.conftest import make_app
from tests.web.support import client_from, signed_objection, visiting
from votes.service.context import ServiceContext
from votes.settings import RateLimit

_TEXT = "我的房屋面积登记有误"


def _objection(meeting: dict[str, Any], letter: Any) -> dict[str, str]:
    return signed_objection(meeting, letter, subject="roster", text=_TEXT)


async def test_junk_objections_naming_an_owner_do_not_refuse_the_owner(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(ctx, tmp_path, rate_limit_ballots=RateLimit(count=2, period_seconds=86400))
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    async with visiting(app, demo.meeting_code) as owner:
        real = _objection(owner.meeting, demo.letters[0])
        junk = []
        for n in range(5):
            async with client_from(app, f"attacker-{owner.run}-{n}") as attacker:
                forged = {**real, "signature": "00" * 64}
                junk.append((await attacker.post(url, json=forged)).status_code)
        response = await owner.client.post(url, json=real)
    assert 429 not in junk
    assert response.status_code == 201, response.text


async def test_junk_objections_from_one_address_are_limited_by_address(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(
        ctx, tmp_path, rate_limit_invalid_ballots=RateLimit(count=2, period_seconds=86400)
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    async with visiting(app, demo.meeting_code, "attacker") as attacker:
        forged = {**_objection(attacker.meeting, demo.letters[0]), "signature": "00" * 64}
        statuses = [(await attacker.client.post(url, json=forged)).status_code for _ in range(3)]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429


async def test_deeply_nested_objection_body_is_refused_as_junk(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(ctx, tmp_path)
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    nested = '{"x":' + "[" * 10_000 + "]" * 10_000 + "}"
    async with visiting(app, demo.meeting_code, "attacker") as attacker:
        response = await attacker.client.post(
            url, json={"body": nested, "signature": "00" * 64, "text": "x"}
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] in {"bad_objection", "bad_signature"}
