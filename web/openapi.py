"""What the OpenAPI description says about errors and authentication.

Litestar documents a refusal as ``{"status_code", "detail", "extra"}`` — the
shape of its own exceptions, which this service never sends — and only for
400. Every error here is ``{"code", "message", "details"}``
(:class:`web.errors.ErrorOut`), so :func:`declare_errors_and_security`
gives each API operation the error statuses it can answer, all with that
schema, and marks the operations that need a staff session (and, for the
state-changing ones, the CSRF header) with the security schemes of
:data:`SECURITY_SCHEMES`.

The statuses follow from the handler: 400, 404, 409 and 422 for any
request (malformed; unknown meeting or estate; refused in the meeting's
state; refused by the service), 401/403 where a staff session is required,
413 with a body, 429 where a rate limit applies, and 500/503 everywhere (an
incident; the database unavailable).
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityScheme

from web.errors import ErrorOut
from web.ratelimit import LOGIN_RATE_LIMIT

__all__ = ["SECURITY_SCHEMES", "declare_errors_and_security"]

SESSION_SCHEME: Final = "session"
CSRF_SCHEME: Final = "csrf"

SECURITY_SCHEMES: Final[dict[str, SecurityScheme]] = {
    SESSION_SCHEME: SecurityScheme(
        type="apiKey",
        name="ov_session",
        security_scheme_in="cookie",
        description="Staff session from POST /api/v1/auth/login",
    ),
    CSRF_SCHEME: SecurityScheme(
        type="apiKey",
        name="X-CSRFToken",
        security_scheme_in="header",
        description=(
            "The csrftoken cookie's value (also the X-CSRFToken header of the login "
            "response); required with the session on POST, PATCH and DELETE"
        ),
    ),
}

_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Malformed request: not UTF-8 JSON, a field of the wrong type, shape or range, an "
    "unknown or repeated field (`invalid_request`; `details.errors`)",
    401: "No valid staff session (`unauthenticated`, `invalid_credentials`)",
    403: "Outside the caller's role or scope, or the CSRF check failed",
    404: "No such meeting, estate, route or record (`*_not_found`)",
    409: "Not allowed in the current state (`invalid_transition`, `meeting_closed` …)",
    413: "The body is larger than the route's limit (`payload_too_large`; `details.limit`)",
    422: "Well-formed but refused by the service (`bad_signature`, `bad_motion` …)",
    429: "Rate limited (`rate_limited`, `ballot_rate_limited`; `Retry-After`)",
    500: "Unexpected failure (`internal_error`; `details.incident`)",
    503: "Retry later: the database or session store is unavailable "
    "(`database_unavailable`, `session_store_unavailable`, `ballot_not_stored`; `Retry-After`)",
}
_UNSAFE: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def _statuses(handler: HTTPRouteHandler) -> list[int]:
    parameters = handler.parsed_fn_signature.parameters
    # Reads are refused by the service too (409 not_tallied, 422 bad_log_range …).
    statuses = [400, 404, 409, 422, 500, 503]
    if "actor" in parameters:
        statuses += [401, 403]
    if "data" in parameters:
        statuses.append(413)
    if handler.opt.get(LOGIN_RATE_LIMIT) or "ballot_limiter" in parameters:
        statuses.append(429)
    if handler.opt.get(LOGIN_RATE_LIMIT):
        statuses.append(401)
    return sorted(set(statuses))


def _security(handler: HTTPRouteHandler) -> list[dict[str, list[str]]] | None:
    if "actor" not in handler.parsed_fn_signature.parameters:
        return None
    methods = {str(method) for method in handler.http_methods}
    if methods & _UNSAFE:
        return [{SESSION_SCHEME: [], CSRF_SCHEME: []}]
    return [{SESSION_SCHEME: []}]


def declare_errors_and_security(app: Litestar, prefix: str) -> None:
    """Give every route handler under ``prefix`` its error responses and security needs.

    Called once the app is built and before its schema is first generated
    (the schema is made lazily, on the first request for it).
    """
    for route in app.routes:
        if not route.path.startswith(prefix):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            responses: dict[int, ResponseSpec] = {
                status: ResponseSpec(
                    data_container=ErrorOut,
                    description=_DESCRIPTIONS[status],
                    generate_examples=False,
                )
                for status in _statuses(handler)
            }
            responses.update(handler.responses or {})
            handler.responses = responses
            security: Any = _security(handler)
            if security is not None and not handler.security:
                handler.security = security
