"""Staff login, logout, the current account, staff accounts and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from votes.service import accounts
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import MAX_ID, AuditOut, LoginRequest, StaffOut
from web.auth import (
    CSRF_EXEMPT,
    CSRF_HEADER,
    csrf_cookie,
    end_session,
    require_session_store,
    start_session,
)
from web.ratelimit import LOGIN_RATE_LIMIT, client_address, login_throttle
from web.routes.api.meetings import staff_handler

__all__ = ["AuthController", "StaffController"]


class AuthController(Controller):
    path = "/auth"
    tags = ["auth 登录"]  # noqa: RUF012

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Log in (staff)",
        description=(
            "Starts a server-side session (HttpOnly cookie `ov_session`) and returns the "
            "session's CSRF token in the `X-CSRFToken` header (and the cookie `csrftoken`). "
            "Later state-changing requests of the session must send it back in `X-CSRFToken`; "
            "each login gets a new token, valid for its session only. "
            "Rate limited per client (VOTES_RATE_LIMIT_LOGIN); after that many "
            "failures in a row an account must wait a delay that doubles with each further "
            "failure (429 `login_throttled`)."
        ),
        opt={CSRF_EXEMPT: True, LOGIN_RATE_LIMIT: True},
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        data: JSONBody[LoginRequest],
    ) -> Response[StaffOut]:
        await require_session_store(request)
        actor = await accounts.authenticate(
            ctx,
            data.username,
            data.password,
            ip=client_address(request),
            throttle=login_throttle(request, ctx.settings.rate_limit_login),
        )
        token = start_session(request, actor, ctx.settings)
        return Response(
            await accounts.staff_info(ctx, actor=actor),
            cookies=[csrf_cookie(ctx.settings, token)],
            headers={CSRF_HEADER: token},
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Log out")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        maybe_actor: NamedDependency[Actor | None],
    ) -> None:
        if maybe_actor is not None:
            await accounts.audit(ctx, "logout", ip=client_address(request), actor=maybe_actor)
        end_session(request)

    me = staff_handler(
        "/me", accounts.staff_info, "The logged-in staff account", route=get, name="me"
    )


class StaffController(Controller):
    path = "/"
    tags = ["staff 工作人员"]  # noqa: RUF012

    create_staff = staff_handler(
        "/staff",
        accounts.create_staff,
        "Create a staff account (operator)",
        status_code=HTTP_201_CREATED,
    )

    @get("/audit", summary="Recent audit records of staff actions in the caller's scope")
    async def audit(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        estate_id: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[AuditOut]:
        return await accounts.list_audit(ctx, estate_id=estate_id, limit=limit, actor=actor)
