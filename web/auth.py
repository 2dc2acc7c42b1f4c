"""Staff authentication: server-side sessions, CSRF, and the ``actor`` dependency.

Sessions live in the ``sessions`` store (Redis in production, memory in the
embedded default) under a random id sent as an HttpOnly cookie. Two changes to
Litestar's server-side backend matter here:

* a request that carries no session and stores none gets no cookie and costs
  no store write (owners' phones and public readers never get a session);
* the session id is replaced whenever the logged-in staff member changes
  (login, logout), so an id planted before login is useless afterwards.

CSRF: a state-changing request that has a staff session must send the
session's token in the ``X-CSRFToken`` header. The token is an HMAC, under
the secret key, of a random nonce the session gets at login, so it belongs to
that one session: a token of another session is refused, and a new login
gives a new token (:class:`SessionCSRFMiddleware`). Login returns the token in
its ``X-CSRFToken`` header and the ``csrftoken`` cookie. Requests without a
session, and routes that never read the session (``opt={SKIP_SESSION: True}``:
the owner's ballot and objection POSTs), carry no ambient authority and are
not checked; ``POST /auth/login`` is exempt too (it only starts a session).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
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
    "CSRF_EXEMPT",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SKIP_SESSION",
    "SessionCSRFMiddleware",
    "StaffSessionConfig",
    "csrf_cookie",
    "csrf_middleware",
    "end_session",
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
_CSRF_KEY: Final = "csrf"
_CSRF_DOMAIN: Final = b"owner-vote/csrf/v1\x00"
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


#: Route ``opt`` key: no CSRF check (login, which only starts a session).
CSRF_EXEMPT: Final = "exclude_from_csrf"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _csrf_token(secret: bytes, nonce: str) -> str:
    """The token of a session: an HMAC of its random nonce under the secret key."""
    return hmac.new(secret, _CSRF_DOMAIN + nonce.encode(), hashlib.sha256).hexdigest()


class SessionCSRFMiddleware:
    """The CSRF check of a state-changing request that has a staff session.

    Runs inside the session middleware, so the session is loaded: the
    ``X-CSRFToken`` header must be the token of *this* session (an HMAC of the
    nonce the session got at login), compared in constant time. A token of any
    other session — even a valid one, e.g. the attacker's own — is refused,
    and so is a session without a nonce. A request without a session (no
    cookie, or an unknown or expired id) carries no authority and passes; so do
    routes that never read the session and login.
    """

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app = app
        self._secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope.get("method") not in _SAFE_METHODS:
            handler = scope.get("route_handler")
            opt = handler.opt if handler is not None else {}
            session = scope.get("session")
            # An empty session (none, unknown or expired id) has no authority to protect.
            exempt = opt.get(SKIP_SESSION) or opt.get(CSRF_EXEMPT)
            if isinstance(session, dict) and session and not exempt:
                self._check(scope, session)
        await self.app(scope, receive, send)

    def _check(self, scope: Scope, session: dict[str, Any]) -> None:
        nonce = session.get(_CSRF_KEY)
        sent = ASGIConnection(scope).headers.get(CSRF_HEADER)
        if not isinstance(nonce, str) or sent is None:
            raise CsrfFailedError("CSRF token missing")
        expected = _csrf_token(self._secret, nonce)
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfFailedError("CSRF token of another session")


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    """The CSRF check; list it after (inside) the session middleware."""
    return DefineMiddleware(SessionCSRFMiddleware, secret=settings.session_secret())


def csrf_cookie(settings: Settings, token: str) -> Cookie:
    """The ``csrftoken`` cookie carrying a session's token (readable by the page's script)."""
    return Cookie(
        key=CSRF_COOKIE,
        value=token,
        path="/",
        secure=_cookie_secure(settings),
        httponly=False,
        samesite="lax",
    )


async def require_session_store(request: Request[Any, Any, Any]) -> None:
    """Raise :class:`StoreUnavailableError` (503) now if sessions cannot be saved.

    The session is written while the response starts, too late to answer 503.
    """
    await request.app.stores.get(SESSION_STORE).exists("_probe")


def start_session(request: Request[Any, Any, Any], actor: Actor, settings: Settings) -> str:
    """Start ``actor``'s session (a new id and a new CSRF nonce); return its CSRF token."""
    nonce = secrets.token_hex(32)
    request.set_session({_STAFF_KEY: str(actor.staff_id), _CSRF_KEY: nonce})
    return _csrf_token(settings.session_secret(), nonce)


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
