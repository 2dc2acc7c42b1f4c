"""The limiters of web.ratelimit over the rate-limit store, in memory and on Redis."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from tests.databases import STORES, resilient_store
from votes.service.errors import RateLimited
from votes.settings import RateLimit
from web.ratelimit import (
    LOGIN_DELAY_FIRST_SECONDS,
    LOGIN_DELAY_MAX_SECONDS,
    CredentialLimiter,
    LoginThrottle,
)
from web.stores import ResilientStore

NOW = 1_800_000_000.0  # a fixed instant in the middle of its day's window
KEY = "ab" * 32


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ResilientStore]:
    async with resilient_store(request, "fallback") as made:
        yield made


def _limiter(store: ResilientStore, count: int) -> CredentialLimiter:
    return CredentialLimiter(
        store,
        RateLimit(count=count, period_seconds=86400),
        invalid_limit=RateLimit(count=count, period_seconds=86400),
        clock=lambda: NOW,
    )


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def test_replays_of_one_ballot_do_not_spend_its_signers_limit(store: ResilientStore) -> None:
    limiter = _limiter(store, 2)
    for _ in range(2):
        await limiter.signed(KEY, _digest("cast before, now public"))
    with pytest.raises(RateLimited):
        await limiter.signed(KEY, _digest("cast before, now public"))
    await limiter.signed(KEY, _digest("the owner's new ballot"))  # not refused


async def test_distinct_ballots_of_one_key_are_limited(store: ResilientStore) -> None:
    limiter = _limiter(store, 2)
    for n in range(2):
        await limiter.signed(KEY, _digest(f"ballot {n}"))
    with pytest.raises(RateLimited) as refused:
        await limiter.signed(KEY, _digest("ballot 2"))
    assert refused.value.code == "ballot_rate_limited"


async def test_refused_ballot_is_refused_again_when_retried(store: ResilientStore) -> None:
    limiter = _limiter(store, 1)
    await limiter.signed(KEY, _digest("ballot 0"))
    for _ in range(2):
        with pytest.raises(RateLimited):
            await limiter.signed(KEY, _digest("ballot 1"))


async def test_failures_are_limited_per_address(store: ResilientStore) -> None:
    limiter = _limiter(store, 2)
    for _ in range(2):
        await limiter.failed("203.0.113.9")
    with pytest.raises(RateLimited) as refused:
        await limiter.failed("203.0.113.9")
    assert refused.value.code == "address_rate_limited"
    await limiter.failed("203.0.113.10")  # another address is not affected


async def test_failures_do_not_spend_any_credentials_limit(store: ResilientStore) -> None:
    limiter = _limiter(store, 1)
    await limiter.failed("203.0.113.9")
    await limiter.signed(KEY, _digest("ballot 0"))  # not refused


def _throttle(store: ResilientStore, free: int) -> LoginThrottle:
    return LoginThrottle(store, RateLimit(count=free, period_seconds=60))


async def test_login_attempts_before_the_limit_have_no_delay(store: ResilientStore) -> None:
    throttle = _throttle(store, 3)
    attempts = [await throttle.begin("conv", now=NOW) for _ in range(2)]
    assert [(a.retry_after, a.delay) for a in attempts] == [(0, 0), (0, 0)]


async def test_login_delay_doubles_with_each_failure(store: ResilientStore) -> None:
    throttle = _throttle(store, 2)
    now, delays = NOW, []
    for _ in range(5):
        attempt = await throttle.begin("conv", now=now)
        delays.append(attempt.delay)
        now += attempt.delay
    first = LOGIN_DELAY_FIRST_SECONDS
    assert delays == [0, first, 2 * first, 4 * first, 8 * first]


async def test_login_attempt_during_the_delay_is_refused(store: ResilientStore) -> None:
    throttle = _throttle(store, 1)
    first = await throttle.begin("conv", now=NOW)
    refused = await throttle.begin("conv", now=NOW + first.delay - 0.5)
    assert refused.retry_after == 1


async def test_login_delay_is_capped(store: ResilientStore) -> None:
    throttle = _throttle(store, 1)
    now, delay = NOW, 0
    for _ in range(30):
        delay = (await throttle.begin("conv", now=now)).delay
        now += delay
    assert delay == LOGIN_DELAY_MAX_SECONDS


async def test_good_login_clears_the_delay(store: ResilientStore) -> None:
    throttle = _throttle(store, 1)
    await throttle.begin("conv", now=NOW)
    await throttle.succeeded("conv")
    again = await throttle.begin("conv", now=NOW)
    assert (again.retry_after, again.failures) == (0, 1)


async def test_login_delay_of_one_account_does_not_touch_another(store: ResilientStore) -> None:
    throttle = _throttle(store, 1)
    await throttle.begin("conv", now=NOW)
    other = await throttle.begin("officer", now=NOW)
    assert (other.retry_after, other.failures) == (0, 1)
