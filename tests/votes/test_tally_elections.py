"""Elections of N seats and choose-one motions: each candidate/option needs the double majority."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.votes.tally_support import m2, single, unit
from votes.model import (
    BallotRow,
    Motion,
    MotionType,
    NonVoterRule,
    Roster,
    Rulebook,
    TallySettings,
)
from votes.tally import Count, MotionResult, OptionResult, tally

Voter = tuple[str | None, str]  # (choice or None for no ballot, area in m²)


def run(voters: Sequence[Voter], motion: Motion, **settings: object) -> MotionResult:
    members = []
    ballots = []
    for n, (choice, area) in enumerate(voters, start=1):
        member_id = f"v{n:02d}"
        members.append(single(member_id, unit(f"u{n}", m2(area))))
        if choice is not None:
            ballots.append(BallotRow(member_id, motion.id, choice, seq=n))
    return tally(
        roster=Roster(tuple(members)),
        motions=[motion],
        ballots=ballots,
        settings=TallySettings(**settings),  # type: ignore[arg-type]
    ).motions[0]


def election(seats: int, *names: str, item: int = 3) -> Motion:
    return Motion("e", "选举业主委员会委员", item, MotionType.ELECTION, seats, tuple(names))


def choose(*names: str, item: int = 4) -> Motion:
    return Motion("c", "选聘物业服务企业", item, MotionType.CHOOSE_ONE, 1, tuple(names))


def by_name(result: MotionResult) -> dict[str, OptionResult]:
    return {o.name: o for o in result.options}


def many(choice: str | None, area: str, count: int) -> list[Voter]:
    return [(choice, area)] * count


def same_area(*groups: tuple[str | None, int]) -> list[Voter]:
    return [(choice, "100") for choice, count in groups for _ in range(count)]


# --------------------------------------------------------------------------- elections


def test_candidates_with_a_double_majority_are_elected_in_rank_order() -> None:
    # B 6, A 8, C 4 heads of 10 participating: A and B exceed half
    voters = same_area(("B;A", 6), ("A;C", 2), ("C", 2))
    result = run(voters, election(2, "A", "B", "C"))
    assert result.won == ("A", "B")
    assert result.passed is True
    assert result.tie == ()
    options = by_name(result)
    assert options["A"].agree == Count(m2("800"), 8)
    assert options["C"].reached is False
    assert [o.won for o in result.options] == [True, True, False]


def test_each_candidate_reports_its_threshold_check() -> None:
    result = run(same_area(("A", 6), ("B", 4)), election(1, "A", "B"))
    check = by_name(result)["B"].consent
    assert check.threshold.rule == "> 1/2"
    assert (check.heads.part, check.heads.whole) == (4, 10)
    assert (check.area.part, check.area.whole) == (m2("400"), m2("1000"))
    assert check.met is False


def test_equal_heads_are_ranked_by_area() -> None:
    # A 7 heads 760 m², B 7 heads 700 m², C 6 heads 660 m²; all reach, 2 seats
    voters = many("A;B", "100", 4) + many("A;C", "120", 3) + many("B;C", "100", 3)
    result = run(voters, election(2, "C", "B", "A"))
    assert result.won == ("A", "B")
    assert result.tie == ()
    assert all(o.reached for o in result.options)


def test_a_tie_at_the_last_seat_elects_neither_and_is_reported() -> None:
    # A 8, B 6, C 6 of 10 (equal areas): A wins, B and C tie for the second seat
    voters = same_area(("A;B", 4), ("A;C", 4), ("B;C", 2))
    result = run(voters, election(2, "A", "B", "C"))
    assert result.won == ("A",)
    assert set(result.tie) == {"B", "C"}
    assert result.passed is False
    assert result.reason is not None
    assert result.reason.code == "tie-blocks-seats"
    assert "1 seat" in result.reason.en
    assert by_name(result)["B"].reached is True
    assert by_name(result)["B"].won is False


def test_a_tie_that_fits_within_the_seats_elects_all_of_them() -> None:
    # A 7, B 7, C 6 of 10: A and B tie but both fit in 2 seats
    voters = same_area(("A;B", 4), ("A;C", 3), ("B;C", 3))
    result = run(voters, election(2, "A", "B", "C"))
    assert set(result.won) == {"A", "B"}
    assert result.tie == ()
    assert result.passed is True


def test_a_three_way_tie_for_two_seats_blocks_both() -> None:
    voters = same_area(("A;B", 3), ("A;C", 3), ("B;C", 3))
    result = run(voters, election(2, "A", "B", "C"))
    assert result.won == ()
    assert set(result.tie) == {"A", "B", "C"}
    assert result.reason is not None
    assert "2 seat" in result.reason.en


def test_equal_heads_but_different_area_is_not_a_tie() -> None:
    # as the tie above (A 8, B 6, C 6 heads) but one B voter holds 0.01 m² more
    voters = many("A;B", "100.01", 1) + many("A;B", "100", 3) + many("A;C", "100", 4)
    voters += many("B;C", "100", 2)
    result = run(voters, election(2, "A", "B", "C"))
    assert result.won == ("A", "B")


def test_a_candidate_with_area_but_not_heads_is_not_reached() -> None:
    # A: 2 of 5 heads but 1000 of 1300 m²
    voters: list[Voter] = [("A", "500"), ("A", "500"), ("B", "100"), ("B", "100"), ("B", "100")]
    result = run(voters, election(1, "A", "B"))
    options = by_name(result)
    assert options["A"].consent.area.met is True
    assert options["A"].reached is False
    assert options["B"].reached is False  # 300 of 1300 m²
    assert result.won == ()
    assert result.reason is not None
    assert result.reason.code == "seats-unfilled"


def test_fewer_reaching_candidates_than_seats_leaves_seats_unfilled() -> None:
    voters = same_area(("A;B", 6), ("C", 4))
    result = run(voters, election(3, "A", "B", "C"))
    assert set(result.won) == {"A", "B"}
    assert result.passed is False
    assert result.reason is not None
    assert result.reason.code == "seats-unfilled"


def test_selecting_more_candidates_than_seats_is_invalid() -> None:
    voters = same_area(("A;B", 6), ("A;B;C", 1), ("C", 3))
    result = run(voters, election(2, "A", "B", "C"))
    assert result.invalid == Count(m2("100"), 1)
    assert by_name(result)["C"].agree.heads == 3
    assert [n.code for n in result.notes] == ["unrecognised-choice"]


@pytest.mark.parametrize("choice", ["Z", "A;A", "A;", ""])
def test_unknown_or_repeated_names_are_invalid(choice: str) -> None:
    voters = same_area(("A", 6), (choice, 1))
    result = run(voters, election(2, "A", "B"))
    assert result.invalid.heads == 1
    assert by_name(result)["A"].agree.heads == 6


def test_abstentions_are_in_the_election_denominator() -> None:
    # A gets 5 of 10 participating: exactly half, not elected
    result = run(same_area(("A", 5), ("abstain", 5)), election(1, "A", "B"))
    assert result.participating.heads == 10
    assert result.abstain.heads == 5
    assert result.won == ()


def test_no_one_is_elected_without_the_quorum() -> None:
    # 6 of 10 participate (< 2/3); A has all their votes
    result = run(same_area(("A", 6), (None, 4)), election(1, "A", "B"))
    assert result.quorum_met is False
    assert by_name(result)["A"].reached is True
    assert result.won == ()
    assert result.reason is not None
    assert result.reason.code == "quorum-not-met"


def test_motion_level_counts_of_an_election() -> None:
    voters = same_area(("A;B", 6), ("abstain", 2), ("invalid", 1), (None, 1))
    result = run(voters, election(2, "A", "B"))
    assert result.agree == Count(m2("600"), 6)  # valid selections
    assert result.oppose == Count(0, 0)
    assert result.participating == Count(m2("900"), 9)
    assert result.consent is None


def test_an_election_under_the_property_law_counts_against_the_total() -> None:
    # A: 6 of 12 members (all equal): not > 1/2 of all; with 7 it is
    six = run(same_area(("A", 6), (None, 6)), election(1, "A"), rulebook=Rulebook.PROPERTY_LAW_2007)
    assert six.won == ()
    seven = run(
        same_area(("A", 7), (None, 5)), election(1, "A"), rulebook=Rulebook.PROPERTY_LAW_2007
    )
    assert seven.won == ("A",)
    assert seven.passed is True


def test_follow_majority_is_never_applied_to_an_election() -> None:
    result = run(
        same_area(("A", 7), (None, 3)),
        election(1, "A"),
        non_voters=NonVoterRule.FOLLOW_MAJORITY,
    )
    assert result.non_voters.applied is False
    assert result.non_voters.reason.code == "not-yes-no"
    assert result.non_voters.count == Count(m2("300"), 3)
    assert result.participating.heads == 7


# --------------------------------------------------------------------------- choose-one


def test_choose_one_chooses_the_option_with_a_double_majority() -> None:
    result = run(same_area(("X", 6), ("Y", 3), ("Z", 1)), choose("X", "Y", "Z"))
    assert result.won == ("X",)
    assert result.passed is True
    options = by_name(result)
    assert options["X"].won is True
    assert options["Y"].agree == Count(m2("300"), 3)
    assert options["Y"].won is False


def test_choose_one_with_no_majority_chooses_none() -> None:
    result = run(same_area(("X", 5), ("Y", 4), ("Z", 1)), choose("X", "Y", "Z"))
    assert result.won == ()
    assert result.passed is False
    assert result.reason is not None
    assert result.reason.code == "no-option-reached"


def test_choose_one_needs_heads_as_well_as_area() -> None:
    voters: list[Voter] = [("X", "900"), ("Y", "100"), ("Y", "100")]
    result = run(voters, choose("X", "Y"))
    assert by_name(result)["X"].consent.area.met is True
    assert result.won == ()


@pytest.mark.parametrize(("agreeing", "chosen"), [(7, False), (8, True)])
def test_choose_one_on_item_8_needs_three_quarters(agreeing: int, chosen: bool) -> None:
    voters = same_area(("X", agreeing), ("Y", 10 - agreeing))
    result = run(voters, choose("X", "Y", item=8))
    assert result.passed is chosen


def test_choose_one_with_an_unknown_option_is_invalid() -> None:
    result = run(same_area(("X", 6), ("W", 1)), choose("X", "Y"))
    assert result.invalid.heads == 1
    assert result.won == ("X",)


def test_choose_one_selecting_two_options_is_invalid() -> None:
    result = run(same_area(("X", 6), ("X;Y", 1)), choose("X", "Y"))
    assert result.invalid.heads == 1


# --------------------------------------------------------------------------- refused motions


@pytest.mark.parametrize(
    ("motion", "message"),
    [
        (Motion("e", "t", 3, MotionType.ELECTION, 1, ()), "no candidates"),
        (Motion("c", "t", 3, MotionType.CHOOSE_ONE, 1, ()), "no options"),
        (Motion("e", "t", 3, MotionType.ELECTION, 0, ("A",)), "seats"),
        (Motion("e", "t", 3, MotionType.ELECTION, 1, ("A", "A")), "twice"),
        (Motion("e", "t", 3, MotionType.ELECTION, 1, ("abstain",)), "reserved"),
        (Motion("e", "t", 3, MotionType.ELECTION, 1, ("A;B",)), "';'"),
    ],
)
def test_motions_that_cannot_be_counted_are_refused(motion: Motion, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tally(roster=Roster(()), motions=[motion], ballots=[], settings=TallySettings())
