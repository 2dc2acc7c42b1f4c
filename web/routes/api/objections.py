"""Objections: by an owner (signed with their credential) or by staff; answered by the officer."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from votes.service import objections
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.service.schemas import (
    AnswerObjectionRequest,
    MemberObjectionRequest,
    ObjectionOut,
)
from web.auth import SKIP_SESSION
from web.ratelimit import CredentialLimiter, client_address
from web.routes.api.meetings import MeetingCode, staff_handler

__all__ = ["ObjectionController"]


class ObjectionController(Controller):
    path = "/meetings/{code:str}/objections"
    tags = ["objections 异议"]  # noqa: RUF012

    @post(
        "/",
        summary="An owner's objection, signed with their credential key (no login)",
        description=(
            "Body: the canonical objection JSON as a string "
            '(`{"meeting","member","nonce","subject","text","v":1}`) and the Ed25519 '
            "signature by the member's credential key with domain `owner-vote/objection/v1`. "
            "Limited like ballots: per credential key when the signature verifies, else per "
            "client address."
        ),
        opt={SKIP_SESSION: True},
    )
    async def file_member(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        ballot_limiter: NamedDependency[CredentialLimiter],
        code: MeetingCode,
        data: JSONBody[MemberObjectionRequest],
    ) -> ObjectionOut:
        # As for ballots: only a verified signature spends the signer's limit.
        try:
            verified = objections.verify_member_objection(data)
        except ServiceError:
            await ballot_limiter.failed(client_address(request))
            raise
        await ballot_limiter.signed(verified.key.hex(), hashlib.sha256(data.body.encode()).digest())
        return await objections.file_verified_objection(ctx, code, verified)

    file_staff = staff_handler(
        "/staff",
        objections.file_staff_objection,
        "An objection recorded by staff (in scope)",
        name="file_staff",
        status_code=HTTP_201_CREATED,
    )

    list_all = staff_handler(
        "/",
        objections.list_objections,
        "The meeting's objections (staff in scope)",
        route=get,
        name="list_all",
    )

    @post(
        "/{objection_id:uuid}/answer",
        status_code=HTTP_200_OK,
        summary="The officer's answer to an objection",
    )
    async def answer(
        self,
        *,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        objection_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerObjectionRequest],
    ) -> ObjectionOut:
        return await objections.answer_objection(
            ctx, code, objection_id, data, ip=client_address(request), actor=actor
        )
