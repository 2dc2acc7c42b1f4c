"""The docs/design.md §8 baseline: a bare Litestar endpoint that verifies a ballot, inserts a row.

``POST /bare/ballots`` takes the same body as the real ballot endpoint
(``{"ballot": "<canonical JSON>", "signature": "<128 hex>"}``), reads the
member's key from the ballot, checks the Ed25519 signature with the same call
as the service (``crypto.signing.PublicKey.verify``), inserts (hash, bytes,
signature, time) into one table in its own transaction, and answers 201 with
the hash. Same database stack as the service (SQLAlchemy async + asyncpg),
no middleware, no log, no receipt.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar, post
from litestar.exceptions import HTTPException
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crypto.signing import Domain, PublicKey

__all__ = ["BARE_TABLE", "create_bare_app"]

_metadata = MetaData()
BARE_TABLE = Table(
    "bare_ballots",
    _metadata,
    Column("ballot_hash", LargeBinary, primary_key=True),
    Column("raw", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


class BallotBody(msgspec.Struct):
    ballot: str
    signature: str


class _Member(msgspec.Struct):
    member: str


_MEMBER = msgspec.json.Decoder(_Member)


def create_bare_app(database_url: str, *, search_path: str | None = None) -> Litestar:
    connect_args: dict[str, Any] = {}
    if search_path is not None:
        connect_args["server_settings"] = {"search_path": search_path}
    engines: list[AsyncEngine] = []

    async def startup() -> None:
        engines.append(
            create_async_engine(
                database_url, pool_size=10, max_overflow=10, connect_args=connect_args
            )
        )

    async def shutdown() -> None:
        for engine in engines:
            await engine.dispose()

    @post("/bare/ballots", status_code=201)
    async def cast(data: BallotBody) -> dict[str, str]:
        raw = data.ballot.encode()
        try:
            key = PublicKey.from_hex(_MEMBER.decode(raw).member)
            signature = bytes.fromhex(data.signature)
            valid = key.verify(Domain.BALLOT, raw, signature)
        except (msgspec.DecodeError, ValueError):
            valid = False
        if not valid:
            raise HTTPException(status_code=422, detail="bad ballot or signature")
        digest = hashlib.sha256(raw).digest()
        async with engines[0].begin() as conn:
            await conn.execute(
                insert(BARE_TABLE).values(
                    ballot_hash=digest,
                    raw=raw,
                    signature=signature,
                    received_at=datetime.now(UTC),
                )
            )
        return {"hash": digest.hex()}

    return Litestar([cast], on_startup=[startup], on_shutdown=[shutdown])


async def create_bare_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_metadata.create_all)
