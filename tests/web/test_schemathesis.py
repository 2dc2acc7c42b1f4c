"""Schemathesis over the OpenAPI schema, in-process (ASGI), against the embedded default.

Bounded and deterministic: a few derandomised examples per operation, and
the check that matters here — no request, valid or not, makes the server
fail (no 5xx), every answer is a status the OpenAPI description declares
for the operation, in the declared shape (errors: ``ErrorOut``), and every
error message (Chinese by default) is free of the parser's English.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.databases import migrate
from tests.web.conftest import make_settings
from web.app import create_app

schemathesis = pytest.importorskip("schemathesis")
asgi = pytest.importorskip("schemathesis.python.asgi")
openapi_checks = pytest.importorskip("schemathesis.specs.openapi.checks")


@pytest.fixture(scope="module")
def web_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app_settings = make_settings(tmp_path_factory.mktemp("schemathesis"))
    migrate(app_settings)
    app = create_app(app_settings, scheduler=False, seed_demo=True)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    # An event stream never ends by itself; it has its own tests (test_sse.py).
    yield schema.exclude(path_regex=r".*/turnout/stream$")
    asgi.shutdown_lifespans()


schema = schemathesis.pytest.from_fixture("web_schema")
_CONFORMANCE = (
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
)


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_makes_the_server_fail(case: Any) -> None:
    response = case.call()
    # The answer is one the schema declares, in the declared shape (ErrorOut for errors).
    case.validate_response(response, checks=_CONFORMANCE)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("code"), str), response.text
        assert isinstance(body.get("message"), str), response.text
        # The default language is Chinese: no parser English in the message.
        for english in ("Expected `", "Object missing", "Validation failed", "Missing required"):
            assert english not in body["message"], response.text


def test_schema_is_served_and_names_every_api_route(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), scheduler=False, seed_demo=False)
    paths = set(app.openapi_schema.paths or {})
    assert "/api/v1/meetings/{code}/ballots" in paths
    assert "/api/v1/meetings/{code}/proof/inclusion" in paths
    assert all(path.startswith("/api/v1/") for path in paths)
