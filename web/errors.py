"""Every error as JSON ``{"code", "message"[, "details"]}`` with a stable code and status.

Service refusals (:class:`votes.service.errors.ServiceError`) carry their own
code, status and both messages; the exceptions raised by Litestar itself
(validation, unknown route, body too large, rate limit, CSRF) are given the
web layer's codes (docs/api-errors.md, "Web layer codes"). Anything else is a
500 ``internal_error`` whose message names only an incident id; the traceback
goes to the log.
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ExceptionHandlersMap

from votes.service.errors import RateLimited, ServiceError
from web.i18n import DEFAULT_LANGUAGE, Language, request_language, web_message
from web.stores import StoreUnavailableError

__all__ = [
    "CsrfFailedError",
    "ErrorOut",
    "error_response",
    "exception_handlers",
    "language_of",
]

logger = logging.getLogger(__name__)

_STATUS_CODES: Final[dict[int, str]] = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    503: "service_unavailable",
}


class ErrorOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The body of every error response."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class CsrfFailedError(PermissionDeniedException):
    """A cookie-authenticated unsafe request without a matching CSRF token."""


def language_of(request: Request[Any, Any, Any]) -> Language:
    """The language of a request: ``?lang=``, ``Accept-Language``, then the configured default."""
    default: Language = DEFAULT_LANGUAGE
    settings = getattr(request.app.state, "settings", None)
    if settings is not None and settings.language == "en":
        default = "en"
    return request_language(
        query_lang=request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        default=default,
    )


def error_response(
    *,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorOut]:
    return Response(
        ErrorOut(code=code, message=message, details=details or None),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _service_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    assert isinstance(exc, ServiceError)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, int(exc.retry_after)))
    return error_response(
        status=exc.status,
        code=exc.code,
        message=exc.message(language_of(request)),
        details=exc.details,
        headers=headers,
    )


def _validation_details(exc: ValidationException) -> dict[str, Any] | None:
    if isinstance(exc.extra, list) and exc.extra:
        return {"errors": exc.extra}
    if isinstance(exc.extra, dict) and exc.extra:
        return dict(exc.extra)
    return None


def _http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    assert isinstance(exc, HTTPException)
    language = language_of(request)
    status = exc.status_code
    headers = dict(exc.headers or {})
    details: dict[str, Any] | None = None
    if isinstance(exc, CsrfFailedError):
        code, message = "csrf_failed", web_message("csrf_failed", language)
    elif isinstance(exc, NotFoundException):
        code = "not_found"
        message = web_message(code, language, path=request.url.path)
    elif isinstance(exc, MethodNotAllowedException):
        code = "method_not_allowed"
        message = web_message(code, language, path=request.url.path, method=request.method)
    elif isinstance(exc, TooManyRequestsException):
        code = "rate_limited"
        retry_after = headers.get("RateLimit-Reset") or headers.get("Retry-After") or "60"
        headers["Retry-After"] = str(max(1, int(retry_after)))
        message = web_message(code, language, retry_after=headers["Retry-After"])
    elif isinstance(exc, RequestEntityTooLarge) or status == 413:
        code = "payload_too_large"
        limit = _body_limit(request)
        message = web_message(code, language, limit=limit if limit is not None else "?")
        details = {"limit": limit} if limit is not None else None
    elif isinstance(exc, NotAuthorizedException):
        code, message = "unauthenticated", web_message("unauthenticated", language)
    elif isinstance(exc, PermissionDeniedException):
        code, message = "forbidden", web_message("forbidden", language)
    elif isinstance(exc, ServiceUnavailableException):
        code, message = "service_unavailable", web_message("service_unavailable", language)
    elif isinstance(exc, ValidationException) or (
        isinstance(exc, ClientException) and status == 400
    ):
        code = "invalid_request"
        message = web_message(code, language, detail=exc.detail)
        if isinstance(exc, ValidationException):
            details = _validation_details(exc)
    elif status >= 500:
        return _internal_error(request, exc)
    else:
        code = _STATUS_CODES.get(status, "http_error")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        message = web_message("http_error", language, detail=exc.detail or phrase)
    return error_response(
        status=status, code=code, message=message, details=details, headers=headers
    )


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    handler = request.scope.get("route_handler")
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    limit = resolve() if callable(resolve) else None
    return limit if isinstance(limit, int) else None


def _store_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    logger.warning("%s %s refused: %s", request.method, request.url.path, exc)
    return error_response(
        status=503,
        code="session_store_unavailable",
        message=web_message("session_store_unavailable", language_of(request)),
        headers={"Retry-After": "5"},
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    incident = secrets.token_hex(6)
    logger.error(
        "internal error %s on %s %s",
        incident,
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(
        status=500,
        code="internal_error",
        message=web_message("internal_error", language_of(request), incident=incident),
        details={"incident": incident},
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The app's exception handlers (most specific class wins)."""
    return {
        ServiceError: _service_error,
        HTTPException: _http_error,
        StoreUnavailableError: _store_unavailable,
        Exception: _internal_error,
    }
