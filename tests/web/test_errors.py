"""Every error is JSON {"code", "message"} with a stable code, the right status and language."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from tests.web.conftest import StaffFactory, login
from votes.enums import StaffRole


def _assert_error_shape(body: object) -> None:
    assert isinstance(body, dict)
    assert set(body) <= {"code", "message", "details"}
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    assert body["message"]


async def test_unknown_route_is_404_not_found(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    _assert_error_shape(response.json())
    assert response.json()["code"] == "not_found"


async def test_messages_are_chinese_by_default(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert "找不到" in response.json()["message"]


async def test_accept_language_en_gives_english(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(
        "/api/v1/no-such-thing", headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert response.json()["message"] == "/api/v1/no-such-thing was not found"


async def test_accept_language_prefers_higher_quality(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(
        "/api/v1/auth/me", headers={"Accept-Language": "en;q=0.5, zh-CN;q=0.9"}
    )
    assert response.json()["message"] == "请先登录"


async def test_service_error_message_follows_the_language(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        json={"username": "nobody", "password": "whatever"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "wrong username or password",
    }


async def test_wrong_method_is_405_method_not_allowed(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete("/api/v1/auth/me")
    assert response.status_code == 405
    _assert_error_shape(response.json())
    assert response.json()["code"] == "method_not_allowed"


async def test_body_of_the_wrong_shape_is_400_invalid_request(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post("/api/v1/auth/login", json={"username": 5})
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body)
    assert body["code"] == "invalid_request"
    assert body["details"]["errors"]


async def test_unknown_field_is_400_invalid_request(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "a", "password": "b", "admin": True}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_malformed_json_is_400_invalid_request(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_oversized_ballot_body_is_413_payload_too_large(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    limit = app.state.settings.max_body_bytes
    body = b'{"ballot": "' + b"x" * limit + b'", "signature": ""}'
    response = await client.post(
        "/api/v1/meetings/ANY/ballots",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["details"] == {"limit": limit}


async def test_service_refusal_keeps_its_code_and_status(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    await login(client, "conv")
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京市"})
    assert response.status_code == 403
    assert response.json()["code"] == "role_forbidden"
    assert response.json()["details"]["role"] == "convener"


async def test_unexpected_exception_is_500_internal_error_without_internals(
    app: Litestar,
) -> None:
    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password in a traceback")

    app.register(boom)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    _assert_error_shape(body)
    assert body["code"] == "internal_error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert body["details"]["incident"] in body["message"]


def test_every_web_layer_code_is_documented(repo_root: Path) -> None:
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \|", (repo_root / "docs" / "api-errors.md").read_text(), re.M)
    )
    used: set[str] = set()
    for path in (repo_root / "web").rglob("*.py"):
        source = path.read_text()
        used.update(re.findall(r'\bcode\s*(?:,\s*message\s*)?=\s*"([a-z_]+)"', source))
        used.update(
            re.findall(
                r"\b(?:NotFound|Unauthenticated|Forbidden|Conflict|Invalid|PayloadTooLarge"
                r'|RateLimited|ServiceError)\(\s*"([a-z_]+)"',
                source,
            )
        )
    used.update(
        re.findall(r'^    "([a-z_]+)": \(', (repo_root / "web" / "i18n.py").read_text(), re.M)
    )
    assert {"file_missing", "database_unavailable", "invalid_request"} <= used
    assert used - documented == set()
