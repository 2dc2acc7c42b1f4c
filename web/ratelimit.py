"""Rate limits: staff login per client and per account, signed owner POSTs per credential.

* Login uses Litestar's :class:`RateLimitConfig` on the login route only,
  keyed by the client address (``settings.rate_limit_login``). Each account
  (user name) also gets a growing delay after ``rate_limit_login.count``
  failed attempts in a row (:class:`LoginThrottle`), counted across processes.
  A delay, not a lock: the user name is no secret, and a permanent lock would
  let anyone lock a staff member out.
* Owners' ballots (and signed objections) are limited per member public key
  (``settings.rate_limit_ballots``), counting only requests whose signature
  verifies: every owner's key is in the public bundle, so counting before the
  check would let anyone spend an owner's limit and have the real ballot
  refused. A request that does not parse or verify counts against its client
  address instead (``settings.rate_limit_invalid_ballots``, generous: phones
  behind one carrier NAT share an address, and only failures count, so honest
  owners there are never refused). See :class:`CredentialLimiter`.

Both use the ``rate_limit`` store, which falls back to process memory when
Redis is down (see :mod:`web.stores`): limits degrade, ballots keep flowing.
Refusals are 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any, Final

from litestar import Request
from litestar.middleware.rate_limit import DURATION_VALUES, DurationUnit, RateLimitConfig

from votes.service.accounts import LoginAttempt
from votes.service.errors import RateLimited
from votes.settings import RateLimit
from web.stores import RATE_LIMIT_STORE, ResilientStore

__all__ = [
    "LOGIN_RATE_LIMIT",
    "CredentialLimiter",
    "LoginThrottle",
    "client_address",
    "login_rate_limit",
    "login_throttle",
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


def _retry_after(window: int, period: int, now: float) -> int:
    return max(1, math.ceil((window + 1) * period - now))


class CredentialLimiter:
    """Fixed-window limits for the owner's signed POSTs (ballots, objections).

    :meth:`signed` counts a request whose signature verified against its
    signer's key; :meth:`failed` counts one that did not parse or verify
    against its client address. Neither can be spent by someone else: only
    the key's holder can sign, and only failures count against an address.
    """

    def __init__(
        self,
        store: ResilientStore,
        limit: RateLimit,
        *,
        invalid_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._limit = limit
        # Without a setting: ten times the per-credential limit (see module doc).
        self._invalid = invalid_limit or RateLimit(limit.count * 10, limit.period_seconds)
        self._clock = clock

    async def signed(self, member_key: str, digest: bytes) -> None:
        """Count a verified request by ``member_key`` with content hash ``digest``.

        A copy of a request already counted in this window (a retry, or a
        replay of a ballot taken from the public record) counts against that
        request only, so replaying an owner's old ballot cannot use up the
        owner's limit for a new one.
        """
        period, limit = self._limit.period_seconds, self._limit.count
        now = self._clock()
        window = int(now // period)
        member = member_key.lower()
        count, member_count = await self._store.incr_pair(
            f"signed:{member}:{digest.hex()}:{window}",
            f"ballot:{member}:{window}",
            expires_in=period + 1,
        )
        if count > limit or member_count > limit:
            retry_after = _retry_after(window, period, now)
            raise RateLimited(
                "ballot_rate_limited",
                f"此凭证提交过于频繁（每 {period} 秒最多 {limit} 次），请 {retry_after} 秒后再试",
                f"too many ballots for this credential (at most {limit} per "
                f"{period} s); try again in {retry_after} s",
                retry_after=retry_after,
            )

    async def failed(self, address: str) -> None:
        """Count a request from ``address`` that did not parse or verify.

        Raises :class:`RateLimited` (``address_rate_limited``) once the address
        has sent more than its limit of them in the window; the caller then
        answers that instead of the request's own refusal.
        """
        period, limit = self._invalid.period_seconds, self._invalid.count
        now = self._clock()
        window = int(now // period)
        count = await self._store.incr(f"invalid:{address}:{window}", expires_in=period + 1)
        if count > limit:
            retry_after = _retry_after(window, period, now)
            raise RateLimited(
                "address_rate_limited",
                f"此网络地址提交的无效选票过多（每 {period} 秒最多 {limit} 次），"
                f"请 {retry_after} 秒后再试",
                f"too many invalid ballots from this network address (at most {limit} per "
                f"{period} s); try again in {retry_after} s",
                retry_after=retry_after,
            )


#: The first delay after the allowed failures, doubled with each further failure ...
LOGIN_DELAY_FIRST_SECONDS: Final = 1
#: ... up to this much: long enough to make guessing hopeless (at most 96 tries a
#: day), short enough that a staff member whose name is attacked can still log in.
LOGIN_DELAY_MAX_SECONDS: Final = 900
#: Failures in a row are forgotten this long after the first (or at a good login).
LOGIN_FAILURES_KEPT_SECONDS: Final = 24 * 3600


class LoginThrottle:
    """The growing delay per account (user name) of :func:`votes.service.accounts.authenticate`.

    After ``limit.count`` failed attempts in a row, the next attempt must wait
    :data:`LOGIN_DELAY_FIRST_SECONDS`, doubling with every further failure up
    to :data:`LOGIN_DELAY_MAX_SECONDS`. The attempt is counted (and the delay
    its failure would impose set) before the password is checked, so that
    parallel guesses from many addresses are refused while one is checked;
    a good password then clears both. Unknown user names are throttled the
    same way, so a refusal tells nothing about which accounts exist.
    """

    def __init__(self, store: ResilientStore, limit: RateLimit) -> None:
        self._store = store
        self._free = limit.count

    @staticmethod
    def _keys(username: str) -> tuple[str, str]:
        # Hashed: a user name of any length and characters makes a short key.
        name = hashlib.sha256(username.encode()).hexdigest()
        return f"login-failures:{name}", f"login-delay:{name}"

    def _delay(self, failures: int) -> int:
        if failures < self._free:
            return 0
        doublings = min(failures - self._free, 20)
        return min(LOGIN_DELAY_MAX_SECONDS, LOGIN_DELAY_FIRST_SECONDS << doublings)

    async def begin(self, username: str, *, now: float) -> LoginAttempt:
        failures_key, delay_key = self._keys(username)
        until = await self._store.get(delay_key)
        if until is not None and float(until) > now:
            return LoginAttempt(retry_after=max(1, math.ceil(float(until) - now)))
        number = await self._store.incr(failures_key, expires_in=LOGIN_FAILURES_KEPT_SECONDS)
        delay = self._delay(number)
        if delay:
            await self._store.set(delay_key, repr(now + delay), expires_in=delay + 1)
        return LoginAttempt(failures=number, delay=delay)

    async def succeeded(self, username: str) -> None:
        failures_key, delay_key = self._keys(username)
        await self._store.reset(failures_key)
        await self._store.delete(delay_key)


def login_throttle(request: Request[Any, Any, Any], limit: RateLimit) -> LoginThrottle:
    """The per-account login throttle over the app's ``rate_limit`` store."""
    store = request.app.stores.get(RATE_LIMIT_STORE)
    if not isinstance(store, ResilientStore):
        raise TypeError(f"the {RATE_LIMIT_STORE!r} store must be a ResilientStore")
    return LoginThrottle(store, limit)
