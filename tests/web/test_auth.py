"""Staff login, sessions, CSRF and the login rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.web.conftest import PASSWORD, StaffFactory, login, make_settings
from votes.service.context import ServiceContext
from votes.settings import RateLimit
from votes.storage.models import StaffRole
from web.app import create_app


async def test_login_returns_the_account_and_starts_a_session(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    response = await client.post(
        "/api/v1/auth/login", json={"username": "op", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["username"] == "op"
    assert response.json()["role"] == "operator"
    assert "ov_session" in response.cookies
    assert response.headers["x-csrftoken"] == response.cookies["csrftoken"]
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "op"


async def test_wrong_password_is_401_invalid_credentials(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    response = await client.post(
        "/api/v1/auth/login", json={"username": "op", "password": "wrong password"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "ov_session" not in response.cookies


async def test_me_without_session_is_401_unauthenticated(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_anonymous_requests_get_no_session_cookie(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/v1/auth/me")
    assert "ov_session" not in response.cookies
    assert "set-cookie" not in response.headers


async def test_login_replaces_a_session_id_planted_before(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    client.cookies.set("ov_session", "planted-by-an-attacker")
    response = await client.post(
        "/api/v1/auth/login", json={"username": "op", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.cookies["ov_session"] != "planted-by-an-attacker"


async def test_logout_ends_the_session(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    old_session = client.cookies["ov_session"]
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    client.cookies.set("ov_session", old_session)  # replaying the old cookie does not work
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_cookie_post_without_csrf_token_is_403_csrf_failed(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    del client.headers["X-CSRFToken"]
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_cookie_post_with_a_forged_csrf_token_is_403(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    client.headers["X-CSRFToken"] = "0" * 128
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_cookie_post_with_the_csrf_token_succeeds(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "北京市"


async def test_login_rate_limit_answers_429_with_retry_after(
    ctx: ServiceContext, tmp_path: Path, make_staff: StaffFactory
) -> None:
    settings = make_settings(tmp_path, rate_limit_login=RateLimit(count=3, period_seconds=60))
    app = create_app(settings, context=ctx, scheduler=False, seed_demo=False)
    await make_staff("op", StaffRole.OPERATOR)
    async with AsyncTestClient(app=app) as client:
        statuses = []
        for _ in range(4):
            response = await client.post(
                "/api/v1/auth/login", json={"username": "op", "password": "wrong password"}
            )
            statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_login_rate_limit_does_not_touch_other_routes(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, rate_limit_login=RateLimit(count=1, period_seconds=60))
    app = create_app(settings, context=ctx, scheduler=False, seed_demo=False)
    async with AsyncTestClient(app=app) as client:
        statuses = [(await client.get("/api/v1/auth/me")).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"], indirect=True)
async def test_session_survives_across_requests_on_each_database(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    await login(client, "conv")
    for _ in range(2):
        response = await client.get("/api/v1/auth/me")
        assert response.json()["role"] == "convener"
