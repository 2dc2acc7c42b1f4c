"""Group commit: ballots arriving together share one transaction, each answered on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.votes.service.conftest import World, signed_ballot
from votes.service import ballots, turnout
from votes.service.ballots import batch
from votes.service.batching import Coalescer, GroupCommit, Lanes
from votes.service.errors import ServiceError
from votes.service.schemas import MeetingSettings

# ---------------------------------------------------------------------- GroupCommit itself


class Recorder:
    """A commit function that records its batches; waits on ``gate`` while one runs."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, items: list[int]) -> Sequence[int | BaseException]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


def _failed(error: BaseException) -> BaseException:
    return RuntimeError(f"not stored: {error}")


async def test_items_arriving_during_a_commit_form_the_next_batch() -> None:
    recorder = Recorder()
    group: GroupCommit[int, int] = GroupCommit(recorder.commit, failed=_failed)
    recorder.gate.clear()
    first = asyncio.ensure_future(group.submit(0))
    await asyncio.sleep(0)  # the first batch starts with the only item waiting
    rest = [asyncio.ensure_future(group.submit(i)) for i in (2, 4, 6)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert [await first, *[await r for r in rest]] == [0, 20, 40, 60]
    assert recorder.batches == [[0], [2, 4, 6]]


async def test_batches_are_capped_at_max_batch() -> None:
    recorder = Recorder()
    group: GroupCommit[int, int] = GroupCommit(recorder.commit, failed=_failed, max_batch=3)
    results = await asyncio.gather(*(group.submit(i * 2) for i in range(7)))
    assert results == [i * 20 for i in range(7)]
    assert [len(b) for b in recorder.batches] == [3, 3, 1]


async def test_an_item_refused_in_a_batch_does_not_fail_the_others() -> None:
    group: GroupCommit[int, int] = GroupCommit(Recorder().commit, failed=_failed)
    outcomes = await asyncio.gather(*(group.submit(i) for i in range(4)), return_exceptions=True)
    assert outcomes[0::2] == [0, 20]
    assert [str(o) for o in outcomes[1::2]] == ["odd 1", "odd 3"]


async def test_a_failed_commit_fails_every_item_of_its_batch_only() -> None:
    calls = 0

    async def commit(items: list[int]) -> Sequence[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("connection lost")
        return items

    group: GroupCommit[int, int] = GroupCommit(commit, failed=_failed)
    outcomes = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert [str(o) for o in outcomes] == ["not stored: connection lost"] * 3
    assert len({id(o) for o in outcomes}) == 3  # a fresh exception for each caller
    assert await group.submit(7) == 7


class Stepper:
    """A taking commit that pauses at each step until the test lets it go, and records
    what each transaction took."""

    def __init__(self) -> None:
        self.taken: list[list[int]] = []
        self.pauses: dict[tuple[int, str], asyncio.Event] = {}
        self.started = 0

    async def _pause(self, tx: int, step: str) -> None:
        go = self.pauses[tx, step] = asyncio.Event()
        await go.wait()

    async def commit(
        self, take: Callable[[], list[int]], ready: Callable[[], None]
    ) -> Sequence[int | BaseException]:
        self.started += 1
        tx = self.started
        await self._pause(tx, "begin")  # BEGIN, the meeting row...
        items = take()
        self.taken.append(items)
        await self._pause(tx, "lock")  # waiting for the log head
        ready()
        await self._pause(tx, "commit")  # deciding, appending, committing
        return [i * 10 for i in items]

    async def step(self, tx: int, step: str) -> None:
        """Let transaction ``tx`` past ``step`` once it gets there."""
        for _ in range(20):
            if (tx, step) in self.pauses:
                break
            await asyncio.sleep(0)
        self.pauses.pop((tx, step)).set()
        await asyncio.sleep(0)


async def test_the_next_taking_commit_starts_only_when_the_current_one_is_ready() -> None:
    stepper = Stepper()
    group: GroupCommit[int, int] = GroupCommit.taking(stepper.commit, failed=_failed)
    first = [asyncio.ensure_future(group.submit(i)) for i in (1, 2)]
    await stepper.step(1, "begin")  # transaction 1 takes 1 and 2
    more = [asyncio.ensure_future(group.submit(i)) for i in (3, 4)]
    await asyncio.sleep(0)
    assert stepper.started == 1  # 3 and 4 wait: transaction 1 is not ready yet
    await stepper.step(1, "lock")  # transaction 1 holds the lock: transaction 2 starts
    await stepper.step(2, "begin")  # ... and takes 3 and 4
    later = asyncio.ensure_future(group.submit(5))
    await stepper.step(1, "commit")
    assert [await f for f in first] == [10, 20]
    assert stepper.started == 2  # at most one transaction not yet ready
    await stepper.step(2, "lock")
    await stepper.step(3, "begin")
    await stepper.step(2, "commit")
    await stepper.step(3, "lock")
    await stepper.step(3, "commit")
    assert [await f for f in [*more, later]] == [30, 40, 50]
    assert stepper.taken == [[1, 2], [3, 4], [5]]


async def test_a_taking_commit_that_fails_before_taking_fails_what_waits_and_stops() -> None:
    attempts = 0

    async def commit(
        take: Callable[[], list[int]], ready: Callable[[], None]
    ) -> Sequence[int | BaseException]:
        nonlocal attempts
        attempts += 1
        raise OSError("database down")

    group: GroupCommit[int, int] = GroupCommit.taking(commit, failed=_failed)
    outcomes = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert [str(o) for o in outcomes] == ["not stored: database down"] * 3
    assert attempts == 1  # no retry loop: nothing was left waiting


async def test_coalescer_runs_once_more_for_requests_made_while_it_runs() -> None:
    runs = 0
    gate = asyncio.Event()

    async def action() -> None:
        nonlocal runs
        runs += 1
        await gate.wait()

    coalescer = Coalescer(action)
    first = asyncio.ensure_future(coalescer.request())
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(coalescer.request()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *later)
    assert runs == 2


async def test_lanes_drop_a_value_when_its_last_user_leaves() -> None:
    lanes: Lanes[list[int]] = Lanes()
    async with lanes.use("m", list) as one, lanes.use("m", list) as two:
        assert one is two
        assert len(lanes) == 1
    assert len(lanes) == 0


# ---------------------------------------------------------------------- through cast_ballot


@pytest.fixture
async def one_vote_only(world: World) -> str:
    settings = MeetingSettings(duplicate_policy="one-vote-only")  # type: ignore[arg-type]
    return await world.opened(settings=settings)


async def test_one_members_different_ballots_sent_together_one_is_taken(
    world: World, one_vote_only: str
) -> None:
    code = one_vote_only
    sent = [
        signed_ballot(world, code, "member:1-101", {"M1": choice})
        for choice in ("agree", "oppose", "abstain")
    ]
    sent.append(signed_ballot(world, code, "member:2-101", {"M1": "agree"}))
    outcomes = await asyncio.gather(
        *(ballots.cast_ballot(world.ctx, code, raw, sig) for raw, sig in sent),
        return_exceptions=True,
    )
    refused = [o.code for o in outcomes if isinstance(o, ServiceError)]
    assert refused == ["already_voted", "already_voted"]
    assert not isinstance(outcomes[3], BaseException)
    assert (await turnout.turnout(world.ctx, code)).ballots == 2


async def test_the_same_ballot_sent_together_is_logged_once_with_one_receipt(
    world: World, one_vote_only: str
) -> None:
    raw, sig = signed_ballot(world, one_vote_only, "member:1-102", {"M1": "agree"})
    receipts = await asyncio.gather(
        *(ballots.cast_ballot(world.ctx, one_vote_only, raw, sig) for _ in range(4))
    )
    assert all(r == receipts[0] for r in receipts)
    assert (await turnout.turnout(world.ctx, one_vote_only)).ballots == 1


async def test_a_failed_transaction_stores_nothing_and_the_ballots_can_be_sent_again(
    world: World, one_vote_only: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = one_vote_only
    sent = [
        signed_ballot(world, code, member, {"M1": "agree"})
        for member in ("member:1-101", "member:1-102", "member:2-101")
    ]
    store = batch._store  # the step inside the batch's transaction

    async def store_then_fail(*args: Any, **kwargs: Any) -> Any:
        await store(*args, **kwargs)  # everything written, then the transaction fails
        raise ConnectionError("database went away before commit")

    monkeypatch.setattr(batch, "_store", store_then_fail)
    outcomes = await asyncio.gather(
        *(ballots.cast_ballot(world.ctx, code, raw, sig) for raw, sig in sent),
        return_exceptions=True,
    )
    assert [(o.code, o.status) for o in outcomes if isinstance(o, ServiceError)] == [
        ("ballot_not_stored", 503)
    ] * 3
    assert (await turnout.turnout(world.ctx, code)).ballots == 0
    monkeypatch.setattr(batch, "_store", store)
    receipts = await asyncio.gather(
        *(ballots.cast_ballot(world.ctx, code, raw, sig) for raw, sig in sent)
    )
    assert len({r.body.index for r in receipts}) == 3
    assert (await turnout.turnout(world.ctx, code)).ballots == 3
