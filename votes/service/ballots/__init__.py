"""Casting ballots: online (signed by the member's credential), paper and proxy entry.

Each ballot is stored and appended to the meeting's log in ONE transaction
(the meeting row and log head locked, so concurrent processes take turns);
the receipt is built only after that transaction commits. The same ballot
sent again returns the same receipt.

- :mod:`~votes.service.ballots.online`: verifying a member's signed ballot
  and casting it;
- :mod:`~votes.service.ballots.batch`: the group commit that stores online
  ballots many to a transaction (its mechanism: votes.service.batching; its
  dialect SQL: votes.storage.ballot_repo);
- :mod:`~votes.service.ballots.staff`: paper and proxy ballots entered by
  convener staff.
"""

from __future__ import annotations

from votes.service.ballots.online import (
    VerifiedBallot,
    cast_ballot,
    cast_verified_ballot,
    verify_ballot,
)
from votes.service.ballots.staff import enter_paper_ballot, enter_proxy_ballot

__all__ = [
    "VerifiedBallot",
    "cast_ballot",
    "cast_verified_ballot",
    "enter_paper_ballot",
    "enter_proxy_ballot",
    "verify_ballot",
]
