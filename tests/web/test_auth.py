"""Staff login, sessions, CSRF, the login rate limit and the per-account login delay."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.web.conftest import ON_BOTH_DATABASES, PASSWORD, FakeClock, StaffFactory, login, make_app
from tests.web.support import client_from, started
from votes.enums import StaffRole
from votes.service.context import ServiceContext
from votes.settings import RateLimit
from web.ratelimit import LOGIN_DELAY_FIRST_SECONDS


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


@ON_BOTH_DATABASES
async def test_csrf_token_of_another_session_is_refused(
    app: Litestar, client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    """An attacker's own valid token pair does not pass with the victim's session."""
    await make_staff("op", StaffRole.OPERATOR)
    await make_staff("mallory", StaffRole.OPERATOR)
    async with AsyncTestClient(app=app) as attacker:
        attackers_token = await login(attacker, "mallory")
    await login(client, "op")
    client.headers["X-CSRFToken"] = attackers_token
    client.cookies.set("csrftoken", attackers_token)
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    regions = (await client.get("/api/v1/regions")).json()
    assert [r for r in regions if r["name"] == "北京市"] == []


async def test_csrf_token_of_the_previous_login_is_refused(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    first = await login(client, "op")
    second = await login(client, "op")
    client.headers["X-CSRFToken"] = first
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert first != second
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_csrf_token_is_accepted_from_the_header_alone(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    """The session binds the token; the ``csrftoken`` cookie is only a way to read it."""
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    client.cookies.delete("csrftoken")
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 201, response.text


async def test_login_rate_limit_answers_429_with_retry_after(
    ctx: ServiceContext, tmp_path: Path, make_staff: StaffFactory
) -> None:
    app = make_app(ctx, tmp_path, rate_limit_login=RateLimit(count=3, period_seconds=60))
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
    app = make_app(ctx, tmp_path, rate_limit_login=RateLimit(count=1, period_seconds=60))
    async with AsyncTestClient(app=app) as client:
        statuses = [(await client.get("/api/v1/auth/me")).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]


@ON_BOTH_DATABASES
async def test_session_survives_across_requests_on_each_database(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    await login(client, "conv")
    for _ in range(2):
        response = await client.get("/api/v1/auth/me")
        assert response.json()["role"] == "convener"


async def _wrong_logins(app: Litestar, username: str, count: int) -> list[int]:
    """``count`` wrong passwords for ``username``, each from its own client address."""
    statuses = []
    for n in range(count):
        async with client_from(app, f"192.0.2.{n + 1}") as client:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": "guess"}
            )
            statuses.append(response.status_code)
    return statuses


@ON_BOTH_DATABASES
async def test_wrong_passwords_from_many_addresses_delay_the_account(
    app: Litestar, make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    async with started(app):
        statuses = await _wrong_logins(app, "conv", 30)
        async with client_from(app, "192.0.2.200") as client:
            right = await client.post(
                "/api/v1/auth/login", json={"username": "conv", "password": PASSWORD}
            )
    free = app.state.settings.rate_limit_login.count
    assert statuses == [401] * free + [429] * (30 - free)
    assert right.status_code == 429
    assert right.json()["code"] == "login_throttled"
    assert int(right.headers["retry-after"]) >= 1
    assert "ov_session" not in right.cookies


@ON_BOTH_DATABASES
async def test_login_delay_is_in_the_audit_log(app: Litestar, make_staff: StaffFactory) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    await make_staff("op", StaffRole.OPERATOR)
    async with started(app):
        await _wrong_logins(app, "conv", app.state.settings.rate_limit_login.count)
        async with client_from(app, "192.0.2.200") as client:
            await login(client, "op")
            audit = (await client.get("/api/v1/audit")).json()
    throttled = [a for a in audit if a["action"] == "auth.login_throttled"]
    assert len(throttled) == 1
    assert throttled[0]["details"]["username"] == "conv"
    assert throttled[0]["details"]["delay_seconds"] >= 1


async def test_account_logs_in_once_its_delay_has_passed(
    app: Litestar, make_staff: StaffFactory, clock: FakeClock
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    async with started(app):
        await _wrong_logins(app, "conv", app.state.settings.rate_limit_login.count)
        clock.advance(seconds=LOGIN_DELAY_FIRST_SECONDS)
        async with client_from(app, "192.0.2.200") as client:
            right = await client.post(
                "/api/v1/auth/login", json={"username": "conv", "password": PASSWORD}
            )
    assert right.status_code == 200, right.text


async def test_good_login_forgets_the_accounts_failures(
    app: Litestar, make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    free = app.state.settings.rate_limit_login.count
    async with started(app):
        await _wrong_logins(app, "conv", free - 1)
        async with client_from(app, "192.0.2.200") as client:
            await login(client, "conv")
        statuses = await _wrong_logins(app, "conv", free - 1)
    assert statuses == [401] * (free - 1)


async def test_unknown_user_name_is_delayed_like_a_known_one(app: Litestar) -> None:
    async with started(app):
        statuses = await _wrong_logins(app, "nobody", 12)
    free = app.state.settings.rate_limit_login.count
    assert statuses == [401] * free + [429] * (12 - free)
