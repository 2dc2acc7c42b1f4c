"""Properties of the tally on random estates, checked against an independent Fraction oracle."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from typing import Any

import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.votes.tally_support import at
from votes.model import (
    BallotRow,
    Channel,
    DuplicatePolicy,
    InvalidBallots,
    Member,
    Motion,
    MotionType,
    NonVoterRule,
    Roster,
    Rulebook,
    TallySettings,
    Unit,
    UnitKind,
)
from votes.tally import MotionResult, TallyResult, tally
from votes.tally_json import result_to_dict

YES_NO_CHOICES = [None, "agree", "oppose", "abstain", "invalid"]
CANDIDATES = ("A", "B", "C")

_areas = st.one_of(st.integers(1, 4), st.integers(1, 30000))


@st.composite
def rosters(draw: st.DrawFn, max_members: int = 14) -> Roster:
    count = draw(st.integers(0, max_members))
    members = []
    for i in range(count):
        owner = frozenset({f"o{i}"})
        units = tuple(
            Unit(
                number=f"u{i}-{j}",
                building=draw(st.sampled_from(["A", "B"])),
                area=draw(_areas),
                owners=owner,
                kind=draw(st.sampled_from([UnitKind.RESIDENTIAL] * 3 + [UnitKind.PARKING])),
            )
            for j in range(draw(st.integers(1, 3)))
        )
        members.append(Member(f"m{i:03d}", units, owner, is_developer=i == 0))
    return Roster(tuple(members))


_settings = st.builds(
    TallySettings,
    rulebook=st.sampled_from(list(Rulebook)),
    duplicate_policy=st.sampled_from(list(DuplicatePolicy)),
    invalid_ballots=st.sampled_from(list(InvalidBallots)),
    non_voters=st.sampled_from(list(NonVoterRule)),
    include_parking_area=st.booleans(),
)
_scopes = st.sampled_from([None, frozenset({"A"}), frozenset({"B"}), frozenset({"A", "B"})])
_yes_no = st.builds(
    Motion, id=st.just("m"), title=st.just("t"), item=st.integers(1, 9), scope=_scopes
)
_election = st.builds(
    Motion,
    id=st.just("e"),
    title=st.just("t"),
    item=st.integers(1, 9),
    type=st.just(MotionType.ELECTION),
    seats=st.integers(1, 2),
    candidates=st.just(CANDIDATES),
    scope=_scopes,
)
_choose = st.builds(
    Motion,
    id=st.just("c"),
    title=st.just("t"),
    item=st.integers(1, 9),
    type=st.just(MotionType.CHOOSE_ONE),
    candidates=st.just(CANDIDATES),
    scope=_scopes,
)


def _ballots_for(
    draw: st.DrawFn, roster: Roster, motion: Motion, *, duplicates: bool
) -> list[BallotRow]:
    if motion.type == MotionType.YES_NO:
        choices = st.sampled_from(YES_NO_CHOICES)
    else:
        choices = st.sampled_from([None, "abstain", "invalid", "A", "B", "C", "A;B", "B;C", "Z"])
    rows = []
    for member in roster.members:
        for _ in range(draw(st.integers(1, 3)) if duplicates else 1):
            choice = draw(choices)
            if choice is not None:
                rows.append(
                    BallotRow(
                        member.id,
                        motion.id,
                        choice,
                        channel=draw(st.sampled_from(list(Channel))),
                        time=draw(st.none() | st.integers(0, 50).map(at)),
                        seq=draw(st.integers(0, 50)),
                    )
                )
    return rows


@st.composite
def scenarios(
    draw: st.DrawFn, *, duplicates: bool = True, kinds: str = "all"
) -> tuple[Roster, list[Motion], list[BallotRow], TallySettings]:
    roster = draw(rosters())
    motions = [draw(_yes_no)]
    if kinds == "all":
        motions += [draw(_election), draw(_choose)]
    ballots = [
        row
        for motion in motions
        for row in _ballots_for(draw, roster, motion, duplicates=duplicates)
    ]
    return roster, motions, ballots, draw(_settings)


def run(
    roster: Roster, motions: list[Motion], ballots: list[BallotRow], the_settings: TallySettings
) -> TallyResult:
    return tally(roster=roster, motions=motions, ballots=ballots, settings=the_settings)


# --------------------------------------------------------------------------- the oracle


def _oracle_weight(member: Member, motion: Motion, include_parking: bool) -> tuple[int, int]:
    counted = [
        u
        for u in member.units
        if (motion.scope is None or u.building in motion.scope)
        and (include_parking or u.kind != UnitKind.PARKING)
    ]
    return (sum(u.area for u in counted), 1 if counted else 0)


def _reaches(part: int, whole: int, limit: Fraction, strict: bool) -> bool:
    if whole == 0:
        return False
    ratio = Fraction(part, whole)
    return ratio > limit if strict else ratio >= limit


def oracle(
    roster: Roster, motion: Motion, choices: dict[str, str], s: TallySettings
) -> tuple[bool, bool]:
    """(quorum met, passed) for a yes/no motion, strict non-voters, straight from docs/legal.md."""
    total = [0, 0]
    sums: dict[str, list[int]] = {c: [0, 0] for c in ("agree", "oppose", "abstain", "invalid")}
    for member in roster.members:
        area, heads = _oracle_weight(member, motion, s.include_parking_area)
        if not heads:
            continue
        total[0] += area
        total[1] += heads
        if member.id in choices:
            sums[choices[member.id]][0] += area
            sums[choices[member.id]][1] += heads
    kinds = ["agree", "oppose", "abstain"]
    if s.invalid_ballots == InvalidBallots.PARTICIPATING:
        kinds.append("invalid")
    part = [sum(sums[k][d] for k in kinds) for d in (0, 1)]
    agree = sums["agree"]
    if s.rulebook == Rulebook.CIVIL_CODE_2021:
        quorum = all(_reaches(part[d], total[d], Fraction(2, 3), False) for d in (0, 1))
        if motion.item in (6, 7, 8):
            consent = all(_reaches(agree[d], part[d], Fraction(3, 4), False) for d in (0, 1))
        else:
            consent = all(_reaches(agree[d], part[d], Fraction(1, 2), True) for d in (0, 1))
    else:
        quorum = True
        if motion.item in (5, 6, 7):
            consent = all(_reaches(agree[d], total[d], Fraction(2, 3), False) for d in (0, 1))
        else:
            consent = all(_reaches(agree[d], total[d], Fraction(1, 2), True) for d in (0, 1))
    return quorum, quorum and consent and part[1] > 0


@given(scenario=scenarios(duplicates=False, kinds="yes-no"))
@settings(max_examples=200, deadline=None)
def test_yes_no_outcome_matches_the_fraction_oracle(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings],
) -> None:
    roster, motions, ballots, s = scenario
    s = replace(s, non_voters=NonVoterRule.STRICT)
    result = run(roster, motions, ballots, s).motions[0]
    choices = {row.member_id: row.choice for row in ballots}
    assert (result.quorum_met, result.passed) == oracle(roster, motions[0], choices, s)


# --------------------------------------------------------------------------- properties


def _switch_to_agree(ballots: list[BallotRow], member_id: str) -> list[BallotRow]:
    kept = [r for r in ballots if r.member_id != member_id]
    return [*kept, BallotRow(member_id, "m", "agree", seq=0)]


@given(scenario=scenarios(duplicates=False, kinds="yes-no"), data=st.data())
@settings(max_examples=120, deadline=None)
def test_one_more_agreeing_member_never_turns_a_pass_into_a_fail(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings], data: st.DataObject
) -> None:
    roster, motions, ballots, s = scenario
    voted = {r.member_id: r.choice for r in ballots}
    switchable = [m.id for m in roster.members if voted.get(m.id) in (None, "oppose")]
    assume(switchable)
    member_id = data.draw(st.sampled_from(switchable))
    before = run(roster, motions, ballots, s).motions[0]
    after = run(roster, motions, _switch_to_agree(ballots, member_id), s).motions[0]
    if before.passed:
        assert after.passed
    # Participation only grows under the strict rule; under follow-majority the
    # non-voters may stop being added when the majority of cast ballots blurs.
    if before.quorum_met and s.non_voters == NonVoterRule.STRICT:
        assert after.quorum_met


@given(scenario=scenarios(), data=st.data())
@settings(max_examples=60, deadline=None)
def test_the_result_does_not_depend_on_ballot_order(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings], data: st.DataObject
) -> None:
    roster, motions, ballots, s = scenario
    shuffled = data.draw(st.permutations(ballots))
    assert result_to_dict(run(roster, motions, ballots, s)) == result_to_dict(
        run(roster, motions, shuffled, s)
    )


def _scaled(roster: Roster, k: int) -> Roster:
    return Roster(
        tuple(
            replace(m, units=tuple(replace(u, area=u.area * k) for u in m.units))
            for m in roster.members
        )
    )


def _outcome(result: MotionResult) -> tuple[object, ...]:
    return (result.quorum_met, result.passed, result.won, result.tie, result.non_voters.applied)


@given(scenario=scenarios(), k=st.integers(2, 1000))
@settings(max_examples=60, deadline=None)
def test_scaling_every_area_leaves_every_outcome_unchanged(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings], k: int
) -> None:
    roster, motions, ballots, s = scenario
    plain = run(roster, motions, ballots, s)
    scaled = run(_scaled(roster, k), motions, ballots, s)
    assert [_outcome(m) for m in plain.motions] == [_outcome(m) for m in scaled.motions]
    for a, b in zip(plain.motions, scaled.motions, strict=True):
        assert b.totals.area == k * a.totals.area
        assert b.agree.area == k * a.agree.area


@given(scenario=scenarios())
@settings(max_examples=80, deadline=None)
def test_choices_add_up_to_participation(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings],
) -> None:
    roster, motions, ballots, s = scenario
    counted_invalid = s.invalid_ballots == InvalidBallots.PARTICIPATING
    for m in run(roster, motions, ballots, s).motions:
        for dim in ("area", "heads"):
            parts = [getattr(getattr(m, k), dim) for k in ("agree", "oppose", "abstain")]
            if counted_invalid:
                parts.append(getattr(m.invalid, dim))
            assert sum(parts) == getattr(m.participating, dim)
            assert getattr(m.participating, dim) <= getattr(m.totals, dim)
        assert m.passed is (m.reason is None)
        if m.motion.type == MotionType.ELECTION:
            assert len(m.won) <= m.motion.seats
            assert not set(m.won) & set(m.tie)


def _walk(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _walk(item)
    elif isinstance(value, list):
        for item in value:
            _walk(item)
    else:
        assert value is None or isinstance(value, str | int | bool), type(value)
        assert not isinstance(value, float)


@given(scenario=scenarios())
@settings(max_examples=60, deadline=None)
def test_result_dict_is_plain_canonical_json_without_floats(
    scenario: tuple[Roster, list[Motion], list[BallotRow], TallySettings],
) -> None:
    roster, motions, ballots, s = scenario
    data = result_to_dict(run(roster, motions, ballots, s))
    _walk(data)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert json.loads(rfc8785.dumps(data)) == data
    # every area is a decimal string with exactly two decimals

    for motion in data["motions"]:
        for key in ("totals", "participating", "agree", "oppose", "abstain", "invalid"):
            whole, _, cents = motion[key]["area"].partition(".")
            assert whole.isdigit()
            assert len(cents) == 2
            assert cents.isdigit()
