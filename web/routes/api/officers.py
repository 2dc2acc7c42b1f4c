"""Officer keys: an officer enrols the public half of a key held on their own device."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from votes.service import accounts
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import OfficerKeyOut, OfficerKeyRequest
from web.ratelimit import client_address
from web.routes.api.meetings import staff_handler

__all__ = ["OfficerKeyController"]


class OfficerKeyController(Controller):
    path = "/officer-keys"
    tags = ["officer keys 街道办密钥"]  # noqa: RUF012

    @post("/", summary="Enrol an officer's Ed25519 public key (officer)")
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        data: JSONBody[OfficerKeyRequest],
    ) -> OfficerKeyOut:
        return await accounts.enrol_officer_key(
            ctx, data.public_key, data.name, ip=client_address(request), actor=actor
        )

    list_keys = staff_handler(
        "/",
        accounts.list_officer_keys,
        "Officer keys (an officer sees their own; an operator all)",
        route=get,
        name="list_keys",
    )

    @post("/{key_id:uuid}/revoke", status_code=HTTP_200_OK, summary="Revoke an officer key")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        key_id: FromPath[uuid.UUID],
    ) -> OfficerKeyOut:
        return await accounts.revoke_officer_key(
            ctx, key_id, ip=client_address(request), actor=actor
        )
