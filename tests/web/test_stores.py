"""The session / rate-limit stores: one contract over memory and Redis, and Redis outages."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.databases import STORES, closed_redis_url, resilient_store
from votes.settings import Settings
from web.stores import (
    RATE_LIMIT_STORE,
    SESSION_STORE,
    ResilientStore,
    StoreUnavailableError,
    build_stores,
    redis_client,
)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ResilientStore]:
    async with resilient_store(request, "unavailable") as made:
        yield made


async def test_set_then_get_returns_the_value(store: ResilientStore) -> None:
    await store.set("k", b"value", expires_in=60)
    assert await store.get("k") == b"value"
    assert await store.exists("k")


async def test_missing_key_reads_none(store: ResilientStore) -> None:
    assert await store.get("absent") is None
    assert not await store.exists("absent")


async def test_delete_removes_the_value(store: ResilientStore) -> None:
    await store.set("k", "text")
    await store.delete("k")
    assert await store.get("k") is None


async def test_expiry_is_reported_and_enforced(store: ResilientStore) -> None:
    await store.set("short", b"x", expires_in=1)
    remaining = await store.expires_in("short")
    assert remaining is not None
    assert 0 <= remaining <= 1
    await asyncio.sleep(1.2)
    assert await store.get("short") is None


async def test_incr_counts_up_from_one(store: ResilientStore) -> None:
    assert [await store.incr("c", expires_in=60) for _ in range(3)] == [1, 2, 3]


async def test_incr_restarts_after_expiry(store: ResilientStore) -> None:
    await store.incr("c", expires_in=1)
    await asyncio.sleep(1.2)
    assert await store.incr("c", expires_in=1) == 1


async def test_namespaces_do_not_see_each_other(store: ResilientStore) -> None:
    other = store.with_namespace("other")
    await store.set("k", b"outer")
    assert await other.get("k") is None


async def test_two_clients_share_one_redis_counter(redis_url: str) -> None:
    namespace = f"owner-vote-test-{uuid.uuid4().hex}"
    first = ResilientStore(
        name="a", redis=redis_client(redis_url), fail_mode="fallback", namespace=namespace
    )
    second = ResilientStore(
        name="b", redis=redis_client(redis_url), fail_mode="fallback", namespace=namespace
    )
    try:
        await first.incr("shared", expires_in=60)
        assert await second.incr("shared", expires_in=60) == 2
    finally:
        await first.delete_all()
        await first.close()
        await second.close()


async def test_fallback_store_keeps_working_when_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ResilientStore(
        name=RATE_LIMIT_STORE, redis=redis_client(closed_redis_url()), fail_mode="fallback"
    )
    with caplog.at_level(logging.WARNING, logger="web.stores"):
        await store.set("k", b"v")
        assert await store.get("k") == b"v"
        assert await store.incr("c", expires_in=60) == 1
        assert await store.incr("c", expires_in=60) == 2
    outage_lines = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outage_lines) == 1  # one line per outage, not one per request
    await store.close()


async def test_unavailable_store_raises_when_redis_is_down() -> None:
    store = ResilientStore(
        name=SESSION_STORE, redis=redis_client(closed_redis_url()), fail_mode="unavailable"
    )
    with pytest.raises(StoreUnavailableError, match="sessions"):
        await store.get("session-id")
    # The circuit breaker is open now: the next call fails without a new attempt.
    with pytest.raises(StoreUnavailableError):
        await store.set("session-id", b"{}")
    await store.close()


def test_build_stores_uses_memory_without_redis(tmp_path: object) -> None:
    stores = build_stores(Settings(data_dir=tmp_path))  # type: ignore[arg-type]
    assert set(stores) == {SESSION_STORE, RATE_LIMIT_STORE}
    assert not any(store.uses_redis for store in stores.values())


def test_build_stores_uses_redis_when_configured(tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0")  # type: ignore[arg-type]
    stores = build_stores(settings)
    assert all(store.uses_redis for store in stores.values())
    assert stores[SESSION_STORE].fail_mode == "unavailable"
    assert stores[RATE_LIMIT_STORE].fail_mode == "fallback"


async def test_incr_pair_counts_the_group_once_per_key(store: ResilientStore) -> None:
    counts = [await store.incr_pair("a", "g", expires_in=60) for _ in range(3)]
    counts.append(await store.incr_pair("b", "g", expires_in=60))
    assert counts == [(1, 1), (2, 1), (3, 1), (1, 2)]


async def test_incr_pair_restarts_after_expiry(store: ResilientStore) -> None:
    await store.incr_pair("a", "g", expires_in=1)
    await asyncio.sleep(1.1)
    assert await store.incr_pair("a", "g", expires_in=1) == (1, 1)


async def test_reset_forgets_a_counter(store: ResilientStore) -> None:
    await store.incr("c", expires_in=60)
    await store.reset("c")
    assert await store.incr("c", expires_in=60) == 1


async def test_incr_pair_falls_back_to_memory_when_redis_is_down() -> None:
    store = ResilientStore(
        name=RATE_LIMIT_STORE, redis=redis_client(closed_redis_url()), fail_mode="fallback"
    )
    counts = [await store.incr_pair("a", "g", expires_in=60) for _ in range(2)]
    await store.close()
    assert counts == [(1, 1), (2, 1)]
