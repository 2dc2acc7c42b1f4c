"""The tally of yes/no motions: docs/legal.md §5 examples, every boundary, and each setting.

Expected outcomes come from docs/legal.md (its worked examples and rules), worked by
hand here; estates are built by tests/votes/tally_support.py.
"""

from __future__ import annotations

import pytest

from tests.votes.tally_support import at, case, estate, m2, run, single, unit
from votes.model import (
    DEVELOPER_MEMBER_ID,
    BallotRow,
    Channel,
    DuplicatePolicy,
    InvalidBallots,
    Motion,
    NonVoterRule,
    Roster,
    Rulebook,
    TallySettings,
    UnitKind,
    UnitStatus,
)
from votes.roster import group_members
from votes.tally import Count, tally

CIVIL = Rulebook.CIVIL_CODE_2021
PROPERTY = Rulebook.PROPERTY_LAW_2007

# --------------------------------------------------------------------------- docs/legal.md §5


@pytest.mark.parametrize(
    ("total", "participating", "agree", "item", "passed", "code"),
    [
        # participation exactly 2/3 counts
        (("3000", 300), ("2000", 200), ("1500", 150), 4, True, None),
        # agree area exactly half is not 过半数
        (("1000", 100), ("800", 80), ("400", 41), 4, False, "consent-not-met"),
        # exactly 3/4 counts
        (("1000", 100), ("800", 80), ("600", 60), 8, True, None),
        # area passes, heads fail
        (("10000", 100), ("8000", 70), ("6000", 30), 4, False, "consent-not-met"),
        # same numbers: using the fund passes, raising it fails
        (("1000", 100), ("700", 70), ("500", 50), 5, True, None),
        (("1000", 100), ("700", 70), ("500", 50), 6, False, "consent-not-met"),
    ],
)
def test_legal_worked_examples(  # noqa: PLR0917 (one parameter per column of docs/legal.md §5)
    total: tuple[str, int],
    participating: tuple[str, int],
    agree: tuple[str, int],
    item: int,
    passed: bool,
    code: str | None,
) -> None:
    result = run(case(total=total, participating=participating, agree=agree), item=item)
    assert result.passed is passed
    assert result.quorum_met is True
    assert (result.reason.code if result.reason else None) == code


def test_legal_example_area_passes_heads_fail_reports_the_heads_shortfall() -> None:
    result = run(case(total=("10000", 100), participating=("8000", 70), agree=("6000", 30)), item=4)
    assert result.consent is not None
    assert result.consent.area.met is True
    assert result.consent.heads.met is False
    assert result.reason is not None
    assert "heads 30 / 70" in result.reason.en
    assert "area" not in result.reason.en.split(":", 1)[1]


def test_legal_example_one_reports_the_exact_quorum_fraction() -> None:
    result = run(
        case(total=("3000", 300), participating=("2000", 200), agree=("1500", 150)), item=4
    )
    assert result.quorum is not None
    assert (result.quorum.area.part, result.quorum.area.whole) == (m2("2000"), m2("3000"))
    assert (result.quorum.heads.part, result.quorum.heads.whole) == (200, 300)
    assert result.quorum.threshold.rule == "≥ 2/3"
    assert result.totals == Count(m2("3000"), 300)
    assert result.participating == Count(m2("2000"), 200)
    assert result.agree == Count(m2("1500"), 150)
    assert result.oppose == Count(m2("500"), 50)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("participating", "passed"),
    [
        (("2000", 200), True),  # exactly 2/3 in both
        (("1999.99", 200), False),  # 0.01 m² short
        (("2000", 199), False),  # one head short
        (("2000.01", 201), True),  # one over in both
        (("2000.01", 200), True),
        (("2000", 201), True),
    ],
)
def test_civil_code_quorum_boundary(participating: tuple[str, int], passed: bool) -> None:
    # every participant agrees, so only the quorum can fail
    result = run(case(total=("3000", 300), participating=participating, agree=participating))
    assert result.quorum_met is passed
    assert result.passed is passed
    if not passed:
        assert result.reason is not None
        assert result.reason.code == "quorum-not-met"


@pytest.mark.parametrize(
    ("agree", "passed"),
    [
        (("400", 41), False),  # area exactly half
        (("400.01", 41), True),  # 0.01 m² over half
        (("399.99", 41), False),
        (("500", 40), False),  # heads exactly half
        (("500", 41), True),  # one head over half
        (("500", 39), False),
    ],
)
def test_civil_code_majority_boundary(agree: tuple[str, int], passed: bool) -> None:
    result = run(case(total=("1000", 100), participating=("800", 80), agree=agree), item=1)
    assert result.quorum_met is True
    assert result.passed is passed


@pytest.mark.parametrize(
    ("agree", "passed"),
    [
        (("600", 60), True),  # exactly 3/4
        (("599.99", 60), False),
        (("600", 59), False),
        (("600.01", 61), True),
        (("600.01", 60), True),
    ],
)
@pytest.mark.parametrize("item", [6, 7, 8])
def test_civil_code_three_quarters_boundary(
    agree: tuple[str, int], passed: bool, item: int
) -> None:
    result = run(case(total=("1000", 100), participating=("800", 80), agree=agree), item=item)
    assert result.passed is passed


@pytest.mark.parametrize(
    ("agree", "passed"),
    [
        (("2000", 200), True),  # exactly 2/3 of the total
        (("1999.99", 200), False),
        (("2000", 199), False),
        (("2000.01", 201), True),
    ],
)
@pytest.mark.parametrize("item", [5, 6, 7])
def test_property_law_two_thirds_of_total_boundary(
    agree: tuple[str, int], passed: bool, item: int
) -> None:
    # everyone else opposes: participation is total, so only the consent rule can decide
    result = run(
        case(total=("3000", 300), participating=("3000", 300), agree=agree),
        item=item,
        rulebook=PROPERTY,
    )
    assert result.passed is passed


@pytest.mark.parametrize(
    ("agree", "passed"),
    [
        (("1500", 150), False),  # exactly half of the total
        (("1500.01", 151), True),
        (("1500.01", 150), False),
        (("1500", 151), False),
    ],
)
@pytest.mark.parametrize("item", [1, 2, 3, 4, 8, 9])
def test_property_law_majority_of_total_boundary(
    agree: tuple[str, int], passed: bool, item: int
) -> None:
    result = run(
        case(total=("3000", 300), participating=("3000", 300), agree=agree),
        item=item,
        rulebook=PROPERTY,
    )
    assert result.passed is passed


def test_property_law_counts_against_the_total_not_the_participants() -> None:
    # docs/legal.md §5 row 1 under the old rule: 1500/3000 is not more than half of ALL area.
    built = case(total=("3000", 300), participating=("2000", 200), agree=("1500", 150))
    assert run(built, item=4, rulebook=CIVIL).passed is True
    old = run(built, item=4, rulebook=PROPERTY)
    assert old.passed is False
    assert old.consent is not None
    assert old.consent.threshold.base == "total"
    assert (old.consent.area.part, old.consent.area.whole) == (m2("1500"), m2("3000"))


def test_property_law_has_no_quorum() -> None:
    # 1600/3000 participate (< 2/3): the Civil Code fails on quorum, the old rule passes
    built = case(total=("3000", 300), participating=("1600", 160), agree=("1600", 160))
    civil = run(built, item=4, rulebook=CIVIL)
    assert civil.passed is False
    assert civil.reason is not None
    assert civil.reason.code == "quorum-not-met"
    old = run(built, item=4, rulebook=PROPERTY)
    assert old.quorum is None
    assert old.quorum_met is True
    assert old.passed is True


def test_property_law_change_of_use_needs_only_a_majority_of_total() -> None:
    # item 8: 1600/3000 is > 1/2 but < 2/3 of the total; under the Civil Code 3/4 of participants
    built = case(total=("3000", 300), participating=("3000", 300), agree=("1600", 160))
    assert run(built, item=8, rulebook=PROPERTY).passed is True
    assert run(built, item=7, rulebook=PROPERTY).passed is False


# --------------------------------------------------------------------------- nobody / nothing


@pytest.mark.parametrize("rulebook", list(Rulebook))
def test_nobody_voting_fails_with_a_reason(rulebook: Rulebook) -> None:
    result = run(estate([(None, 10, m2("1000"))]), rulebook=rulebook)
    assert result.passed is False
    assert result.participating == Count(0, 0)
    assert result.reason is not None
    assert result.reason.code == "no-participation"
    assert result.reason.zh
    assert result.reason.en


def test_nobody_voting_reports_no_percentage() -> None:
    result = run(estate([(None, 3, m2("300"))]))
    assert result.consent is not None
    assert (result.consent.area.whole, result.consent.area.met) == (0, False)


@pytest.mark.parametrize("rulebook", list(Rulebook))
def test_a_scope_without_members_fails_with_a_reason(rulebook: Rulebook) -> None:
    built = estate([("agree", 5, m2("500"))])
    result = run(built, motion=Motion("m", "lift in building Z", 5, scope=frozenset({"Z"})))
    assert result.totals == Count(0, 0)
    assert result.passed is False
    assert result.reason is not None
    assert result.reason.code == "empty-scope"


def test_only_invalid_ballots_excluded_means_nobody_participated() -> None:
    result = run(estate([("invalid", 3, m2("300"))]), invalid_ballots=InvalidBallots.EXCLUDED)
    assert result.participating == Count(0, 0)
    assert result.reason is not None
    assert result.reason.code == "no-participation"


# --------------------------------------------------------------------------- abstentions


def test_abstentions_count_towards_the_quorum() -> None:
    # 150 agree + 50 abstain = 200 of 300 participate: exactly 2/3
    built = estate(
        [("agree", 150, m2("1500")), ("abstain", 50, m2("500")), (None, 100, m2("1000"))]
    )
    result = run(built)
    assert result.participating == Count(m2("2000"), 200)
    assert result.abstain == Count(m2("500"), 50)
    assert result.quorum_met is True
    assert result.passed is True


def test_abstentions_count_in_the_consent_denominator() -> None:
    # 100 agree, 50 oppose, 60 abstain: 100 of 210 participating is not a majority
    built = estate(
        [
            ("agree", 100, m2("1000")),
            ("oppose", 50, m2("500")),
            ("abstain", 60, m2("600")),
            (None, 90, m2("900")),
        ]
    )
    result = run(built)
    assert result.quorum_met is True
    assert result.passed is False
    assert result.consent is not None
    assert (result.consent.heads.part, result.consent.heads.whole) == (100, 210)


# --------------------------------------------------------------------------- invalid ballots

INVALID_GROUPS_A = [
    ("agree", 105, m2("105")),
    ("oppose", 80, m2("80")),
    ("invalid", 20, m2("20")),
    (None, 95, m2("95")),
]
INVALID_GROUPS_B = [
    ("agree", 110, m2("110")),
    ("oppose", 95, m2("95")),
    ("invalid", 20, m2("20")),
    (None, 75, m2("75")),
]


def test_invalid_ballots_participating_help_the_quorum() -> None:
    # 205 of 300 participate with the invalid ones, 185 without
    built = estate(INVALID_GROUPS_A)
    counted = run(built, invalid_ballots=InvalidBallots.PARTICIPATING)
    assert counted.participating.heads == 205
    assert counted.passed is True
    excluded = run(built, invalid_ballots=InvalidBallots.EXCLUDED)
    assert excluded.participating.heads == 185
    assert excluded.reason is not None
    assert excluded.reason.code == "quorum-not-met"


def test_invalid_ballots_participating_weigh_against_consent() -> None:
    # 110 agree of 225 (with invalid) is not a majority; of 205 (without) it is
    built = estate(INVALID_GROUPS_B)
    counted = run(built, invalid_ballots=InvalidBallots.PARTICIPATING)
    assert counted.passed is False
    assert counted.reason is not None
    assert counted.reason.code == "consent-not-met"
    assert run(built, invalid_ballots=InvalidBallots.EXCLUDED).passed is True


@pytest.mark.parametrize("setting", list(InvalidBallots))
def test_invalid_ballots_are_reported_and_never_agree(setting: InvalidBallots) -> None:
    result = run(estate(INVALID_GROUPS_B), invalid_ballots=setting)
    assert result.invalid == Count(m2("20"), 20)
    assert result.agree == Count(m2("110"), 110)


def test_an_unrecognised_choice_counts_as_invalid_with_a_note() -> None:
    built = estate([("agree", 3, m2("300")), ("maybe", 1, m2("100"))])
    result = run(built)
    assert result.invalid.heads == 1
    notes = {n.code: n for n in result.notes}
    assert notes["unrecognised-choice"].members == ("g1-4",)


def test_choices_are_read_ignoring_surrounding_spaces() -> None:
    built = estate([(" agree ", 3, m2("300"))])
    assert run(built).agree.heads == 3


# --------------------------------------------------------------------------- members


def _estate_with_multi_unit_owner() -> Roster:
    units = [
        unit("1-101", m2("100"), "王"),
        unit("1-102", m2("80"), "王"),
        unit("1-103", m2("60"), "王"),
        unit("1-201", m2("90"), "李"),
        unit("1-202", m2("90"), "赵"),
    ]
    return group_members(units)


def test_a_multi_unit_owner_is_one_head_with_the_summed_area() -> None:
    roster = _estate_with_multi_unit_owner()
    ballots = [
        BallotRow("member:1-101", "m", "agree", unit="1-101", seq=1),
        BallotRow("member:1-101", "m", "agree", unit="1-102", seq=2),
        BallotRow("member:1-101", "m", "agree", unit="1-103", seq=3),
        BallotRow("member:1-201", "m", "oppose", seq=4),
    ]
    result = tally(
        roster=roster, motions=[Motion("m", "t", 4)], ballots=ballots, settings=TallySettings()
    ).motions[0]
    assert result.totals == Count(m2("420"), 3)
    assert result.agree == Count(m2("240"), 1)
    assert result.participating == Count(m2("330"), 2)
    notes = {n.code: n for n in result.notes}
    assert notes["agreeing-duplicates"].members == ("member:1-101",)


def test_the_developer_is_one_head_for_all_unsold_and_undelivered_units() -> None:
    units = [
        unit("2-101", m2("100"), "开发商", status=UnitStatus.UNSOLD),
        unit("2-102", m2("100"), "开发商", status=UnitStatus.UNSOLD),
        unit("2-103", m2("100"), "买家甲", status=UnitStatus.UNDELIVERED),
        unit("2-201", m2("100"), "钱"),
        unit("2-202", m2("100"), "孙"),
    ]
    roster = group_members(units)
    ballots = [
        BallotRow(DEVELOPER_MEMBER_ID, "m", "agree"),
        BallotRow("member:2-201", "m", "oppose"),
    ]
    result = tally(
        roster=roster, motions=[Motion("m", "t", 4)], ballots=ballots, settings=TallySettings()
    ).motions[0]
    assert result.totals == Count(m2("500"), 3)
    assert result.agree == Count(m2("300"), 1)
    # 2 of 3 heads, 400 of 500 m² participate; 1 of 2 heads agree: exactly half fails
    assert result.quorum_met is True
    assert result.passed is False


def _co_owned() -> Roster:
    return Roster(
        (
            single("couple", unit("3-101", m2("100"), "夫")),
            single("x", unit("3-102", m2("100"))),
            single("y", unit("3-103", m2("100"))),
        )
    )


def test_co_owners_submitting_the_same_choice_count_once() -> None:
    ballots = [
        BallotRow("couple", "m", "agree", Channel.ONLINE, at(1), 1, "3-101"),
        BallotRow("couple", "m", "agree", Channel.ONLINE, at(2), 2, "3-101"),
    ]
    result = tally(
        roster=_co_owned(), motions=[Motion("m", "t", 4)], ballots=ballots, settings=TallySettings()
    )
    assert result.motions[0].agree == Count(m2("100"), 1)
    assert result.conflicts == ()


@pytest.mark.parametrize(
    ("policy", "taken"),
    [
        (DuplicatePolicy.ONE_VOTE_ONLY, "oppose"),  # the first (paper, 09:01)
        (DuplicatePolicy.LATEST_WINS, "agree"),  # the last (online, 09:05)
        (DuplicatePolicy.ONLINE_PREVAILS, "agree"),
        (DuplicatePolicy.PAPER_PREVAILS, "oppose"),
    ],
)
def test_co_owners_disagreeing_are_a_conflict_decided_by_the_policy(
    policy: DuplicatePolicy, taken: str
) -> None:
    ballots = [
        BallotRow("couple", "m", "agree", Channel.ONLINE, at(5), 2, "3-101"),
        BallotRow("couple", "m", "oppose", Channel.PAPER, at(1), 1, "3-101"),
        BallotRow("x", "m", "agree", seq=3),
        BallotRow("y", "m", "oppose", seq=4),
    ]
    result = tally(
        roster=_co_owned(),
        motions=[Motion("m", "t", 4)],
        ballots=ballots,
        settings=TallySettings(duplicate_policy=policy),
    )
    motion = result.motions[0]
    assert motion.participating.heads == 3
    expected_agree = 2 if taken == "agree" else 1
    assert motion.agree.heads == expected_agree
    (conflict,) = result.conflicts
    assert (conflict.member_id, conflict.motion_id) == ("couple", "m")
    assert conflict.taken.choice == taken
    assert len(conflict.rows) == 2
    assert conflict.rule == policy.value


# --------------------------------------------------------------------------- scope


def _two_buildings() -> Roster:
    return Roster(
        (
            single("a1", unit("A-1", m2("100"), building="A")),
            single("a2", unit("A-2", m2("100"), building="A")),
            single("ab", unit("A-3", m2("50"), building="A"), unit("B-1", m2("70"), building="B")),
            single("b1", unit("B-2", m2("80"), building="B")),
            single("b2", unit("B-3", m2("90"), building="B")),
        )
    )


LIFT_B = Motion("lift", "B 栋电梯维修", 5, scope=frozenset({"B"}))


def test_a_scoped_motion_uses_the_totals_of_its_buildings_only() -> None:
    result = tally(
        roster=_two_buildings(), motions=[LIFT_B], ballots=[], settings=TallySettings()
    ).motions[0]
    # ab counts only its B unit
    assert result.totals == Count(m2("240"), 3)


def test_a_member_outside_the_scope_is_not_a_participant_and_is_noted() -> None:
    ballots = [
        BallotRow("a1", "lift", "agree"),
        BallotRow("ab", "lift", "agree"),
        BallotRow("b1", "lift", "agree"),
    ]
    result = tally(
        roster=_two_buildings(), motions=[LIFT_B], ballots=ballots, settings=TallySettings()
    ).motions[0]
    assert result.participating == Count(m2("150"), 2)
    assert result.agree == Count(m2("150"), 2)
    assert result.passed is False  # 2 of 3 heads, 150 of 240 m² (< 2/3): quorum not met
    notes = {n.code: n for n in result.notes}
    assert notes["out-of-scope"].members == ("a1",)


def test_a_scoped_motion_passes_on_its_buildings_numbers() -> None:
    ballots = [BallotRow(m, "lift", "agree") for m in ("ab", "b1", "b2")]
    ballots.append(BallotRow("a1", "lift", "oppose"))
    result = tally(
        roster=_two_buildings(), motions=[LIFT_B], ballots=ballots, settings=TallySettings()
    ).motions[0]
    assert result.passed is True
    assert result.oppose == Count(0, 0)


# --------------------------------------------------------------------------- parking


def _with_parking() -> Roster:
    return Roster(
        (
            single("p", unit("P-1", m2("12.5"), kind=UnitKind.PARKING)),
            single("q", unit("Q-1", m2("100")), unit("P-2", m2("12.5"), kind=UnitKind.PARKING)),
            single("r", unit("R-1", m2("100"))),
        )
    )


def test_parking_area_excluded_by_default() -> None:
    ballots = [BallotRow("p", "m", "agree"), BallotRow("q", "m", "agree")]
    result = tally(
        roster=_with_parking(),
        motions=[Motion("m", "t", 4)],
        ballots=ballots,
        settings=TallySettings(),
    ).motions[0]
    assert result.totals == Count(m2("200"), 2)
    assert result.agree == Count(m2("100"), 1)
    notes = {n.code: n for n in result.notes}
    assert notes["parking-not-counted"].members == ("p",)


def test_parking_area_included_when_set() -> None:
    ballots = [BallotRow("p", "m", "agree"), BallotRow("q", "m", "agree")]
    result = tally(
        roster=_with_parking(),
        motions=[Motion("m", "t", 4)],
        ballots=ballots,
        settings=TallySettings(include_parking_area=True),
    ).motions[0]
    assert result.totals == Count(m2("225"), 3)
    assert result.agree == Count(m2("125"), 2)
    assert not [n for n in result.notes if n.code == "parking-not-counted"]


# --------------------------------------------------------------------------- non-voters


def test_strict_non_voters_are_reported_but_not_applied() -> None:
    result = run(estate([("agree", 60, m2("600")), (None, 40, m2("400"))]))
    nv = result.non_voters
    assert nv.rule == NonVoterRule.STRICT
    assert nv.applied is False
    assert nv.count == Count(m2("400"), 40)
    assert result.quorum_met is False


def test_follow_majority_adds_non_voters_to_agree_when_agree_leads_in_both() -> None:
    built = estate([("agree", 30, m2("300")), ("oppose", 20, m2("200")), (None, 50, m2("500"))])
    result = run(built, non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.applied is True
    assert result.non_voters.direction == "agree"
    assert result.non_voters.count == Count(m2("500"), 50)
    assert result.agree == Count(m2("800"), 80)
    assert result.participating == Count(m2("1000"), 100)
    assert result.passed is True


def test_follow_majority_adds_non_voters_to_oppose_when_oppose_leads_in_both() -> None:
    built = estate([("agree", 20, m2("200")), ("oppose", 30, m2("300")), (None, 50, m2("500"))])
    result = run(built, non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.applied is True
    assert result.non_voters.direction == "oppose"
    assert result.oppose == Count(m2("800"), 80)
    assert result.agree == Count(m2("200"), 20)
    assert result.passed is False


def test_follow_majority_is_not_applied_when_area_and_heads_disagree() -> None:
    # agree leads in area (600 > 200), oppose in heads (30 > 20)
    built = estate([("agree", 20, m2("600")), ("oppose", 30, m2("200")), (None, 50, m2("500"))])
    result = run(built, non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.applied is False
    assert result.non_voters.reason.code == "no-clear-majority"
    assert result.participating == Count(m2("800"), 50)


def test_follow_majority_is_not_applied_on_a_tie() -> None:
    built = estate([("agree", 20, m2("200")), ("oppose", 20, m2("200")), (None, 5, m2("50"))])
    result = run(built, non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.applied is False


def test_follow_majority_ignores_abstentions_when_comparing() -> None:
    built = estate(
        [
            ("agree", 10, m2("100")),
            ("oppose", 5, m2("50")),
            ("abstain", 40, m2("400")),
            (None, 45, m2("450")),
        ]
    )
    result = run(built, non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.direction == "agree"
    assert result.agree == Count(m2("550"), 55)


def test_follow_majority_with_nobody_voting_is_not_applied() -> None:
    result = run(estate([(None, 10, m2("100"))]), non_voters=NonVoterRule.FOLLOW_MAJORITY)
    assert result.non_voters.applied is False
    assert result.passed is False


def test_follow_majority_does_not_count_invalid_voters_as_non_voters() -> None:
    built = estate([("agree", 30, m2("300")), ("invalid", 10, m2("100")), (None, 60, m2("600"))])
    result = run(
        built,
        non_voters=NonVoterRule.FOLLOW_MAJORITY,
        invalid_ballots=InvalidBallots.EXCLUDED,
    )
    assert result.non_voters.count == Count(m2("600"), 60)
    assert result.agree == Count(m2("900"), 90)
    assert result.participating == Count(m2("900"), 90)


# --------------------------------------------------------------------------- notes, errors


def test_item_4_carries_the_60_day_notice_note() -> None:
    result = run(estate([("agree", 3, m2("300"))]), item=4)
    (note,) = [n for n in result.notes if n.code == "firing-notice"]
    assert "946" in note.zh
    assert "60 days" in note.en


def test_other_items_have_no_notice_note() -> None:
    result = run(estate([("agree", 3, m2("300"))]), item=3)
    assert not [n for n in result.notes if n.code == "firing-notice"]


def test_rows_of_unknown_members_and_motions_are_noted_not_counted() -> None:
    built = estate([("agree", 3, m2("300"))])
    ballots = [*built.ballots, BallotRow("ghost", "m", "oppose"), BallotRow("g0-1", "zz", "agree")]
    result = tally(
        roster=built.roster,
        motions=[Motion("m", "t", 1)],
        ballots=ballots,
        settings=TallySettings(),
    )
    motion = result.motions[0]
    assert motion.oppose == Count(0, 0)
    assert {n.code: n.members for n in motion.notes}["unknown-member"] == ("ghost",)
    assert [n.code for n in result.notes] == ["unknown-motion"]
    assert "zz" in result.notes[0].en


def test_duplicate_motion_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate motion id 'm'"):
        tally(
            roster=Roster(()),
            motions=[Motion("m", "a", 1), Motion("m", "b", 2)],
            ballots=[],
            settings=TallySettings(),
        )


def test_an_item_outside_1_to_9_is_refused() -> None:
    with pytest.raises(ValueError, match="item"):
        tally(
            roster=Roster(()), motions=[Motion("m", "a", 10)], ballots=[], settings=TallySettings()
        )


def test_several_motions_are_counted_independently() -> None:
    built = estate([("agree", 3, m2("300")), (None, 1, m2("100"))])
    extra = [BallotRow(r.member_id, "n", "oppose") for r in built.ballots]
    result = tally(
        roster=built.roster,
        motions=[Motion("m", "a", 1), Motion("n", "b", 2)],
        ballots=[*built.ballots, *extra],
        settings=TallySettings(),
    )
    assert [m.passed for m in result.motions] == [True, False]
    assert [m.motion.id for m in result.motions] == ["m", "n"]
