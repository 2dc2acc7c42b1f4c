"""Group commit: many callers' work done in one transaction, each caller answered after it.

A meeting's log appends are serialised in the database (the log-head row
lock), and each transaction holds that lock through its commit. Committing
ballots one by one therefore caps a meeting at roughly one ballot per commit
(a WAL flush). :class:`GroupCommit` lets every caller hand its item to one
queue per process and meeting; a single drain task takes everything waiting
(up to ``max_batch``), runs one ``commit(items)`` — one transaction — and
only then answers each caller with its own outcome. While a transaction is
in flight the next batch accumulates, so batches grow with the load without
any artificial delay, and a lone caller is served at once.

:class:`Coalescer` runs an action (publishing live turnout) after
requests, merging the requests that arrive while it runs into one more run,
and pacing the runs nobody waits for.

:class:`Lanes` keeps one such object per key and event loop, for as long as
someone uses it, so nothing lingers once a meeting falls quiet and nothing is
shared across event loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_MAX_BATCH", "Coalescer", "GroupCommit", "Lanes"]

_log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")

#: Largest batch per transaction: big enough to amortise the commit, small enough
#: that one transaction (and the receipts it signs) stays a few milliseconds.
DEFAULT_MAX_BATCH = 256


_TakingCommit = Callable[
    [Callable[[], list[T]], Callable[[], None]], Awaitable[Sequence[R | BaseException]]
]


class GroupCommit(Generic[T, R]):
    """Queue items and commit them in batches.

    ``commit(items)`` runs one transaction for the batch and returns one
    outcome per item, in order: a result, or an exception meant for that
    item's caller alone (a refused ballot does not fail the others). If
    ``commit`` itself raises, nothing of the batch is assumed stored and
    every caller of the batch gets ``failed(error)`` (a fresh exception each).

    :meth:`taking` builds one whose ``commit(take, ready)`` calls ``take()``
    itself when it wants the items, and ``ready()`` once the next commit may
    start (e.g. once it holds a lock); up to ``depth`` such commits run at a
    time, at most one of them not yet ready: the next transaction gets going
    while the current one holds the lock and commits, and takes everything
    queued by then.
    """

    def __init__(
        self,
        commit: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        failed: Callable[[BaseException], BaseException],
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        async def eager(
            take: Callable[[], list[T]], ready: Callable[[], None]
        ) -> Sequence[R | BaseException]:
            items = take()
            ready()
            return await commit(items)

        self._setup(eager, failed=failed, max_batch=max_batch, depth=1)

    @classmethod
    def taking(
        cls,
        commit: _TakingCommit[T, R],
        *,
        failed: Callable[[BaseException], BaseException],
        max_batch: int = DEFAULT_MAX_BATCH,
        depth: int = 2,
    ) -> GroupCommit[T, R]:
        """A group commit whose ``commit`` takes its items itself (see the class)."""
        group: GroupCommit[T, R] = cls.__new__(cls)
        group._setup(commit, failed=failed, max_batch=max_batch, depth=depth)
        return group

    def _setup(
        self,
        commit: _TakingCommit[T, R],
        *,
        failed: Callable[[BaseException], BaseException],
        max_batch: int,
        depth: int,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._commit = commit
        self._failed = failed
        self._max_batch = max_batch
        self._depth = depth
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._running = 0  # drain tasks alive
        self._waiting = 0  # of them, those whose commit is not ready yet
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Queue ``item``; return its outcome once its batch is committed (or raise it)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._kick()
        # A cancelled caller (client gone) leaves its item in the batch: if it is
        # committed, the same ballot sent again returns the same receipt.
        return await future

    def _kick(self) -> None:
        """Start a drain if items wait, no drain is getting ready, and depth allows."""
        if self._queue and self._waiting == 0 and self._running < self._depth:
            self._running += 1
            self._waiting += 1
            task = asyncio.create_task(self._run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        try:
            while True:
                await self._cycle()
                if not self._queue or self._waiting > 0:
                    return
                self._waiting += 1
        finally:
            self._running -= 1

    async def _cycle(self) -> None:
        live: list[tuple[T, asyncio.Future[R]]] | None = None
        readied = False

        def take() -> list[T]:
            nonlocal live
            if live is None:
                count = min(self._max_batch, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                live = [(item, future) for item, future in batch if not future.done()]
            return [item for item, _ in live]

        def ready() -> None:
            nonlocal readied
            if not readied:
                readied = True
                self._waiting -= 1
                self._kick()  # the next transaction may get going meanwhile

        try:
            outcomes = await self._commit(take, ready)
            if live is None:
                raise RuntimeError("commit returned without taking its items")
            if len(outcomes) != len(live):
                raise RuntimeError(
                    f"commit returned {len(outcomes)} outcomes for {len(live)} items"
                )
        except Exception as error:
            take()  # never taken: fail what waits now, so a lasting failure cannot spin
            ready()
            assert live is not None
            if live:
                _log.warning(
                    "a batch of %d failed and was rolled back: %r", len(live), error, exc_info=True
                )
            for _, future in live:
                if not future.done():
                    future.set_exception(self._failed(error))
            return
        except BaseException:
            if not readied:  # cancelled before getting ready: untaken items stay queued
                self._waiting -= 1
            raise
        ready()
        for (_, future), outcome in zip(live, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class Coalescer:
    """Run ``action`` after requests, merging the requests made while it runs.

    ``await request()`` returns once a run that *started after the request*
    has finished, so the caller sees the state it just committed.
    ``request_soon()`` asks for such a run without waiting for it; runs made
    only for these start at least ``min_interval`` seconds apart, so a busy
    stream of requests costs at most one run per interval. At most one run is
    in progress at a time. Failures of ``action`` are logged, never raised.
    """

    def __init__(self, action: Callable[[], Awaitable[None]], *, min_interval: float = 0.0) -> None:
        self._action = action
        self._interval = min_interval
        self._waiter: asyncio.Future[None] | None = None  # for the callers of request()
        self._soon = False
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # a caller waits: cut the pacing pause short

    async def request(self) -> None:
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        waiter = self._waiter
        self._wake.set()
        self._start()
        await asyncio.shield(waiter)

    def request_soon(self) -> None:
        self._soon = True
        self._start()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiter is not None or self._soon:
            if self._waiter is None:  # nobody waits: keep to the interval
                delay = self._last + self._interval - loop.time()
                if delay > 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay)
            waiter, self._waiter, self._soon = self._waiter, None, False
            self._last = loop.time()
            try:
                await self._action()
            except Exception:
                _log.exception("a coalesced action failed")
            finally:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)


@dataclass
class _Lane(Generic[V]):
    value: V
    users: int = 0


class Lanes(Generic[V]):
    """One value per (event loop, key), kept while at least one caller uses it."""

    def __init__(self) -> None:
        self._lanes: dict[tuple[asyncio.AbstractEventLoop, Hashable], _Lane[V]] = {}

    @asynccontextmanager
    async def use(self, key: Hashable, make: Callable[[], V]) -> AsyncIterator[V]:
        full = (asyncio.get_running_loop(), key)
        lane = self._lanes.get(full)
        if lane is None:
            lane = self._lanes[full] = _Lane(make())
        lane.users += 1
        try:
            yield lane.value
        finally:
            lane.users -= 1
            if lane.users == 0 and self._lanes.get(full) is lane:
                del self._lanes[full]

    def __len__(self) -> int:
        return len(self._lanes)
