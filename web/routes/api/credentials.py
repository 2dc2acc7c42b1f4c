"""Credential letters: issue (secrets returned once), register offline keys, revoke/replace."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from votes.service import credentials
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import (
    MAX_REGISTERED_KEYS,
    LetterOut,
    LettersOut,
    RegisterKeysRequest,
    ReplaceCredentialRequest,
)
from web.ratelimit import client_address
from web.routes.api.meetings import MeetingCode

__all__ = [
    "REGISTER_KEYS_MAX_BODY_BYTES",
    "CredentialController",
    "RegisteredKeysOut",
    "RevokedOut",
]

#: Body limit of key registration: a key for every member of the largest estate
#: (MAX_REGISTERED_KEYS entries of about 100 bytes; twice that for long member ids).
REGISTER_KEYS_MAX_BODY_BYTES = MAX_REGISTERED_KEYS * 200


class RegisteredKeysOut(msgspec.Struct, kw_only=True):
    registered: int


class RevokedOut(msgspec.Struct, kw_only=True):
    member_id: str
    log_index: int


class CredentialController(Controller):
    path = "/meetings/{code:str}"
    tags = ["credentials 凭证"]  # noqa: RUF012

    @post(
        "/letters",
        summary="Generate a credential for every member (convener); secrets returned ONCE",
        description=(
            "The response holds each member's code and QR URL. The server keeps only the "
            "public keys: print the letters from this response and do not store it."
        ),
    )
    async def issue_letters(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
    ) -> LettersOut:
        return await credentials.issue_letters(ctx, actor, code, ip=client_address(request))

    @post(
        "/keys",
        summary="Register public keys of letters made offline (convener)",
        description=(
            f"At most {MAX_REGISTERED_KEYS:,} keys; the body may be up to "
            f"{REGISTER_KEYS_MAX_BODY_BYTES:,} bytes (VOTES_MAX_BODY_BYTES does not apply)."
        ),
        request_max_body_size=REGISTER_KEYS_MAX_BODY_BYTES,
    )
    async def register_keys(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[RegisterKeysRequest],
    ) -> RegisteredKeysOut:
        count = await credentials.register_public_keys(
            ctx, actor, code, data.keys, ip=client_address(request)
        )
        return RegisteredKeysOut(registered=count)

    @post(
        "/credentials/replace",
        summary="Revoke a member's credential and issue a new letter (convener)",
    )
    async def replace(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[ReplaceCredentialRequest],
    ) -> LetterOut:
        return await credentials.revoke_and_replace(
            ctx, actor, code, data.member_id, reason=data.reason, ip=client_address(request)
        )

    @post(
        "/credentials/revoke",
        status_code=HTTP_200_OK,
        summary="Revoke a member's credential without a replacement (convener)",
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[ReplaceCredentialRequest],
    ) -> RevokedOut:
        index = await credentials.revoke_credential(
            ctx, actor, code, data.member_id, reason=data.reason, ip=client_address(request)
        )
        return RevokedOut(member_id=data.member_id, log_index=index)
