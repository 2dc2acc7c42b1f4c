"""Redis being down must never refuse or lose a ballot (docs/design.md §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from tests.databases import closed_redis_url
from tests.web.conftest import PASSWORD, StaffFactory, make_app
from tests.web.support import public_meeting, signed_ballot
from votes.enums import StaffRole
from votes.service.context import ServiceContext


async def test_ballots_are_taken_and_receipted_while_redis_is_down(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(ctx, tmp_path, redis_url=closed_redis_url())
    async with AsyncTestClient(app=app) as client:
        meeting = await public_meeting(client, demo.meeting_code)
        url = f"/api/v1/meetings/{demo.meeting_code}/ballots"
        receipts = []
        for letter in demo.letters[:3]:
            response = await client.post(url, json=signed_ballot(meeting, letter))
            assert response.status_code == 201, response.text
            receipts.append(response.json())
        turnout = await client.get(f"/api/v1/meetings/{demo.meeting_code}/turnout")
    assert [r["body"]["index"] for r in receipts] == sorted({r["body"]["index"] for r in receipts})
    assert turnout.json()["ballots"] == 3


async def test_staff_login_is_503_while_the_session_store_is_down(
    ctx: ServiceContext, tmp_path: Path, make_staff: StaffFactory
) -> None:
    app = make_app(ctx, tmp_path, redis_url=closed_redis_url())
    await make_staff("op", StaffRole.OPERATOR)
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "op", "password": PASSWORD}
        )
    assert response.status_code == 503
    assert response.json()["code"] == "session_store_unavailable"
    assert response.headers["retry-after"]


async def test_public_record_is_served_while_redis_is_down(
    ctx: ServiceContext, tmp_path: Path, demo: Any
) -> None:
    app = make_app(ctx, tmp_path, redis_url=closed_redis_url())
    async with AsyncTestClient(app=app) as client:
        client.cookies.set("ov_session", "some-staff-session")
        checkpoint = await client.get(f"/api/v1/meetings/{demo.meeting_code}/checkpoint")
        page = await client.get(f"/b/{demo.meeting_code}")
    assert checkpoint.status_code == 200
    assert page.status_code == 200


async def test_sessions_and_limits_work_through_a_live_redis(
    ctx: ServiceContext, tmp_path: Path, make_staff: StaffFactory, redis_url: str
) -> None:
    app = make_app(ctx, tmp_path, redis_url=redis_url)
    await make_staff("op", StaffRole.OPERATOR)
    async with AsyncTestClient(app=app) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "op", "password": PASSWORD}
        )
        assert login.status_code == 200
        me = await client.get("/api/v1/auth/me")
    assert me.json()["username"] == "op"


async def test_staff_request_with_a_session_is_503_while_redis_is_down(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    app = make_app(ctx, tmp_path, redis_url=closed_redis_url())
    async with AsyncTestClient(app=app) as client:
        client.cookies.set("ov_session", "some-staff-session")
        response = await client.get("/api/v1/auth/me")
    assert response.status_code == 503
    assert response.json()["code"] == "session_store_unavailable"
