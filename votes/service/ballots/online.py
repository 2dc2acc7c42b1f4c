"""Online casting: a ballot signed by the member's credential, checked, then group-committed.

:func:`verify_ballot` needs no database and runs in the request's own task;
:func:`cast_verified_ballot` hands the checked ballot to this process's queue
for the meeting (votes.service.ballots.batch) and returns the receipt once
its batch has committed.
"""

from __future__ import annotations

import hashlib

from votes.record.receipt import Receipt
from votes.service.ballots._shared import (
    OpenFirstError,
    VerifiedBallot,
    decode_and_verify,
    opening_first,
)
from votes.service.ballots.batch import LANES, MeetingLane
from votes.service.context import NullPublisher, ServiceContext

__all__ = ["VerifiedBallot", "cast_ballot", "cast_verified_ballot", "verify_ballot"]


async def cast_ballot(ctx: ServiceContext, code: str, raw: bytes, signature_hex: str) -> Receipt:
    """Take a member's signed ballot (docs/design.md §4) and return the receipt after commit.

    :func:`verify_ballot` then :func:`cast_verified_ballot`; callers that must
    know who signed before casting (the per-credential rate limit) call the two.
    """
    return await cast_verified_ballot(ctx, code, verify_ballot(raw, signature_hex))


def verify_ballot(raw: bytes, signature_hex: str) -> VerifiedBallot:
    """Parse the exact bytes of a ballot and check the signature by the key it names.

    Needs no database, so it runs before any limit keyed by the member: only
    the holder of a credential can spend that credential's limit. Refuses with
    the ballot's error code (``bad_signature``, ``not_canonical``, ...).
    """
    raw = bytes(raw)
    ballot, signature = decode_and_verify(raw, signature_hex)
    return VerifiedBallot(
        raw=raw, ballot=ballot, signature=signature, hash=hashlib.sha256(raw).digest()
    )


async def cast_verified_ballot(ctx: ServiceContext, code: str, verified: VerifiedBallot) -> Receipt:
    """Store and log a ballot checked by :func:`verify_ballot`; the receipt after commit.

    The ballot joins this process's queue for the meeting and is stored and
    logged with the others waiting, in one transaction (group commit,
    :mod:`votes.service.batching`). The receipt is returned only after that
    transaction commits.
    """
    async with LANES.use((id(ctx), code), lambda: MeetingLane(ctx, code)) as lane:
        lane.casting += 1
        try:
            try:
                outcome = await lane.commits.submit(verified)
            except OpenFirstError:
                await opening_first(ctx, code)
                outcome = await lane.commits.submit(verified)
            if outcome.fresh and not isinstance(ctx.events, NullPublisher):
                if lane.casting == 1:
                    # A quiet meeting: the turnout including this ballot goes out first.
                    await lane.turnout.request()
                else:
                    # Under load the turnout (a query over the meeting's ballots) is
                    # pushed in the background, at most once per interval.
                    lane.turnout.request_soon()
        finally:
            lane.casting -= 1
    return outcome.receipt
