"""The vote service: use cases over storage and the record (docs/lifecycle.md).

Modules: context (ServiceContext), errors (ServiceError), actors (scopes),
schemas (wire Structs), accounts, regions, meetings (the lifecycle; drafting
and submission here, re-exporting approval, voting and results), credentials,
ballots, objections, record (checkpoints, proofs, bundle), turnout,
scheduler, demo. The web layer calls only these.
"""

from __future__ import annotations

from votes.service.actors import Actor
from votes.service.context import (
    EventPublisher,
    NullPublisher,
    ServiceContext,
    build_context,
)
from votes.service.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceError,
    Unauthenticated,
)

__all__ = [
    "Actor",
    "Conflict",
    "EventPublisher",
    "Forbidden",
    "Invalid",
    "NotFound",
    "NullPublisher",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceContext",
    "ServiceError",
    "Unauthenticated",
    "build_context",
]
