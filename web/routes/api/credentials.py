"""Credential letters: issue (secrets returned once), register offline keys, revoke/replace.

A revocation or replacement is a request by the convener that the subdistrict
officer signs (or refuses); only a signed change is logged.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from votes.enums import CredentialRequestState
from votes.service import credentials
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import (
    MAX_REGISTERED_KEYS,
    CredentialRequestOut,
    RefuseCredentialChangeRequest,
    RegisterKeysRequest,
    SignCredentialChangeRequest,
)
from web.ratelimit import client_address
from web.routes.api.meetings import MeetingCode, staff_handler

__all__ = [
    "REGISTER_KEYS_MAX_BODY_BYTES",
    "CredentialController",
    "CredentialRequestController",
    "RegisteredKeysOut",
]

#: Body limit of key registration: a key for every member of the largest estate
#: (MAX_REGISTERED_KEYS entries of about 100 bytes; twice that for long member ids).
REGISTER_KEYS_MAX_BODY_BYTES = MAX_REGISTERED_KEYS * 200

StateFilter = Literal["pending", "approved", "refused", "all"]
# ``state`` is a reserved handler argument in Litestar: the query parameter is aliased.
StateQuery = Annotated[
    StateFilter,
    QueryParameter(name="state", description="pending (default), approved, refused or all"),
]


def _state(value: StateFilter) -> CredentialRequestState | None:
    return None if value == "all" else CredentialRequestState(value)


class RegisteredKeysOut(msgspec.Struct, kw_only=True):
    registered: int


class CredentialController(Controller):
    path = "/meetings/{code:str}"
    tags = ["credentials 凭证"]  # noqa: RUF012

    issue_letters = staff_handler(
        "/letters",
        credentials.issue_letters,
        "Generate a credential for every member (convener); secrets returned ONCE",
        status_code=HTTP_201_CREATED,
        description=(
            "The response holds each member's code and QR URL. The server keeps only the "
            "public keys: print the letters from this response and do not store it."
        ),
    )

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
            ctx, code, data.keys, ip=client_address(request), actor=actor
        )
        return RegisteredKeysOut(registered=count)

    replace = staff_handler(
        "/credentials/replace",
        credentials.request_replacement,
        "Request a replacement letter (convener); the new secret is returned ONCE",
        name="replace",
        status_code=HTTP_201_CREATED,
        description=(
            "Stored as pending: nothing is logged and the new key does not work until the "
            "subdistrict officer signs the change (POST …/credential-requests/{id}/approve)."
        ),
    )
    revoke = staff_handler(
        "/credentials/revoke",
        credentials.request_revocation,
        "Request revoking a credential without a replacement (convener)",
        name="revoke",
        status_code=HTTP_201_CREATED,
        description="Stored as pending until the subdistrict officer signs the change.",
    )

    @get("/credential-requests", summary="The meeting's credential change requests (staff)")
    async def list_requests(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        wanted: StateQuery = "pending",
    ) -> list[CredentialRequestOut]:
        return await credentials.list_change_requests(
            ctx, code=code, state=_state(wanted), actor=actor
        )

    @get(
        "/credential-requests/{request_id:uuid}",
        summary="One credential change request and the exact body the officer signs",
    )
    async def get_request(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        request_id: FromPath[uuid.UUID],
    ) -> CredentialRequestOut:
        return await credentials.change_request(ctx, code, request_id, actor=actor)

    @post(
        "/credential-requests/{request_id:uuid}/approve",
        status_code=HTTP_200_OK,
        summary="Sign a credential change (officer): it is logged with the signature",
        description=(
            "The signature is Ed25519 by an enrolled officer key, in domain "
            "owner-vote/credential-change/v1, over the request's `body`."
        ),
    )
    async def approve(
        self,
        *,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[SignCredentialChangeRequest],
    ) -> CredentialRequestOut:
        return await credentials.approve_change(
            ctx, code, request_id, data, ip=client_address(request), actor=actor
        )

    @post(
        "/credential-requests/{request_id:uuid}/refuse",
        status_code=HTTP_200_OK,
        summary="Refuse a credential change (officer): nothing is logged, the old key stays",
    )
    async def refuse(
        self,
        *,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[RefuseCredentialChangeRequest],
    ) -> CredentialRequestOut:
        return await credentials.refuse_change(
            ctx, code, request_id, reason=data.reason, ip=client_address(request), actor=actor
        )


class CredentialRequestController(Controller):
    """Every credential change request in the actor's scope (the officer's work list)."""

    path = "/credential-requests"
    tags = ["credentials 凭证"]  # noqa: RUF012

    @get(
        "/",
        summary="Credential change requests in your scope (officer: your subdistricts)",
    )
    async def list_in_scope(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        wanted: StateQuery = "pending",
    ) -> list[CredentialRequestOut]:
        return await credentials.list_change_requests(ctx, state=_state(wanted), actor=actor)
