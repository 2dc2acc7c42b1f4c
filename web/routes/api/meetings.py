"""Meetings: drafts, motions, and every lifecycle step of docs/design.md §3.

Each action is a POST on the meeting (``/meetings/{code}/submit`` …); the
service authorises, validates, logs and audits it and refuses with a stable
code (409 ``invalid_transition``, ``too_early``, 403 ``role_forbidden``; 404
``meeting_not_found`` also for a meeting outside the actor's scope …).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, get_type_hints

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from votes.service import meetings
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import (
    MAX_ID,
    MAX_LOG_SIZE,
    CheckpointOut,
    MeetingOut,
    UpdateMeetingRequest,
)
from web.ratelimit import client_address

__all__ = [
    "CosignRequest",
    "MeetingCode",
    "MeetingController",
    "MeetingLifecycleController",
    "staff_handler",
]

MeetingCode = Annotated[
    str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]


class CosignRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An officer's tlog-cosignature line over the meeting's signed checkpoint of ``size``."""

    public_key: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_LOG_SIZE)]
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


def staff_handler(
    path: str,
    use_case: Callable[..., Awaitable[Any]],
    summary: str,
    *,
    route: type[HTTPRouteHandler] = post,
    name: str | None = None,
    status_code: int = HTTP_200_OK,
    **options: Any,
) -> HTTPRouteHandler:
    """``POST <path>`` (or ``route``): staff call ``use_case(ctx[, code][, data], actor=…)``.

    For the handlers that do just that, read off the use case: it takes the
    meeting's ``code`` if its second parameter is named so, the JSON body if it
    has one more positional parameter (of that type), the client's address if it
    has an ``ip`` parameter, and answers with its return type. ``name`` is the
    handler's name (it makes the operation id; by default the use case's);
    ``summary`` and ``options`` go to the route decorator.
    """
    hints = get_type_hints(use_case)
    taken = list(inspect.signature(use_case).parameters.values())[1:]
    with_ip = any(p.name == "ip" for p in taken)
    positional = [p.name for p in taken if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    on_meeting = positional[:1] == ["code"]
    assert len(positional) <= on_meeting + 1, f"{use_case.__name__} takes more than a request has"
    body: type[Any] | None = hints[positional[-1]] if len(positional) > on_meeting else None

    async def handler(
        self: Controller,
        *,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode = "",
        data: Any = None,
    ) -> Any:
        given = ((code,) if on_meeting else ()) + (() if body is None else (data,))
        if with_ip:
            return await use_case(ctx, *given, actor=actor, ip=client_address(request))
        return await use_case(ctx, *given, actor=actor)

    # Litestar reads the parameters from the signature: it shows those taken, as
    # required (the defaults only serve the parameters left out).
    unused = {"code"} if not on_meeting else set()
    if body is None:
        unused.add("data")
    else:
        handler.__annotations__["data"] = JSONBody[body]  # type: ignore[misc,valid-type]
    signature = inspect.signature(handler)
    handler.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(default=inspect.Parameter.empty) if p.name in ("code", "data") else p
            for p in signature.parameters.values()
            if p.name not in unused
        ]
    )
    for parameter in unused:
        del handler.__annotations__[parameter]
    handler.__name__ = handler.__qualname__ = name or use_case.__name__
    handler.__annotations__["return"] = hints["return"]
    return route(path, summary=summary, status_code=status_code, **options)(handler)


class MeetingController(Controller):
    path = "/meetings"
    tags = ["meetings 会议"]  # noqa: RUF012

    create = staff_handler(
        "/",
        meetings.create_draft,
        "Create a draft meeting (convener of the estate)",
        name="create",
        status_code=HTTP_201_CREATED,
    )

    @get("/", summary="Meetings of the estates in the caller's scope")
    async def list_meetings(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        estate_id: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
    ) -> list[MeetingOut]:
        return await meetings.list_meetings(ctx, estate_id=estate_id, actor=actor)

    @get(
        "/{code:str}",
        summary="One meeting",
        description="Public once the notice is published; before that only staff in scope.",
    )
    async def get_meeting(
        self,
        ctx: NamedDependency[ServiceContext],
        maybe_actor: NamedDependency[Actor | None],
        code: MeetingCode,
    ) -> MeetingOut:
        return await meetings.get_meeting(ctx, code, actor=maybe_actor)

    @patch("/{code:str}", summary="Change a draft (convener)")
    async def update(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[UpdateMeetingRequest],
    ) -> MeetingOut:
        return await meetings.update_draft(ctx, code, data, ip=client_address(request), actor=actor)

    add_motion = staff_handler(
        "/{code:str}/motions",
        meetings.add_motion,
        "Add a motion to a draft (convener)",
        status_code=HTTP_201_CREATED,
    )

    @delete(
        "/{code:str}/motions/{motion_id:str}",
        status_code=HTTP_200_OK,
        summary="Remove a motion from a draft (convener)",
    )
    async def remove_motion(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        motion_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> MeetingOut:
        return await meetings.remove_motion(
            ctx, code, motion_id, ip=client_address(request), actor=actor
        )

    approval_request = staff_handler(
        "/{code:str}/approval",
        meetings.approval_request,
        "What an officer signs to approve (officer)",
        route=get,
    )
    certification_request = staff_handler(
        "/{code:str}/certification",
        meetings.certification_request,
        "What an officer signs to certify (officer)",
        route=get,
    )

    @post(
        "/{code:str}/cosignatures",
        summary="Add an officer's cosignature of a signed checkpoint (officer)",
    )
    async def cosign(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[CosignRequest],
    ) -> CheckpointOut:
        return await meetings.cosign_checkpoint(
            ctx,
            code,
            public_key=data.public_key,
            size=data.size,
            cosignature=data.cosignature,
            ip=client_address(request),
            actor=actor,
        )


class MeetingLifecycleController(Controller):
    """``POST /meetings/{code}/<action>``: one lifecycle transition each."""

    path = "/meetings/{code:str}"
    tags = ["lifecycle 会议流程"]  # noqa: RUF012

    submit = staff_handler("/submit", meetings.submit, "draft → submitted (convener)")
    approve = staff_handler(
        "/approve", meetings.approve, "submitted → approved (officer signature)"
    )
    notice = staff_handler(
        "/notice", meetings.publish_notice, "approved → notice (convener)", name="notice"
    )
    open_voting = staff_handler(
        "/open", meetings.open_meeting, "notice → open, not before open_at", name="open_voting"
    )
    close_voting = staff_handler(
        "/close", meetings.close_meeting, "open → closed, not before close_at", name="close_voting"
    )
    tally = staff_handler("/tally", meetings.tally_meeting, "closed → tallied", name="tally")
    certify = staff_handler("/certify", meetings.certify, "tallied → certified (officer signature)")
    return_result = staff_handler(
        "/return", meetings.return_result, "tallied → returned (officer signature)"
    )
    publish = staff_handler(
        "/publish", meetings.publish_result, "certified → published (convener)", name="publish"
    )
    archive = staff_handler("/archive", meetings.archive, "published → archived")
