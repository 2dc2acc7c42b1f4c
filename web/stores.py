"""Key/value stores for sessions and rate limits: Redis when configured, else memory.

Every store handed to Litestar is a :class:`ResilientStore`, so a Redis outage
degrades instead of failing requests it must not fail:

* rate limits (``fail_mode="fallback"``) switch to a per-process memory store
  and log one warning per outage — limits stay approximately enforced and a
  ballot is never refused because Redis is down;
* sessions (``fail_mode="unavailable"``) raise :class:`StoreUnavailableError`,
  which the error handler answers with 503 ``session_store_unavailable`` —
  only staff requests carry a session, the owner's ballot POST never does.

After a failure Redis is left alone for ``retry_seconds`` (a circuit breaker),
so a dead Redis costs one connection attempt per interval, not one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal

from litestar.stores.base import NamespacedStore, Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

from votes.settings import Settings

__all__ = [
    "RATE_LIMIT_STORE",
    "SESSION_STORE",
    "FailMode",
    "ResilientStore",
    "StoreUnavailableError",
    "build_stores",
    "redis_client",
]

SESSION_STORE: Final = "sessions"
RATE_LIMIT_STORE: Final = "rate_limit"
_NAMESPACE: Final = "owner-vote"
# Short timeouts: a stalled Redis must not hold a ballot request for long.
_REDIS_TIMEOUT_SECONDS: Final = 0.5

FailMode = Literal["fallback", "unavailable"]

# KEYS[1] the counter, KEYS[2] its group, ARGV[1] their lifetime in seconds.
_INCR_PAIR: Final = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  local group = redis.call('INCR', KEYS[2])
  if group == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
  return {count, group}
end
return {count, tonumber(redis.call('GET', KEYS[2]) or '0')}
"""
_FAILURES: Final = (RedisError, OSError, TimeoutError)

logger = logging.getLogger(__name__)


class StoreUnavailableError(RuntimeError):
    """The shared store (Redis) is unreachable and this store may not fall back."""

    def __init__(self, name: str, cause: BaseException) -> None:
        self.name = name
        super().__init__(f"store {name!r} is unavailable: {cause}")


@dataclass
class _Health:
    """Circuit breaker shared by a store and its namespaced children."""

    name: str
    retry_seconds: float
    down_until: float = 0.0
    outage_logged: bool = False
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def now(self) -> float:
        return self.clock()

    def available(self) -> bool:
        return self.now() >= self.down_until

    def failed(self, error: BaseException) -> None:
        self.down_until = self.now() + self.retry_seconds
        if not self.outage_logged:
            self.outage_logged = True
            logger.warning(
                "store %r: Redis unavailable (%s: %s); degrading for %.0fs at a time",
                self.name,
                type(error).__name__,
                error,
                self.retry_seconds,
            )

    def succeeded(self) -> None:
        if self.outage_logged:
            logger.warning("store %r: Redis reachable again", self.name)
        self.outage_logged = False
        self.down_until = 0.0


class _Counters:
    """In-process fixed-window counters (atomic under asyncio: no await inside)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[int, float]] = {}

    def incr(self, key: str, *, expires_in: int, now: float) -> int:
        count, expires_at = self._values.get(key, (0, 0.0))
        if expires_at <= now:
            count, expires_at = 0, now + expires_in
        count += 1
        self._values[key] = (count, expires_at)
        if len(self._values) > 100_000:  # bound memory under a flood of distinct keys
            self._values = {k: v for k, v in self._values.items() if v[1] > now}
        return count

    def reset(self, key: str) -> None:
        self._values.pop(key, None)

    def incr_pair(self, key: str, group: str, *, expires_in: int, now: float) -> tuple[int, int]:
        """Like :meth:`ResilientStore.incr_pair`, in process memory."""
        count = self.incr(key, expires_in=expires_in, now=now)
        if count == 1:
            return count, self.incr(group, expires_in=expires_in, now=now)
        group_count, expires_at = self._values.get(group, (0, 0.0))
        return count, group_count if expires_at > now else 0


class ResilientStore(NamespacedStore):
    """A Litestar store over Redis (or memory) that survives a Redis outage.

    Besides the :class:`~litestar.stores.base.Store` interface it offers
    :meth:`incr`, an atomic counter for fixed-window rate limits (Redis
    ``INCR`` + ``EXPIRE``, so every app process counts against the same limit).
    """

    def __init__(
        self,
        *,
        name: str,
        redis: Redis | None,
        fail_mode: FailMode,
        namespace: str = _NAMESPACE,
        retry_seconds: float = 5.0,
        _health: _Health | None = None,
        _fallback: MemoryStore | None = None,
        _counters: _Counters | None = None,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.fail_mode: FailMode = fail_mode
        self._redis = redis
        self._primary: Store = (
            RedisStore(redis, namespace=namespace) if redis is not None else MemoryStore()
        )
        self._fallback = _fallback if _fallback is not None else MemoryStore()
        self._counters = _counters if _counters is not None else _Counters()
        self._health = _health if _health is not None else _Health(name, retry_seconds)
        # EVALSHA, loading the script on first use (and again after a Redis restart).
        self._incr_pair = redis.register_script(_INCR_PAIR) if redis is not None else None

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    def with_namespace(self, namespace: str) -> ResilientStore:
        return ResilientStore(
            name=self.name,
            redis=self._redis,
            fail_mode=self.fail_mode,
            namespace=f"{self.namespace}_{namespace}",
            _health=self._health,
            _fallback=MemoryStore(),
            _counters=self._counters,
        )

    # -- degradation -------------------------------------------------------

    def _degraded(self, error: BaseException | None) -> Store:
        """The store to use while Redis is down (or raise for ``unavailable``)."""
        if self.fail_mode == "unavailable":
            raise StoreUnavailableError(self.name, error or RuntimeError("Redis marked down"))
        return self._fallback

    def _target(self) -> Store | None:
        """The primary store, or None while the circuit breaker is open."""
        if self._redis is None or self._health.available():
            return self._primary
        return None

    # -- Store interface ---------------------------------------------------

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        target = self._target()
        if target is not None:
            try:
                await target.set(key, value, expires_in)
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return
        await self._degraded(None).set(key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        target = self._target()
        if target is not None:
            try:
                value = await target.get(key, renew_for)
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return value
        return await self._degraded(None).get(key, renew_for)

    async def delete(self, key: str) -> None:
        target = self._target()
        if target is not None:
            try:
                await target.delete(key)
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return
        await self._degraded(None).delete(key)

    async def delete_all(self) -> None:
        target = self._target()
        if target is not None:
            try:
                await target.delete_all()
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
        await self._fallback.delete_all()

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        target = self._target()
        if target is not None:
            try:
                value = await target.expires_in(key)
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return value
        return await self._degraded(None).expires_in(key)

    # -- counters ----------------------------------------------------------

    async def incr(self, key: str, *, expires_in: int) -> int:
        """Increment ``key`` (created with a lifetime of ``expires_in`` s) and return it."""
        full_key = f"{self.namespace}:counter:{key}"
        if self._redis is not None and self._health.available():
            try:
                pipe = self._redis.pipeline(transaction=True)
                pipe.incr(full_key)
                pipe.expire(full_key, expires_in, nx=True)
                count, _ = await pipe.execute()
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return int(count)
        if self._redis is not None and self.fail_mode == "unavailable":
            raise StoreUnavailableError(self.name, RuntimeError("Redis marked down"))
        return self._counters.incr(full_key, expires_in=expires_in, now=self._health.now())

    async def reset(self, key: str) -> None:
        """Forget the counter ``key`` of :meth:`incr` (here and, if reachable, on Redis)."""
        full_key = f"{self.namespace}:counter:{key}"
        self._counters.reset(full_key)
        if self._redis is not None and self._health.available():
            try:
                await self._redis.delete(full_key)
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()

    async def incr_pair(self, key: str, group: str, *, expires_in: int) -> tuple[int, int]:
        """Increment ``key``; the first time it is counted, increment ``group`` too.

        Returns both counts (``group``'s current count when ``key`` was counted
        before). One atomic step, one round trip on Redis (a small Lua script).
        The rate limit per credential uses it so that a repeated, identical
        request — anyone can replay a ballot from the public record — counts
        against itself only, never against its signer's other requests.
        """
        full_key = f"{self.namespace}:counter:{key}"
        full_group = f"{self.namespace}:counter:{group}"
        if self._incr_pair is not None and self._health.available():
            try:
                count, group_count = await self._incr_pair(
                    keys=[full_key, full_group], args=[expires_in]
                )
            except _FAILURES as error:
                self._health.failed(error)
            else:
                self._ok()
                return int(count), int(group_count)
        if self._redis is not None and self.fail_mode == "unavailable":
            raise StoreUnavailableError(self.name, RuntimeError("Redis marked down"))
        return self._counters.incr_pair(
            full_key, full_group, expires_in=expires_in, now=self._health.now()
        )

    def _ok(self) -> None:
        if self._health.outage_logged:
            self._health.succeeded()

    async def close(self) -> None:
        """Close the Redis client (shared by the stores of one app; closing twice is harmless)."""
        if self._redis is not None:
            await self._redis.aclose()


def redis_client(url: str, *, pubsub: bool = False) -> Redis:
    """A Redis client with short timeouts (``pubsub`` clients block on reads, no socket timeout)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
        socket_timeout=None if pubsub else _REDIS_TIMEOUT_SECONDS,
        health_check_interval=30 if pubsub else 0,
        decode_responses=False,
    )


def build_stores(settings: Settings) -> dict[str, ResilientStore]:
    """The named stores of the app: Redis when ``settings.redis_url`` is set, else memory."""
    client = redis_client(settings.redis_url) if settings.redis_url else None
    return {
        SESSION_STORE: ResilientStore(
            name=SESSION_STORE,
            redis=client,
            fail_mode="unavailable",
            namespace=f"{_NAMESPACE}:session",
        ),
        RATE_LIMIT_STORE: ResilientStore(
            name=RATE_LIMIT_STORE,
            redis=client,
            fail_mode="fallback",
            namespace=f"{_NAMESPACE}:ratelimit",
        ),
    }
