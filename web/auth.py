"""Staff authentication: server-side sessions, CSRF, and the ``actor`` dependency.

Sessions live in the ``sessions`` store (Redis in production, memory in the
embedded default) under a random id sent as an HttpOnly cookie. Two changes to
Litestar's server-side backend matter here:

* a request that carries no session and stores none gets no cookie and costs
  no store write (owners' phones and public readers never get a session);
* the session id is replaced whenever the logged-in staff member changes
  (login, logout), so an id planted before login is useless afterwards.

CSRF: a state-changing request that carries the session cookie must echo the
``csrftoken`` cookie in the ``X-CSRFToken`` header (double submit, the token
HMAC-signed with the secret key). Requests without the session cookie, and
routes that never read the session (``opt={SKIP_SESSION: True}``: the owner's
ballot and objection POSTs), carry no ambient authority and are not checked;
``POST /auth/login`` is exempt too (it only starts a session).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Final

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import build_exclude_path_pattern, should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, ScopeSession, Send

from votes.service import accounts
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError, Unauthenticated
from votes.settings import Settings
from web.errors import CsrfFailedError
from web.stores import SESSION_STORE, StoreUnavailableError

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SKIP_SESSION",
    "SessionCSRFMiddleware",
    "StaffSessionConfig",
    "csrf_config",
    "end_session",
    "issue_csrf_token",
    "provide_actor",
    "provide_context",
    "provide_optional_actor",
    "require_session_store",
    "session_config",
    "start_session",
]

SESSION_COOKIE: Final = "ov_session"
CSRF_COOKIE: Final = "csrftoken"
CSRF_HEADER: Final = "x-csrftoken"
#: Route ``opt`` key: this handler never reads or writes a session (the ballot POST).
SKIP_SESSION: Final = "skip_session"
_STAFF_KEY: Final = "staff_id"
_SESSION_HOURS: Final = 12

logger = logging.getLogger(__name__)


def _cookie_secure(settings: Settings) -> bool:
    return str(settings.base_url).startswith("https://")


@dataclass
class _LoadedSession:
    staff_id: str | None


class _StaffSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.state["_votes_session"] = _LoadedSession(staff_id=data.get(_STAFF_KEY))
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        cookie_id = connection.cookies.get(self.config.key)
        has_cookie = bool(cookie_id) and cookie_id != "null"
        empty = scope_session is Empty or not scope_session
        if empty and not has_cookie:
            return  # nothing to keep and nothing to forget: no store write, no cookie
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        loaded = connection.state.get("_votes_session")
        loaded_staff = loaded.staff_id if isinstance(loaded, _LoadedSession) else None
        try:
            if empty:
                if cookie_id:
                    await self.delete(cookie_id, store=store)
                headers.add("Set-Cookie", self._cookie("null", max_age=0).to_header(header=""))
                return
            assert isinstance(scope_session, dict)
            session_id = cookie_id if has_cookie else None
            if session_id is None or scope_session.get(_STAFF_KEY) != loaded_staff:
                # A new identity gets a new id (no session fixation).
                if session_id is not None:
                    await self.delete(session_id, store=store)
                session_id = self.generate_session_id()
            data = self.serialize_data(scope_session, connection.scope)
            await self.set(session_id, data, store=store)
        except StoreUnavailableError as error:
            # The response is already on its way: it cannot become a 503 any more.
            # Login checks the store first (require_session_store), so this is rare.
            logger.warning("session not saved: %s", error)
            return
        headers.add("Set-Cookie", self._cookie(session_id).to_header(header=""))

    def _cookie(self, value: str, *, max_age: int | None = None) -> Cookie:
        config = self.config
        return Cookie(
            key=config.key,
            value=value,
            path=config.path,
            domain=config.domain,
            secure=config.secure,
            httponly=config.httponly,
            samesite=config.samesite,
            max_age=config.max_age if max_age is None else max_age,
            expires=0 if max_age == 0 else None,
        )


@dataclass
class StaffSessionConfig(ServerSideSessionConfig):
    """Server-side sessions in the ``sessions`` store, with the behaviour described above."""

    _backend_class = _StaffSessionBackend


def session_config(settings: Settings) -> StaffSessionConfig:
    return StaffSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=_SESSION_HOURS * 3600,
        secure=_cookie_secure(settings),
        httponly=True,
        samesite="lax",
        exclude_opt_key=SKIP_SESSION,
        scopes={"http"},  # type: ignore[arg-type]
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.session_secret().decode(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=_cookie_secure(settings),
        cookie_samesite="lax",
    )


class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, applied only to requests with a session cookie."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app, config)
        self.exclude = build_exclude_path_pattern(exclude=config.exclude, middleware_cls=type(self))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive=receive)
        session_cookie = connection.cookies.get(SESSION_COOKIE)
        # A route that never reads the session (SKIP_SESSION) has no ambient authority.
        skips_session = handler is not None and handler.opt.get(SKIP_SESSION)
        if skips_session or not session_cookie or session_cookie == "null":
            await self.app(scope, receive, send)
            return
        csrf_cookie = connection.cookies.get(self.config.cookie_name)
        if scope.get("method") in self.config.safe_methods:
            token = csrf_cookie or generate_csrf_token(secret=self.config.secret)
            await self.app(scope, receive, self.create_send_wrapper(send, token, csrf_cookie))
            return
        sent = connection.headers.get(self.config.header_name)
        if sent is None or csrf_cookie is None or not self._csrf_tokens_match(sent, csrf_cookie):
            raise CsrfFailedError("CSRF token verification failed")
        await self.app(scope, receive, send)


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(SessionCSRFMiddleware, config=csrf_config(settings))


def issue_csrf_token(settings: Settings) -> tuple[str, Cookie]:
    """A fresh CSRF token and the cookie carrying it (set at login)."""
    config = csrf_config(settings)
    token = generate_csrf_token(secret=config.secret)
    cookie = Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
    )
    return token, cookie


async def require_session_store(request: Request[Any, Any, Any]) -> None:
    """Raise :class:`StoreUnavailableError` (503) now if sessions cannot be saved.

    The session is written while the response starts, too late to answer 503.
    """
    await request.app.stores.get(SESSION_STORE).exists("_probe")


def start_session(request: Request[Any, Any, Any], actor: Actor) -> None:
    request.set_session({_STAFF_KEY: str(actor.staff_id)})


def end_session(request: Request[Any, Any, Any]) -> None:
    request.clear_session()


# ------------------------------------------------------------------ dependencies


def provide_context(state: State) -> ServiceContext:
    ctx = state.get("ctx")
    if not isinstance(ctx, ServiceContext):
        raise RuntimeError("the service context is not ready (app not started)")
    return ctx


def _not_logged_in() -> Unauthenticated:
    return Unauthenticated("unauthenticated", "请先登录", "please log in first")


async def provide_optional_actor(
    request: Request[Any, Any, Any], ctx: NamedDependency[ServiceContext]
) -> Actor | None:
    """The logged-in staff member, or None (sessions of removed accounts are ended)."""
    if "session" not in request.scope:
        return None
    raw = request.session.get(_STAFF_KEY)
    if not isinstance(raw, str):
        return None
    try:
        staff_id = uuid.UUID(raw)
        return await accounts.load_actor(ctx, staff_id)
    except (ValueError, ServiceError):
        request.clear_session()
        return None


async def provide_actor(
    request: Request[Any, Any, Any], ctx: NamedDependency[ServiceContext]
) -> Actor:
    """The logged-in staff member; 401 ``unauthenticated`` without a valid session."""
    actor = await provide_optional_actor(request, ctx)
    if actor is None:
        raise _not_logged_in()
    return actor
