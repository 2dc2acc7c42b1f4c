"""The OpenAPI description: the real error shape, the 4xx answers and the session auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import make_settings
from votes.service import regions, schemas
from web.app import create_app
from web.routes.api.credentials import REGISTER_KEYS_MAX_BODY_BYTES

_ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(
        make_settings(tmp_path_factory.mktemp("openapi")), scheduler=False, seed_demo=False
    )
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "patch", "put", "delete"}:
                yield f"{method.upper()} {path}", operation


def test_error_schema_is_code_message_details(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "details"}
    assert error["required"] == ["code", "message"]


def test_every_error_response_uses_the_error_schema(schema: dict[str, Any]) -> None:
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == _ERROR_REF, f"{name} {status}"


def test_litestar_exception_shape_appears_nowhere(schema: dict[str, Any]) -> None:
    assert '"status_code"' not in json.dumps(schema)


def test_every_operation_declares_400_404_and_503(schema: dict[str, Any]) -> None:
    for name, operation in _operations(schema):
        assert {"400", "404", "503"} <= set(operation["responses"]), name


def test_staff_operations_declare_401_and_403(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/staff"]["post"]["responses"]
    assert {"401", "403", "409", "413", "422"} <= set(responses)


def test_rate_limited_operations_declare_429(schema: dict[str, Any]) -> None:
    assert "429" in schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "429" in schema["paths"]["/api/v1/meetings/{code}/ballots"]["post"]["responses"]


def test_state_changing_staff_operation_needs_session_and_csrf(schema: dict[str, Any]) -> None:
    assert schema["paths"]["/api/v1/staff"]["post"]["security"] == [{"session": [], "csrf": []}]
    assert set(schema["components"]["securitySchemes"]) == {"session", "csrf"}


def test_reading_staff_operation_needs_the_session_only(schema: dict[str, Any]) -> None:
    assert schema["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"session": []}]


def test_public_operations_need_no_session(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/meetings/{code}/ballots", "/api/v1/auth/login"):
        assert "security" not in schema["paths"][path]["post"], path
    assert "security" not in schema["paths"]["/api/v1/meetings/{code}/bundle"]["get"]


def test_documented_limits_are_the_schemas_limits(repo_root: Path) -> None:
    text = (repo_root / "docs" / "api.md").read_text()
    section = text[text.index("## Request bodies and limits") : text.index("## Authentication")]
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| limit")
    }
    assert rows == {
        "body of any JSON post": (
            "`VOTES_MAX_BODY_BYTES` (64 KiB by default; 413 `payload_too_large`)"
        ),
        "body of `POST /meetings/{code}/keys`": f"{REGISTER_KEYS_MAX_BODY_BYTES:,} bytes",
        "roster upload (multipart)": f"{regions.MAX_ROSTER_BYTES // 2**20} MiB file",
        "`estate_ids`, `subdistrict_ids` of a staff account": (
            f"{schemas.MAX_SCOPE_IDS} ids each, none repeated (422 `duplicate_scope_id`)"
        ),
        "`motions` of a meeting; `choices` of a paper ballot": f"{schemas.MAX_MOTIONS}",
        "`candidates` of a motion; names chosen on a paper ballot": (f"{schemas.MAX_CANDIDATES:,}"),
        "`scope` (buildings) of a motion": f"{schemas.MAX_SCOPE_BUILDINGS:,}",
        "`keys` registered at once": f"{schemas.MAX_REGISTERED_KEYS:,}",
    }
