"""The public record of a meeting: checkpoint, proofs, bundle, public roster, result.

All public (no login) and independent of sessions, so anyone — an owner, a
lawyer, a verifier — can fetch them, and they keep working when Redis is down.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from votes.service import record
from votes.service.context import ServiceContext
from votes.service.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    PublicRosterOut,
    ResultOut,
)
from web.auth import SKIP_SESSION
from web.routes.api.meetings import MeetingCode

__all__ = ["RecordController"]

HashHex = Annotated[
    str | None,
    QueryParameter(
        name="hash",
        pattern=r"^[0-9a-fA-F]{64}$",
        description="SHA-256 (hex) of the ballot's bytes (the receipt's `body.ballot`)",
        required=False,
    ),
]


class RecordController(Controller):
    path = "/meetings/{code:str}"
    tags = ["record 公开记录"]  # noqa: RUF012
    opt = {SKIP_SESSION: True}  # noqa: RUF012

    @get("/checkpoint", summary="The latest signed checkpoint (C2SP tlog-checkpoint note)")
    async def checkpoint(
        self, ctx: NamedDependency[ServiceContext], code: MeetingCode
    ) -> CheckpointOut:
        return await record.latest_checkpoint(ctx, code)

    @get(
        "/proof/inclusion",
        summary="Inclusion proof of a ballot (by hash) or an entry (by index)",
        description="Give exactly one of `hash` and `index`; `size` defaults to the latest "
        "checkpoint's size.",
    )
    async def inclusion(
        self,
        ctx: NamedDependency[ServiceContext],
        code: MeetingCode,
        ballot_hash: HashHex = None,
        index: Annotated[int | None, QueryParameter(ge=0, le=2**53 - 1)] = None,
        size: Annotated[int | None, QueryParameter(ge=1, le=2**53 - 1)] = None,
    ) -> InclusionProofOut:
        return await record.inclusion_proof(
            ctx,
            code,
            ballot_hash=None if ballot_hash is None else ballot_hash.lower(),
            index=index,
            size=size,
        )

    @get("/proof/consistency", summary="Consistency proof between two log sizes")
    async def consistency(
        self,
        ctx: NamedDependency[ServiceContext],
        code: MeetingCode,
        size1: Annotated[int, QueryParameter(name="from", ge=1, le=2**53 - 1)],
        size2: Annotated[int, QueryParameter(name="to", ge=1, le=2**53 - 1)],
    ) -> ConsistencyProofOut:
        return await record.consistency_proof(ctx, code, size1, size2)

    @get(
        "/bundle",
        summary="The meeting's verification bundle (JSON; `votes verify BUNDLE`)",
        media_type="application/json",
    )
    async def bundle(
        self, ctx: NamedDependency[ServiceContext], code: MeetingCode
    ) -> Response[bytes]:
        data = await record.bundle(ctx, code)
        return Response(
            data,
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="owner-vote-{code}.bundle.json"'
            },
        )

    @get("/roster", summary="The frozen roster in public form: units and areas, no names")
    async def roster(
        self, ctx: NamedDependency[ServiceContext], code: MeetingCode
    ) -> PublicRosterOut:
        return await record.public_roster(ctx, code)

    @get("/result", summary="The signed tally (once tallied)")
    async def result(self, ctx: NamedDependency[ServiceContext], code: MeetingCode) -> ResultOut:
        return await record.result(ctx, code)
