"""Hostile requests from outside: every one is a 4xx with a stable code and changes nothing.

Each test sends one kind of malformed input (invalid UTF-8, deep nesting,
repeated keys, NUL characters, numbers as strings, integers beyond 64 bits,
times outside the calendar, oversized lists and bodies) to the routes that
take it, on SQLite and on PostgreSQL, and checks the status, the code, a
Chinese message free of parser English, and that the data did not change.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from crypto.credentials import derive_signing_key, parse_secret
from tests.web.conftest import PASSWORD, Backend, StaffFactory, login
from tests.web.support import public_meeting, signed_ballot
from votes.enums import StaffRole
from votes.service import ballots, objections
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.service.objections import OBJECTION_DOMAIN, objection_body
from votes.service.schemas import MAX_SCOPE_IDS, MemberObjectionRequest
from votes.storage import create_engine, create_session_factory

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"], indirect=True)

JSON = {"Content-Type": "application/json"}
INT64_MAX = 2**63 - 1


def _assert_refused(response: Any, status: int = 400, code: str = "invalid_request") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, response.text
    _assert_plain_chinese(body["message"])


def _assert_plain_chinese(message: str) -> None:
    """A Chinese message: no msgspec or Litestar wording, no backticked parser text."""
    assert message
    for english in ("Expected", "`", "Object ", "Validation failed", "Missing required", "JSON is"):
        assert english not in message, message


def _json_posts(app: Litestar) -> Iterator[tuple[str, str]]:
    """(method, path template) of every operation that takes a JSON body."""
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in ("post", "patch"):
            operation = getattr(item, method, None)
            body = getattr(operation, "request_body", None)
            content = getattr(body, "content", None) or {}
            if "application/json" in content:
                yield method.upper(), path


def _concrete(path: str, meeting_code: str) -> str:
    return (
        path.replace("{code}", meeting_code)
        .replace("{objection_id}", str(uuid.uuid4()))
        .replace("{key_id}", str(uuid.uuid4()))
        .replace("{request_id}", str(uuid.uuid4()))
        .replace("{estate_id}", "1")
    )


@pytest.fixture
async def operator(client: AsyncTestClient[Litestar], make_staff: StaffFactory) -> str:
    """An operator logged in on ``client`` (its CSRF token set); returns the username."""
    await make_staff("hostile-op", StaffRole.OPERATOR)
    await login(client, "hostile-op")
    return "hostile-op"


async def _regions(client: AsyncTestClient[Litestar]) -> list[Any]:
    response = await client.get("/api/v1/regions")
    assert response.status_code == 200, response.text
    regions: list[Any] = response.json()
    return regions


async def _ballots_taken(client: AsyncTestClient[Litestar], code: str) -> int:
    response = await client.get(f"/api/v1/meetings/{code}/turnout")
    assert response.status_code == 200, response.text
    taken: int = response.json()["ballots"]
    return taken


async def _send_to_every_json_post(
    client: AsyncTestClient[Litestar], app: Litestar, meeting_code: str, content: bytes
) -> list[tuple[str, Any]]:
    answers = []
    for method, path in _json_posts(app):
        url = _concrete(path, meeting_code)
        response = await client.request(method, url, content=content, headers=JSON)
        answers.append((f"{method} {url}", response))
    return answers


# ---------------------------------------------------------------- every JSON post


async def test_invalid_utf8_is_400_on_every_json_post(
    client: AsyncTestClient[Litestar], app: Litestar, demo: Any, operator: str
) -> None:
    before = await _ballots_taken(client, demo.meeting_code)
    answers = await _send_to_every_json_post(
        client, app, demo.meeting_code, b'{"username": "\xff\xfe", "ballot": "\xc3("}'
    )
    assert len(answers) >= 20
    for route, response in answers:
        assert response.status_code == 400, f"{route}: {response.text}"
        assert response.json()["code"] == "invalid_request", route
        assert "UTF-8" in response.json()["message"], route
    assert await _ballots_taken(client, demo.meeting_code) == before


async def test_deeply_nested_body_is_400_on_every_json_post(
    client: AsyncTestClient[Litestar], app: Litestar, demo: Any, operator: str
) -> None:
    # Deeper than Python's recursion limit, yet inside the 64 KiB body limit.
    deep = b'{"a":' + b"[" * 20000 + b"]" * 20000 + b"}"
    for route, response in await _send_to_every_json_post(client, app, demo.meeting_code, deep):
        assert response.status_code == 400, f"{route}: {response.text}"
        assert response.json()["message"] == "请求格式错误：请求体嵌套过深（最多 32 层）", route


async def test_body_limit_applies_to_every_json_post(
    client: AsyncTestClient[Litestar], app: Litestar, demo: Any, operator: str
) -> None:
    limit = app.state.settings.max_body_bytes
    big = b'{"name": "' + b"x" * limit + b'"}'
    for route, response in await _send_to_every_json_post(client, app, demo.meeting_code, big):
        if route.endswith("/keys"):
            continue  # key registration has its own, larger limit (next test)
        assert response.status_code == 413, f"{route}: {response.text}"
        assert response.json()["details"] == {"limit": limit}, route


async def test_key_registration_takes_a_body_larger_than_the_json_limit(
    client: AsyncTestClient[Litestar], app: Litestar, demo: Any, operator: str
) -> None:
    limit = app.state.settings.max_body_bytes
    keys = {f"member-{i:06d}": "ab" * 32 for i in range(limit // 80 + 1)}
    response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/keys", json={"keys": keys})
    assert len(response.request.content) > limit
    assert response.status_code != 413, response.text
    assert 400 <= response.status_code < 500, response.text


# ---------------------------------------------------------------- the ballot POST


async def test_ballot_with_a_repeated_key_is_400_and_not_taken(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    body = signed_ballot(meeting, demo.letters[0])
    raw = (
        f'{{"ballot": {json.dumps(body["ballot"])}, "signature": "{body["signature"]}", '
        f'"signature": "{"0" * 128}"}}'
    ).encode()
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/ballots", content=raw, headers=JSON
    )
    _assert_refused(response)
    assert "signature" in response.json()["message"]
    assert await _ballots_taken(client, demo.meeting_code) == 0


async def test_ballot_whose_text_nests_deeply_is_malformed_in_the_service(
    ctx: ServiceContext, demo: Any
) -> None:
    # The rate limiter's own look at the ballot text is another part's; the
    # service's parse of the text must refuse it as malformed, not fail.
    deep = b'{"choices":' + b"[" * 30000 + b"]" * 30000 + b"}"
    with pytest.raises(ServiceError) as refused:
        await ballots.cast_ballot(ctx, demo.meeting_code, deep, "00" * 64)
    assert (refused.value.code, refused.value.status) == ("malformed", 422)
    _assert_plain_chinese(refused.value.message_zh)


async def test_owner_objection_whose_body_nests_deeply_is_bad_objection(
    ctx: ServiceContext, demo: Any
) -> None:
    deep = "[" * 30000 + "]" * 30000
    request = MemberObjectionRequest(body=deep, signature="00" * 64, text="x")
    with pytest.raises(ServiceError) as refused:
        await objections.file_member_objection(ctx, demo.meeting_code, request)
    assert refused.value.code == "bad_objection"


# ---------------------------------------------------------------- NUL characters


async def test_nul_in_a_login_user_name_is_400(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "op\u0000", "password": PASSWORD}
    )
    _assert_refused(response)
    assert response.json()["details"]["errors"][0]["key"] == "username"
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_nul_in_a_region_name_is_400_and_nothing_is_created(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post("/api/v1/regions", json={"level": "city", "name": "北京\u0000市"})
    _assert_refused(response)
    assert "NUL" in response.json()["message"]
    assert await _regions(client) == []


async def test_nul_in_an_objection_text_is_400_and_nothing_is_recorded(
    client: AsyncTestClient[Litestar], demo: Any, operator: str
) -> None:
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    response = await client.post(
        f"{url}/staff", json={"subject": "roster", "text": "名册\u0000有误"}
    )
    _assert_refused(response)
    assert (await client.get(url)).json() == []


async def test_unpaired_surrogate_in_a_login_user_name_is_400(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username": "op\\ud800", "password": "12345678"}',
        headers=JSON,
    )
    _assert_refused(response)
    assert "代理项" in response.json()["message"]


async def test_unpaired_surrogate_in_a_ballot_is_400_and_not_taken(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/ballots",
        content=b'{"ballot": "{\\"v\\":1}\\udfff", "signature": "' + b"ab" * 64 + b'"}',
        headers=JSON,
    )
    _assert_refused(response)
    assert response.json()["details"]["errors"][0]["key"] == "ballot"
    assert await _ballots_taken(client, demo.meeting_code) == 0


async def test_nul_in_a_signed_owner_objection_is_refused_and_nothing_is_recorded(
    client: AsyncTestClient[Litestar], demo: Any, operator: str
) -> None:
    # The owner signs the text's SHA-256; the text itself travels beside the signed
    # body, where the strict body decoder refuses the NUL before the service runs.
    meeting = await public_meeting(client, demo.meeting_code)
    key = derive_signing_key(meeting["id"], parse_secret(demo.letters[0].code))
    body = objection_body(
        meeting=meeting["id"],
        member=key.public_key.hex(),
        subject="roster",
        text="面积\u0000有误",
        nonce=secrets.token_hex(16),
    )
    url = f"/api/v1/meetings/{demo.meeting_code}/objections"
    response = await client.post(
        url,
        json={
            "body": body.decode(),
            "signature": key.sign(OBJECTION_DOMAIN, body).hex(),
            "text": "面积\u0000有误",
        },
    )
    _assert_refused(response)
    assert "NUL" in response.json()["message"]
    assert (await client.get(url)).json() == []


# ---------------------------------------------------------------- numbers


async def test_numeric_string_for_an_integer_is_400(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    city = (await client.post("/api/v1/regions", json={"level": "city", "name": "市"})).json()
    response = await client.post(
        "/api/v1/estates", json={"subdistrict_id": str(city["id"]), "name": "华府小区"}
    )
    _assert_refused(response)
    assert response.json()["message"] == "请求格式错误：字段 subdistrict_id 必须是整数"


async def test_numeric_string_for_a_nullable_integer_is_400_and_nothing_is_created(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    city = (await client.post("/api/v1/regions", json={"level": "city", "name": "市"})).json()
    response = await client.post(
        "/api/v1/regions",
        json={"level": "district", "name": "区", "parent_id": str(city["id"])},
    )
    _assert_refused(response)
    assert response.json()["message"] == "请求格式错误：字段 parent_id 必须是整数（或 null）"
    assert len(await _regions(client)) == 1


async def test_integer_beyond_64_bits_in_a_body_is_400(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post(
        "/api/v1/estates", json={"subdistrict_id": 2**64, "name": "华府小区"}
    )
    _assert_refused(response)
    assert "64 位" in response.json()["message"]


async def test_id_just_beyond_int64_in_a_body_is_400(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post(
        "/api/v1/regions", json={"level": "district", "name": "区", "parent_id": INT64_MAX + 1}
    )
    _assert_refused(response)
    assert await _regions(client) == []


async def test_largest_int64_id_is_simply_not_found(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post(
        "/api/v1/estates", json={"subdistrict_id": INT64_MAX, "name": "华府小区"}
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "subdistrict_not_found"


async def test_integer_beyond_64_bits_in_a_path_is_400(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.get(f"/api/v1/estates/{INT64_MAX + 1}")
    _assert_refused(response)
    assert response.json()["details"]["errors"][0]["source"] == "path"


async def test_integer_beyond_64_bits_in_a_query_is_400(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    for url in (f"/api/v1/meetings?estate_id={2**64}", f"/api/v1/audit?estate_id={2**64}"):
        response = await client.get(url)
        _assert_refused(response)
        assert response.json()["message"].startswith("请求格式错误：查询参数 estate_id"), url


async def test_cosignature_size_beyond_64_bits_is_400(
    client: AsyncTestClient[Litestar], demo: Any, operator: str
) -> None:
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/cosignatures",
        json={"public_key": "ab" * 32, "size": 2**64, "cosignature": "— officer x"},
    )
    _assert_refused(response)


# ---------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("field", "instant"),
    [
        ("open_at", "0001-01-01T00:00:00+08:00"),  # before year 1 in UTC
        ("notice_at", "9999-12-31T23:59:59Z"),  # no notice period can be added to it
        ("close_at", "1999-12-31T23:59:59Z"),
        ("open_at", "9000-01-01T00:00:00Z"),
    ],
    ids=["year-0-in-utc", "end-of-calendar", "before-2000", "from-9000"],
)
async def test_time_outside_the_accepted_range_is_400_and_nothing_is_created(
    client: AsyncTestClient[Litestar], demo: Any, operator: str, field: str, instant: str
) -> None:
    estate_id = (await client.get("/api/v1/estates")).json()[0]["id"]
    before = (await client.get("/api/v1/meetings")).json()
    body = {
        "estate_id": estate_id,
        "title": "会议",
        "convener": "业主委员会",
        "open_at": "2030-01-01T00:00:00Z",
        "close_at": "2030-01-10T00:00:00Z",
        field: instant,
    }
    response = await client.post("/api/v1/meetings", json=body)
    _assert_refused(response)
    assert response.json()["message"] == (
        f"请求格式错误：字段 {field} 必须不早于 2000-01-01、早于 9000-01-01（UTC）"
    )
    assert (await client.get("/api/v1/meetings")).json() == before


async def test_draft_change_to_the_end_of_the_calendar_is_400(
    client: AsyncTestClient[Litestar], demo: Any, operator: str
) -> None:
    estate_id = (await client.get("/api/v1/estates")).json()[0]["id"]
    created = await client.post(
        "/api/v1/meetings",
        json={
            "estate_id": estate_id,
            "title": "会议",
            "convener": "业主委员会",
            "open_at": "2030-01-01T00:00:00Z",
            "close_at": "2030-01-10T00:00:00Z",
        },
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/meetings/{created.json()['code']}"
    response = await client.patch(url, json={"notice_at": "9999-12-31T23:59:59Z"})
    _assert_refused(response)
    assert (await client.get(url)).json() == created.json()


@pytest.mark.parametrize(
    "setting", ["objection_days", "notice_days", "voting_min_days", "voting_max_days"]
)
async def test_day_count_beyond_a_century_in_the_settings_is_400(
    client: AsyncTestClient[Litestar], demo: Any, operator: str, setting: str
) -> None:
    # The sum of a time and 10**12 days does not exist; the request is refused before
    # anything computes with it.
    estate_id = (await client.get("/api/v1/estates")).json()[0]["id"]
    before = (await client.get("/api/v1/meetings", params={"estate_id": estate_id})).json()
    response = await client.post(
        "/api/v1/meetings",
        json={
            "estate_id": estate_id,
            "title": "会议",
            "convener": "业主委员会",
            "open_at": "2030-01-01T00:00:00Z",
            "close_at": "2030-01-10T00:00:00Z",
            "settings": {setting: 10**12},
        },
    )
    _assert_refused(response)
    assert (await client.get("/api/v1/meetings", params={"estate_id": estate_id})).json() == before


# ---------------------------------------------------------------- lists and keys


async def test_staff_with_a_repeated_estate_id_is_422_and_not_created(
    client: AsyncTestClient[Litestar], demo: Any, operator: str
) -> None:
    estate_id = (await client.get("/api/v1/estates")).json()[0]["id"]
    response = await client.post(
        "/api/v1/staff",
        json={
            "username": "twice",
            "password": PASSWORD,
            "role": "convener",
            "display_name": "两次",
            "estate_ids": [estate_id, estate_id],
        },
    )
    _assert_refused(response, 422, "duplicate_scope_id")
    assert response.json()["details"] == {"field": "estate_ids", "id": estate_id}
    login_attempt = await client.post(
        "/api/v1/auth/login", json={"username": "twice", "password": PASSWORD}
    )
    assert login_attempt.json()["code"] == "invalid_credentials"


async def test_staff_with_a_repeated_subdistrict_id_is_422(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post(
        "/api/v1/staff",
        json={
            "username": "twice",
            "password": PASSWORD,
            "role": "officer",
            "display_name": "两次",
            "subdistrict_ids": [7, 7],
        },
    )
    _assert_refused(response, 422, "duplicate_scope_id")


async def test_ten_thousand_scope_ids_are_refused_at_once(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    started = time.monotonic()
    response = await client.post(
        "/api/v1/staff",
        json={
            "username": "many",
            "password": PASSWORD,
            "role": "convener",
            "display_name": "很多",
            "estate_ids": list(range(1, 10_001)),
        },
    )
    assert time.monotonic() - started < 2
    _assert_refused(response)
    assert response.json()["message"] == f"请求格式错误：字段 estate_ids 最多 {MAX_SCOPE_IDS} 项"


async def test_repeated_key_in_a_login_body_is_400(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username": "a", "username": "b", "password": "12345678"}',
        headers=JSON,
    )
    _assert_refused(response)
    assert response.json()["details"]["errors"][0]["key"] == "username"


# ---------------------------------------------------------------- messages


async def test_validation_message_is_chinese_and_english_keeps_the_parser_text(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    body = {"username": "short", "password": "1234", "role": "operator", "display_name": "x"}
    chinese = await client.post("/api/v1/staff", json=body)
    english = await client.post("/api/v1/staff", json=body, headers={"Accept-Language": "en"})
    _assert_refused(chinese)
    assert chinese.json()["message"] == "请求格式错误：字段 password 至少 8 个字符"
    assert chinese.json()["details"]["errors"] == [
        {"message": "字段 password 至少 8 个字符", "key": "password", "source": "body"}
    ]
    assert "Expected `str` of length >= 8" in english.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"level": "planet", "name": "x"}, "字段 level 的取值不在允许范围内"),
        ({"name": "x"}, "缺少必填字段 level"),
        ({"level": "city", "name": "x", "admin": True}, "不允许的字段 admin"),
        ({"level": "city", "name": ""}, "字段 name 至少 1 个字符"),
        ({"level": "city", "name": "x" * 301}, "字段 name 最多 300 个字符"),
        ({"level": "city", "name": ["x"]}, "字段 name 必须是字符串"),
        ([{"level": "city", "name": "x"}], "请求体必须是 JSON 对象"),
    ],
    ids=["enum", "missing", "unknown", "too-short", "too-long", "wrong-type", "not-object"],
)
async def test_validation_message_names_the_field_and_the_rule_in_chinese(
    client: AsyncTestClient[Litestar], operator: str, body: Any, message: str
) -> None:
    response = await client.post("/api/v1/regions", json=body)
    _assert_refused(response)
    assert response.json()["message"] == f"请求格式错误：{message}"
    assert await _regions(client) == []


async def test_time_without_iso_form_is_named_in_chinese(
    client: AsyncTestClient[Litestar], operator: str
) -> None:
    response = await client.post(
        "/api/v1/meetings",
        json={
            "estate_id": 1,
            "title": "会议",
            "convener": "业主委员会",
            "open_at": "下周一",
            "close_at": "2030-01-01T00:00:00Z",
        },
    )
    _assert_refused(response)
    assert response.json()["message"] == "请求格式错误：字段 open_at 必须是带时区的 ISO-8601 时间"


async def test_empty_body_is_400_naming_the_missing_body(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.post(
        f"/api/v1/meetings/{demo.meeting_code}/ballots", content=b"", headers=JSON
    )
    _assert_refused(response)
    assert response.json()["message"] == "请求格式错误：请求体不能为空，须为 JSON 对象"


async def test_query_parameter_is_named_as_the_client_sends_it(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(
        f"/api/v1/meetings/{demo.meeting_code}/proof/consistency?from=a&to=2"
    )
    _assert_refused(response)
    assert response.json()["message"] == "请求格式错误：查询参数 from 必须是整数"


async def test_missing_query_parameter_is_named_in_chinese(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/api/v1/meetings/{demo.meeting_code}/proof/consistency?to=2")
    _assert_refused(response)
    assert "from" in response.json()["message"]


# ---------------------------------------------------------------- database outage


def _dead_database(backend: Backend, tmp_path: Path) -> Any:
    """An engine whose database cannot be reached: a closed port, or a directory as file."""
    if backend.name == "sqlite":
        folder = tmp_path / "dead.db"
        folder.mkdir()
        url = f"sqlite+aiosqlite:///{folder}"
    else:
        url = "postgresql+asyncpg://postgres@127.0.0.1:9/test"  # discard port: refused
    return create_engine(dataclasses.replace(backend.settings, database_url=url))


async def test_staff_request_during_a_database_outage_is_503(  # noqa: PLR0917 - fixtures
    client: AsyncTestClient[Litestar],
    app: Litestar,
    ctx: ServiceContext,
    backend: Backend,
    tmp_path: Path,
    operator: str,
) -> None:
    dead = _dead_database(backend, tmp_path)
    try:
        app.state.ctx = dataclasses.replace(
            ctx,
            sessions=create_session_factory(dead),
            read_sessions=create_session_factory(dead, read_only=True),
        )
        answers = [
            await client.get("/api/v1/auth/me"),
            await client.post("/api/v1/regions", json={"level": "city", "name": "市"}),
            await client.get("/api/v1/meetings/anything"),
            await client.post(
                "/api/v1/auth/login", json={"username": operator, "password": PASSWORD}
            ),
        ]
    finally:
        app.state.ctx = ctx
        await dead.dispose()
    for answer in answers:
        _assert_refused(answer, 503, "database_unavailable")
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["details"] == {"retryable": True, "retry_after": 5}
    assert await _regions(client) == []


async def test_ballot_during_a_database_outage_is_a_retryable_503_and_not_stored(  # noqa: PLR0917
    client: AsyncTestClient[Litestar],
    app: Litestar,
    ctx: ServiceContext,
    backend: Backend,
    tmp_path: Path,
    demo: Any,
) -> None:
    meeting = await public_meeting(client, demo.meeting_code)
    ballot = signed_ballot(meeting, demo.letters[0])
    dead = _dead_database(backend, tmp_path)
    try:
        app.state.ctx = dataclasses.replace(
            ctx,
            sessions=create_session_factory(dead),
            read_sessions=create_session_factory(dead, read_only=True),
        )
        response = await client.post(f"/api/v1/meetings/{demo.meeting_code}/ballots", json=ballot)
    finally:
        app.state.ctx = ctx
        await dead.dispose()
    assert response.status_code == 503, response.text
    assert response.json()["code"] in {"database_unavailable", "ballot_not_stored"}
    assert response.json()["details"]["retryable"] is True
    assert response.headers["retry-after"] == "5"
    assert await _ballots_taken(client, demo.meeting_code) == 0
