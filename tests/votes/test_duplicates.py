"""One effective ballot per member and motion, under each duplicate policy (docs/legal.md §3)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.votes.tally_support import at, row
from votes.duplicates import resolve_by_choice, resolve_duplicates
from votes.model import BallotRow, Channel, DuplicatePolicy

ALL_POLICIES = list(DuplicatePolicy)


def test_single_rows_pass_through_unchanged() -> None:
    rows = [row("b", "agree"), row("a", "oppose"), row("a", "agree", motion="n")]
    resolution = resolve_duplicates(rows, DuplicatePolicy.ONE_VOTE_ONLY)
    assert set(resolution.effective) == set(rows)
    assert resolution.conflicts == ()
    assert resolution.duplicates == ()


def test_effective_rows_are_sorted_by_motion_then_member() -> None:
    rows = [row("b", "agree", motion="2"), row("a", "agree", motion="2"), row("c", "x", motion="1")]
    effective = resolve_duplicates(rows, DuplicatePolicy.LATEST_WINS).effective
    assert [(r.motion_id, r.member_id) for r in effective] == [("1", "c"), ("2", "a"), ("2", "b")]


def test_agreeing_rows_of_co_owners_count_once_and_are_not_a_conflict() -> None:
    rows = [
        row("m1", "agree", time=at(1), seq=1, unit_number="1-101"),
        row("m1", "agree", time=at(2), seq=2, unit_number="1-101"),
    ]
    resolution = resolve_duplicates(rows, DuplicatePolicy.ONE_VOTE_ONLY)
    assert len(resolution.effective) == 1
    assert resolution.conflicts == ()
    assert [(d.member_id, d.motion_id, d.rows) for d in resolution.duplicates] == [("m1", "m", 2)]


def test_rows_on_different_motions_are_not_duplicates() -> None:
    rows = [row("m1", "agree", motion="x"), row("m1", "oppose", motion="y")]
    resolution = resolve_duplicates(rows, DuplicatePolicy.ONE_VOTE_ONLY)
    assert len(resolution.effective) == 2
    assert resolution.conflicts == ()


def test_one_vote_only_takes_the_earliest_time() -> None:
    late = row("m1", "agree", time=at(10), seq=1)
    early = row("m1", "oppose", time=at(5), seq=2)
    resolution = resolve_duplicates([late, early], DuplicatePolicy.ONE_VOTE_ONLY)
    assert resolution.effective == (early,)
    (conflict,) = resolution.conflicts
    assert conflict.rows == (early, late)
    assert conflict.taken == early
    assert conflict.taken_index == 0
    assert conflict.rule == "one-vote-only"


def test_equal_times_are_ordered_by_seq() -> None:
    second = row("m1", "agree", time=at(5), seq=8)
    first = row("m1", "oppose", time=at(5), seq=7)
    assert resolve_duplicates([second, first], DuplicatePolicy.ONE_VOTE_ONLY).effective == (first,)
    assert resolve_duplicates([first, second], DuplicatePolicy.LATEST_WINS).effective == (second,)


def test_rows_without_time_come_after_timed_rows_whatever_their_seq() -> None:
    untimed = row("m1", "agree", seq=1)
    timed = row("m1", "oppose", time=at(60), seq=99)
    assert resolve_duplicates([untimed, timed], DuplicatePolicy.ONE_VOTE_ONLY).effective == (timed,)
    assert resolve_duplicates([untimed, timed], DuplicatePolicy.LATEST_WINS).effective == (untimed,)


def test_rows_without_time_are_ordered_by_seq() -> None:
    a = row("m1", "agree", seq=2)
    b = row("m1", "oppose", seq=1)
    assert resolve_duplicates([a, b], DuplicatePolicy.ONE_VOTE_ONLY).effective == (b,)


def test_naive_times_are_read_as_utc() -> None:
    naive = row("m1", "agree", time=datetime(2025, 3, 1, 9, 30), seq=1)
    aware = row("m1", "oppose", time=at(10), seq=2)  # 09:10 UTC
    assert resolve_duplicates([naive, aware], DuplicatePolicy.ONE_VOTE_ONLY).effective == (aware,)


def test_latest_wins_takes_the_last_time() -> None:
    first = row("m1", "agree", time=at(1), seq=5)
    changed = row("m1", "oppose", time=at(2), seq=1)
    resolution = resolve_duplicates([changed, first], DuplicatePolicy.LATEST_WINS)
    assert resolution.effective == (changed,)
    assert resolution.conflicts[0].rule == "latest-wins"


def test_online_prevails_over_a_later_paper_ballot() -> None:
    online = row("m1", "agree", channel=Channel.ONLINE, time=at(1), seq=1)
    paper = row("m1", "oppose", channel=Channel.PAPER, time=at(9), seq=2)
    assert resolve_duplicates([paper, online], DuplicatePolicy.ONLINE_PREVAILS).effective == (
        online,
    )


def test_online_prevails_over_proxy() -> None:
    online = row("m1", "agree", channel=Channel.ONLINE, time=at(1), seq=1)
    proxy = row("m1", "oppose", channel=Channel.PROXY, time=at(9), seq=2)
    assert resolve_duplicates([proxy, online], DuplicatePolicy.ONLINE_PREVAILS).effective == (
        online,
    )


def test_online_prevails_takes_the_latest_online_row() -> None:
    first = row("m1", "agree", channel=Channel.ONLINE, time=at(1), seq=1)
    second = row("m1", "oppose", channel=Channel.ONLINE, time=at(2), seq=2)
    paper = row("m1", "abstain", channel=Channel.PAPER, time=at(3), seq=3)
    effective = resolve_duplicates([first, second, paper], DuplicatePolicy.ONLINE_PREVAILS)
    assert effective.effective == (second,)


def test_online_prevails_without_online_rows_takes_the_latest() -> None:
    paper = row("m1", "agree", channel=Channel.PAPER, time=at(1), seq=1)
    proxy = row("m1", "oppose", channel=Channel.PROXY, time=at(2), seq=2)
    resolution = resolve_duplicates([proxy, paper], DuplicatePolicy.ONLINE_PREVAILS)
    assert resolution.effective == (proxy,)
    assert "no online row" in resolution.conflicts[0].en


def test_paper_prevails_over_a_later_online_ballot() -> None:
    paper = row("m1", "agree", channel=Channel.PAPER, time=at(1), seq=1)
    online = row("m1", "oppose", channel=Channel.ONLINE, time=at(9), seq=2)
    resolution = resolve_duplicates([online, paper], DuplicatePolicy.PAPER_PREVAILS)
    assert resolution.effective == (paper,)
    assert resolution.conflicts[0].rule == "paper-prevails"


def test_paper_prevails_without_paper_rows_takes_the_latest() -> None:
    online = row("m1", "agree", channel=Channel.ONLINE, time=at(5), seq=1)
    proxy = row("m1", "oppose", channel=Channel.PROXY, time=at(2), seq=2)
    assert resolve_duplicates([online, proxy], DuplicatePolicy.PAPER_PREVAILS).effective == (
        online,
    )


def test_election_selections_in_another_order_agree() -> None:
    rows = [row("m1", "张三;李四", seq=1), row("m1", " 李四 ; 张三", seq=2)]
    resolution = resolve_duplicates(rows, DuplicatePolicy.ONE_VOTE_ONLY)
    assert resolution.conflicts == ()
    assert len(resolution.duplicates) == 1


def test_a_conflict_lists_every_row_of_the_member() -> None:
    rows = [
        row("m1", "agree", seq=3, unit_number="101"),
        row("m1", "agree", seq=1, unit_number="102"),
        row("m1", "oppose", seq=2, unit_number="103"),
    ]
    (conflict,) = resolve_duplicates(rows, DuplicatePolicy.ONE_VOTE_ONLY).conflicts
    assert [r.unit for r in conflict.rows] == ["102", "103", "101"]
    assert conflict.taken.unit == "102"
    assert (conflict.member_id, conflict.motion_id) == ("m1", "m")


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="bogus"):
        resolve_duplicates([row("a", "agree")], "bogus")  # type: ignore[arg-type]


_rows = st.lists(
    st.builds(
        BallotRow,
        member_id=st.sampled_from(["a", "b", "c"]),
        motion_id=st.sampled_from(["x", "y"]),
        choice=st.sampled_from(["agree", "oppose", "abstain"]),
        channel=st.sampled_from(list(Channel)),
        time=st.none() | st.integers(0, 5).map(at),
        seq=st.integers(0, 5),
        unit=st.none() | st.sampled_from(["101", "102"]),
    ),
    max_size=12,
)


@given(rows=_rows, policy=st.sampled_from(ALL_POLICIES), data=st.data())
@settings(max_examples=200)
def test_resolution_does_not_depend_on_row_order(
    rows: list[BallotRow], policy: DuplicatePolicy, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(rows))
    assert resolve_duplicates(rows, policy) == resolve_duplicates(shuffled, policy)


@given(rows=_rows, policy=st.sampled_from(ALL_POLICIES))
@settings(max_examples=200)
def test_exactly_one_effective_row_per_member_and_motion_taken_from_its_rows(
    rows: list[BallotRow], policy: DuplicatePolicy
) -> None:
    effective = resolve_duplicates(rows, policy).effective
    keys = [(r.member_id, r.motion_id) for r in effective]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(r.member_id, r.motion_id) for r in rows}
    assert all(r in rows for r in effective)


@given(rows=_rows, policy=st.sampled_from(ALL_POLICIES))
@settings(max_examples=200)
def test_conflicts_are_exactly_the_groups_with_different_choices(
    rows: list[BallotRow], policy: DuplicatePolicy
) -> None:
    resolution = resolve_duplicates(rows, policy)
    choices: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        choices.setdefault((r.member_id, r.motion_id), set()).add(r.choice)
    expected = {key for key, seen in choices.items() if len(seen) > 1}
    assert {(c.member_id, c.motion_id) for c in resolution.conflicts} == expected
    for conflict in resolution.conflicts:
        assert conflict.taken in resolution.effective


def test_the_same_row_object_given_twice_does_not_hide_a_row_between() -> None:
    a = row("m1", "agree", seq=1)
    b = row("m1", "oppose", seq=2)
    resolution = resolve_duplicates([a, b, a], DuplicatePolicy.LATEST_WINS)
    (conflict,) = resolution.conflicts
    assert conflict.rows == (a, a, b)
    assert resolution.effective == (b,)


@given(rows=_rows, policy=st.sampled_from(ALL_POLICIES))
@settings(max_examples=200)
def test_the_tallys_one_pass_form_agrees_with_resolve_duplicates(
    rows: list[BallotRow], policy: DuplicatePolicy
) -> None:
    reference = resolve_duplicates(rows, policy)
    by_choice, conflicts, duplicates = resolve_by_choice(rows, policy)
    flattened = [
        (motion_id, member_id, choice)
        for motion_id, choices in by_choice.items()
        for choice, members in choices.items()
        for member_id in members
    ]
    assert sorted(flattened) == sorted(
        (r.motion_id, r.member_id, r.choice) for r in reference.effective
    )
    assert all(members for choices in by_choice.values() for members in choices.values())
    assert sorted(conflicts, key=lambda c: (c.motion_id, c.member_id)) == list(reference.conflicts)
    assert sorted(duplicates, key=lambda d: (d.motion_id, d.member_id)) == list(
        reference.duplicates
    )
