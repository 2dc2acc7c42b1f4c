"""Every error as JSON ``{"code", "message"[, "details"]}`` with a stable code and status.

Service refusals (:class:`votes.service.errors.ServiceError`) carry their own
code, status and both messages; the exceptions raised by Litestar itself
(validation, unknown route, body too large, rate limit, CSRF) are given the
web layer's codes (docs/api-errors.md, "Web layer codes"); a validation
refusal names the field and the rule in plain Chinese (votes.validation),
msgspec's English wording only in the English message. A database that cannot
be reached is a retryable 503 ``database_unavailable`` with ``Retry-After``,
on every route. Anything else is a 500 ``internal_error`` whose message names
only an incident id; the traceback goes to the log.
"""

from __future__ import annotations

import errno
import logging
import re
import secrets
import socket
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
from sqlalchemy import exc as sa_exc

from votes.service.errors import RateLimited, ServiceError
from votes.validation import Described, describe
from web.body import BodyInvalid
from web.i18n import DEFAULT_LANGUAGE, Language, request_language, web_message
from web.stores import StoreUnavailableError

__all__ = [
    "DATABASE_RETRY_AFTER_SECONDS",
    "CsrfFailedError",
    "ErrorOut",
    "database_unavailable",
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
    elif exc.status == 503:  # retryable: e.g. ballot_not_stored, nothing was stored
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return error_response(
        status=exc.status,
        code=exc.code,
        message=exc.message(language_of(request)),
        details=exc.details,
        headers=headers,
    )


#: What a parameter's source is called in a Chinese message.
_SOURCE_ZH: Final[dict[str, str]] = {
    "body": "字段",
    "query": "查询参数",
    "path": "路径参数",
    "header": "请求头",
    "cookie": "Cookie",
}
_MISSING_PARAMETER: Final = re.compile(r"^Missing required (\w+) parameter '([^']+)'")


_NO_BODY: Final = Described(
    zh="请求体不能为空，须为 JSON 对象",
    en="the request body is missing; send a JSON object",
    key=None,
)


def _public_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a client uses for parameter ``key`` (``from``, not the handler's ``size1``)."""
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    field = signature.parameters.get(key) if signature is not None else None
    definition = getattr(field, "kwarg_definition", None)
    for attribute in ("name", "query", "header", "cookie"):
        alias = getattr(definition, attribute, None)
        if isinstance(alias, str) and alias:
            return alias
    return key


def _problems(
    request: Request[Any, Any, Any], exc: ValidationException
) -> list[tuple[Described, str | None]]:
    """Every problem of a refused request in both languages, with its source (body, query …)."""
    if isinstance(exc, BodyInvalid):
        return [(problem, "body") for problem in exc.problems]
    problems: list[tuple[Described, str | None]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if not isinstance(item, dict):
                continue
            source = item.get("source")
            source_name = str(getattr(source, "value", source)) if source is not None else None
            key = str(item["key"]) if item.get("key") else None
            if key == "data":  # Litestar's name for the whole body: an empty request
                problems.append((_NO_BODY, "body"))
                continue
            if key is not None and source_name != "body":
                key = _public_name(request, key)
            problems.append(
                (
                    describe(
                        str(item.get("message", "")),
                        key,
                        field_label=_SOURCE_ZH.get(source_name or "body", "字段"),
                    ),
                    source_name,
                )
            )
    if not problems:
        detail = str(exc.detail or "")
        if match := _MISSING_PARAMETER.match(detail):
            label = _SOURCE_ZH.get(match.group(1), "参数")
            zh = f"缺少必填的{label} {match.group(2)}"
            problems.append((Described(zh=zh, en=detail, key=match.group(2)), match.group(1)))
        else:
            problems.append(
                (Described(zh="请求无法解析", en=detail or "bad request", key=None), None)
            )
    return problems


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException, language: Language
) -> tuple[str, dict[str, Any] | None]:
    """The message and details of a validation refusal, in ``language`` only."""
    problems = _problems(request, exc)
    english = language == "en"
    first = problems[0][0]
    text = first.en if english else first.zh
    if len(problems) > 1:
        more = len(problems) - 1
        text += f" (and {more} more)" if english else f"（另有 {more} 处错误）"
    errors: list[dict[str, Any]] = []
    for problem, source in problems:
        error: dict[str, Any] = {"message": problem.en if english else problem.zh}
        if problem.key:
            error["key"] = problem.key
        if source:
            error["source"] = source
        errors.append(error)
    return web_message("invalid_request", language, detail=text), {"errors": errors}


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
        if isinstance(exc, ValidationException):
            message, details = _validation_error(request, exc, language)
        else:
            # Litestar's own parser texts (multipart, headers) are English: only the
            # English message carries them.
            detail = exc.detail if language == "en" else "请求无法解析"
            message = web_message(code, language, detail=detail)
    elif status >= 500:
        return _internal_error(request, exc)
    else:
        code = _STATUS_CODES.get(status, "http_error")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        detail = (exc.detail or phrase) if language == "en" else f"HTTP {status}"
        message = web_message("http_error", language, detail=detail)
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


#: Seconds a client should wait before retrying a request refused during a database outage.
DATABASE_RETRY_AFTER_SECONDS: Final = 5
# errno values of a socket that could not reach (or lost) the database server.
_UNREACHABLE_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
# asyncpg's exceptions for a server that is unreachable, starting, shutting down or full
# (matched by name: asyncpg ships no type information).
_ASYNCPG_OUTAGES: Final = frozenset(
    {
        "PostgresConnectionError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "CrashShutdownError",
        "ConnectionDoesNotExistError",
    }
)
_DATABASE_MESSAGES: Final = (
    "数据库暂时不可用，请稍后重试（已确认的选票不会丢失）",
    "the database is unavailable; retry shortly (no acknowledged ballot is lost)",
)


def database_unavailable(exc: BaseException) -> bool:
    """True iff ``exc`` says the database cannot be reached or used right now.

    SQLAlchemy wraps what the driver reports once a connection exists
    (``OperationalError``: SQLite cannot open or lock its file, PostgreSQL shut
    down or refused; ``InterfaceError``: the connection closed; pool timeouts;
    an invalidated connection); failures to connect at all come from asyncpg
    or the socket unwrapped. Errors about the statement or the data are not
    outages and stay 500 ``internal_error``.
    """
    if isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError
        | ConnectionError
        | TimeoutError
        | socket.gaierror,
    ):
        return True
    if any(
        cls.__module__.startswith("asyncpg") and cls.__name__ in _ASYNCPG_OUTAGES
        for cls in type(exc).__mro__
    ):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    """503 ``database_unavailable`` for a database outage, 500 ``internal_error`` otherwise."""
    if database_unavailable(exc):
        return _database_error(request, exc)
    return _internal_error(request, exc)


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    logger.warning(
        "%s %s refused, database unavailable: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    language = language_of(request)
    return error_response(
        status=503,
        code="database_unavailable",
        message=_DATABASE_MESSAGES[1] if language == "en" else _DATABASE_MESSAGES[0],
        details={"retryable": True, "retry_after": DATABASE_RETRY_AFTER_SECONDS},
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
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
        Exception: _unexpected,
    }
