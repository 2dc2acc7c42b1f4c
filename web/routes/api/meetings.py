"""Meetings: drafts, motions, and every lifecycle step of docs/design.md §3.

Each action is a POST on the meeting (``/meetings/{code}/submit`` …); the
service authorises, validates, logs and audits it and refuses with a stable
code (409 ``invalid_transition``, ``too_early``, 403 ``role_forbidden``; 404
``meeting_not_found`` also for a meeting outside the actor's scope …).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK

from votes.service import meetings
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import (
    ApprovalRequestOut,
    ApproveRequest,
    CertificationRequestOut,
    CertifyRequest,
    CheckpointOut,
    CreateMeetingRequest,
    MeetingOut,
    MotionIn,
    ReturnRequest,
    TransitionOut,
    UpdateMeetingRequest,
)
from web.ratelimit import client_address

__all__ = ["CosignRequest", "MeetingController", "MeetingLifecycleController"]

MeetingCode = Annotated[
    str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]


class CosignRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An officer's tlog-cosignature line over the meeting's signed checkpoint of ``size``."""

    public_key: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
    size: Annotated[int, msgspec.Meta(ge=1)]
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class MeetingController(Controller):
    path = "/meetings"
    tags = ["meetings 会议"]  # noqa: RUF012

    @post("/", summary="Create a draft meeting (convener of the estate)")
    async def create(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        data: JSONBody[CreateMeetingRequest],
    ) -> MeetingOut:
        return await meetings.create_draft(ctx, data, ip=client_address(request), actor=actor)

    @get("/", summary="Meetings of the estates in the caller's scope")
    async def list_meetings(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        estate_id: FromQuery[int | None] = None,
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

    @post("/{code:str}/motions", summary="Add a motion to a draft (convener)")
    async def add_motion(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[MotionIn],
    ) -> MeetingOut:
        return await meetings.add_motion(ctx, code, data, ip=client_address(request), actor=actor)

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

    @get("/{code:str}/approval", summary="What an officer signs to approve (officer)")
    async def approval_request(
        self, ctx: NamedDependency[ServiceContext], actor: NamedDependency[Actor], code: MeetingCode
    ) -> ApprovalRequestOut:
        return await meetings.approval_request(ctx, code, actor=actor)

    @get("/{code:str}/certification", summary="What an officer signs to certify (officer)")
    async def certification_request(
        self, ctx: NamedDependency[ServiceContext], actor: NamedDependency[Actor], code: MeetingCode
    ) -> CertificationRequestOut:
        return await meetings.certification_request(ctx, code, actor=actor)

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

    @post("/submit", status_code=HTTP_200_OK, summary="draft → submitted (convener)")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.submit(ctx, code, ip=client_address(request), actor=actor)

    @post("/approve", status_code=HTTP_200_OK, summary="submitted → approved (officer signature)")
    async def approve(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[ApproveRequest],
    ) -> TransitionOut:
        return await meetings.approve(ctx, code, data, ip=client_address(request), actor=actor)

    @post("/notice", status_code=HTTP_200_OK, summary="approved → notice (convener)")
    async def notice(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.publish_notice(ctx, code, ip=client_address(request), actor=actor)

    @post("/open", status_code=HTTP_200_OK, summary="notice → open, not before open_at")
    async def open_voting(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.open_meeting(ctx, code, ip=client_address(request), actor=actor)

    @post("/close", status_code=HTTP_200_OK, summary="open → closed, not before close_at")
    async def close_voting(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.close_meeting(ctx, code, ip=client_address(request), actor=actor)

    @post("/tally", status_code=HTTP_200_OK, summary="closed → tallied")
    async def tally(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.tally_meeting(ctx, code, ip=client_address(request), actor=actor)

    @post("/certify", status_code=HTTP_200_OK, summary="tallied → certified (officer signature)")
    async def certify(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[CertifyRequest],
    ) -> TransitionOut:
        return await meetings.certify(ctx, code, data, ip=client_address(request), actor=actor)

    @post("/return", status_code=HTTP_200_OK, summary="tallied → returned (officer signature)")
    async def return_result(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[ReturnRequest],
    ) -> TransitionOut:
        return await meetings.return_result(
            ctx, code, data, ip=client_address(request), actor=actor
        )

    @post("/publish", status_code=HTTP_200_OK, summary="certified → published (convener)")
    async def publish(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.publish_result(ctx, code, ip=client_address(request), actor=actor)

    @post("/archive", status_code=HTTP_200_OK, summary="published → archived")
    async def archive(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> TransitionOut:
        return await meetings.archive(ctx, code, ip=client_address(request), actor=actor)
