"""Ballots: the owner's signed ballot, and paper / proxy entry by staff.

Wire format of ``POST /meetings/{code}/ballots`` (docs/api.md)::

    {"ballot": "<the canonical ballot JSON, as a JSON string>", "signature": "<128 hex>"}

The server verifies the signature over the UTF-8 bytes of the ``ballot``
string. JSON strings carry any Unicode text exactly and UTF-8 encoding is
deterministic, so those bytes are exactly the bytes the phone signed; the
service refuses them unless they are also the ballot's canonical form.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from votes.service import ballots
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.service.schemas import (
    BallotRequest,
    PaperBallotOut,
    PaperBallotRequest,
    ProxyBallotRequest,
    Receipt,
)
from web.auth import SKIP_SESSION, provide_context
from web.ratelimit import CredentialLimiter, client_address
from web.routes.api.meetings import MeetingCode

__all__ = ["OwnerBallotController", "StaffBallotController", "owner_ballot_controller"]


class OwnerBallotController(Controller):
    """The owner's ballot POST; its body limit is set per app (:func:`owner_ballot_controller`)."""

    path = "/meetings/{code:str}"
    tags = ["ballots 选票"]  # noqa: RUF012

    @post(
        "/ballots",
        status_code=HTTP_201_CREATED,
        summary="Cast a signed ballot (owner's phone; no login)",
        description=(
            "Body: the canonical ballot JSON as a string plus the member's Ed25519 signature "
            "over `owner-vote/ballot/v1` 0x00 UTF-8(ballot). Returns the receipt after the "
            "ballot is stored and logged; the same ballot again returns the same receipt. "
            "Limited per credential key, counting only ballots whose signature verifies "
            "(VOTES_RATE_LIMIT_BALLOTS); ballots that do not parse or verify are limited per "
            "client address (VOTES_RATE_LIMIT_INVALID_BALLOTS). The body is limited to "
            "VOTES_MAX_BODY_BYTES."
        ),
        opt={SKIP_SESSION: True},
    )
    async def cast(
        self,
        request: Request[Any, Any, Any],
        state: State,
        ballot_limiter: NamedDependency[CredentialLimiter],
        code: MeetingCode,
        data: JSONBody[BallotRequest],
    ) -> Receipt:
        # The context straight from the app state, not as a second dependency: Litestar
        # resolves two or more dependencies in an anyio task group, per request.
        ctx = provide_context(state)
        # Signature first, then the limit of the key that signed: the keys are public,
        # so a limit counted before the check could be spent by anyone (vote suppression).
        try:
            verified = ballots.verify_ballot(data.ballot.encode(), data.signature)
        except ServiceError:
            await ballot_limiter.failed(client_address(request))
            raise
        await ballot_limiter.signed(verified.ballot.member, verified.hash)
        return await ballots.cast_verified_ballot(ctx, code, verified)


def owner_ballot_controller(max_body_bytes: int) -> type[Controller]:
    """The owner's ballot controller with ``request_max_body_size = max_body_bytes``."""
    return type(
        "OwnerBallotController",
        (OwnerBallotController,),
        {"request_max_body_size": max_body_bytes},
    )


class StaffBallotController(Controller):
    path = "/meetings/{code:str}"
    tags = ["ballots 选票"]  # noqa: RUF012

    @post("/paper-ballots", summary="Enter a paper ballot with its sheet's SHA-256 (convener)")
    async def paper(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[PaperBallotRequest],
    ) -> PaperBallotOut:
        return await ballots.enter_paper_ballot(
            ctx, code, data, actor=actor, ip=client_address(request)
        )

    @post(
        "/proxy-ballots",
        summary="Enter a proxy's ballot signed with the member's credential (convener)",
    )
    async def proxy(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        code: MeetingCode,
        data: JSONBody[ProxyBallotRequest],
    ) -> Receipt:
        return await ballots.enter_proxy_ballot(
            ctx, code, data, actor=actor, ip=client_address(request)
        )
