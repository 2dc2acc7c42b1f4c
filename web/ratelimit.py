"""Rate limits: staff login per client, and ballot POSTs per credential key.

* Login uses Litestar's :class:`RateLimitConfig` on the login route only,
  keyed by the client address (``settings.rate_limit_login``).
* Ballots are limited per member public key (``settings.rate_limit_ballots``):
  phones behind one carrier NAT share an address, so a per-address limit would
  refuse honest owners, while a per-key limit stops one credential being
  hammered. It is a fixed window counted with the store's atomic ``incr``.

Both use the ``rate_limit`` store, which falls back to process memory when
Redis is down (see :mod:`web.stores`): limits degrade, ballots keep flowing.
Refusals are 429 with ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import msgspec
from litestar import Request
from litestar.middleware.rate_limit import DURATION_VALUES, DurationUnit, RateLimitConfig

from votes.service.errors import RateLimited
from votes.settings import RateLimit
from web.stores import RATE_LIMIT_STORE, ResilientStore

__all__ = [
    "LOGIN_RATE_LIMIT",
    "CredentialLimiter",
    "ballot_member_key",
    "client_address",
    "login_rate_limit",
]

_UNITS: Final[dict[int, DurationUnit]] = {v: k for k, v in DURATION_VALUES.items()}


def client_address(request: Request[Any, Any, Any]) -> str:
    """The peer address (behind a proxy, run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


def _unit(limit: RateLimit) -> DurationUnit:
    unit = _UNITS.get(limit.period_seconds)
    if unit is None:
        raise ValueError(f"rate limit {limit}: the period must be one second, minute, hour or day")
    return unit


#: Route ``opt`` key of the handlers the login limit applies to.
LOGIN_RATE_LIMIT: Final = "login_rate_limit"


async def _is_login(request: Request[Any, Any, Any]) -> bool:
    # async on purpose: Litestar runs a sync check in a worker thread, on every request.
    return bool(request.route_handler.opt.get(LOGIN_RATE_LIMIT))


def login_rate_limit(limit: RateLimit) -> RateLimitConfig:
    """Per-client limit for the routes marked ``opt={LOGIN_RATE_LIMIT: True}`` (login)."""
    return RateLimitConfig(
        rate_limit=(_unit(limit), limit.count),
        identifier_for_request=lambda request: f"login:{client_address(request)}",
        check_throttle_handler=_is_login,
        store=RATE_LIMIT_STORE,
    )


class _MemberOnly(msgspec.Struct):
    member: str


_MEMBER_DECODER: Final = msgspec.json.Decoder(_MemberOnly)


def ballot_member_key(ballot_text: str) -> str | None:
    """The ``member`` key of a ballot's JSON text, or None when it has none.

    Only a routing hint for the limiter: the service validates the ballot fully.
    """
    try:
        member = _MEMBER_DECODER.decode(ballot_text).member
    except msgspec.DecodeError:
        return None
    return member.lower() if 0 < len(member) <= 128 else None


class CredentialLimiter:
    """Fixed-window limit per credential key; raises :class:`RateLimited` when exceeded."""

    def __init__(
        self,
        store: ResilientStore,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._limit = limit
        self._clock = clock

    async def hit(self, member_key: str) -> None:
        period = self._limit.period_seconds
        now = self._clock()
        window = int(now // period)
        count = await self._store.incr(f"ballot:{member_key}:{window}", expires_in=period + 1)
        if count > self._limit.count:
            retry_after = max(1, int((window + 1) * period - now + 0.999))
            raise RateLimited(
                "ballot_rate_limited",
                f"此凭证提交过于频繁（每 {period} 秒最多 {self._limit.count} 次），"
                f"请 {retry_after} 秒后再试",
                f"too many ballots for this credential (at most {self._limit.count} per "
                f"{period} s); try again in {retry_after} s",
                retry_after=retry_after,
            )
