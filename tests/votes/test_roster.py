"""The docs/legal.md §2 grouping of units into voting members, and their weights."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from votes.model import (
    DEVELOPER_MEMBER_ID,
    Member,
    Roster,
    Unit,
    UnitKind,
    UnitStatus,
    new_member,
)
from votes.roster import Weight, group_members, member_groups, member_weight


def _unit(
    number: str,
    owners: set[str],
    area: int = 10000,
    *,
    kind: UnitKind = UnitKind.RESIDENTIAL,
    status: UnitStatus = UnitStatus.SOLD,
) -> Unit:
    building = number.split("-", maxsplit=1)[0]
    return Unit(number, building, area, frozenset(owners), kind=kind, status=status)


def _by_id(roster: Roster) -> dict[str, Member]:
    return {m.id: m for m in roster.members}


# ------------------------------------------------------------ grouping (docs/legal.md §2)


def test_one_buyer_with_several_units_is_one_member_with_areas_summed() -> None:
    roster = group_members([_unit("1-101", {"A"}, 8950), _unit("2-301", {"A"}, 7600)])
    (member,) = roster.members
    assert member.id == "member:1-101"
    assert [u.number for u in member.units] == ["1-101", "2-301"]
    assert member_weight(member, include_parking=False, scope=None) == Weight(16550, 1)


def test_co_owners_of_a_unit_are_one_member_whatever_order_they_are_listed_in() -> None:
    roster = group_members([_unit("1-101", {"A", "B"}), _unit("1-102", {"B", "A"})])
    assert [(m.id, m.owners) for m in roster.members] == [("member:1-101", frozenset({"A", "B"}))]


def test_a_person_owning_one_unit_alone_and_another_jointly_is_two_members() -> None:
    roster = group_members([_unit("1-101", {"A"}), _unit("1-102", {"A", "B"})])
    assert [(m.id, m.owners) for m in roster.members] == [
        ("member:1-101", frozenset({"A"})),
        ("member:1-102", frozenset({"A", "B"})),
    ]


def test_unsold_and_undelivered_units_are_one_developer_member() -> None:
    roster = group_members(
        [
            _unit("1-101", {"Dev"}, 100, status=UnitStatus.UNSOLD),
            _unit("2-101", {"Dev Ltd"}, 200, status=UnitStatus.UNDELIVERED),
            _unit("3-101", {"A"}, 300),
        ]
    )
    developer = _by_id(roster)[DEVELOPER_MEMBER_ID]
    assert developer.is_developer
    assert [u.number for u in developer.units] == ["1-101", "2-101"]
    assert developer.owners == frozenset({"Dev", "Dev Ltd"})
    assert member_weight(developer, include_parking=False, scope=None) == Weight(300, 1)
    assert not _by_id(roster)["member:3-101"].is_developer


def test_no_developer_member_without_unsold_or_undelivered_units() -> None:
    roster = group_members([_unit("1-101", {"A"})])
    assert not any(m.is_developer for m in roster.members)


def test_member_id_uses_the_code_point_smallest_unit_number() -> None:
    # Code-point order: "10-101" < "9-101" ("1" < "9"), not natural order.
    roster = group_members([_unit("9-101", {"A"}), _unit("10-101", {"A"})])
    assert [m.id for m in roster.members] == ["member:10-101"]


def test_members_are_ordered_by_id_whatever_the_row_order() -> None:
    units = [_unit("2-101", {"B"}), _unit("1-101", {"A"}), _unit("1-102", {"C"})]
    assert group_members(units) == group_members(list(reversed(units)))
    assert [m.id for m in group_members(units).members] == [
        "member:1-101",
        "member:1-102",
        "member:2-101",
    ]


def test_member_groups_are_the_grouped_members_fields() -> None:
    units = [
        _unit("2-101", {"B"}),
        _unit("1-101", {"A"}),
        _unit("1-102", {"A"}),
        _unit("3-101", {"D"}, status=UnitStatus.UNSOLD),
    ]
    expected = {m.id: (m.is_developer, m.units) for m in group_members(units).members}
    assert member_groups(units) == expected
    assert expected[DEVELOPER_MEMBER_ID][0]
    assert [u.number for u in expected["member:1-101"][1]] == ["1-101", "1-102"]
    with pytest.raises(ValueError, match="1-101"):
        member_groups([_unit("1-101", {"A"}), _unit("1-101", {"B"})])


def test_duplicate_unit_numbers_cannot_be_grouped() -> None:
    with pytest.raises(ValueError, match="1-101"):
        group_members([_unit("1-101", {"A"}), _unit("1-101", {"B"})])


# --------------------------------------------------------------------------- weights


FLAT = _unit("1-101", {"A"}, 8950)
SPACE = Unit("P-001", "车库", 1250, frozenset({"A"}), UnitKind.PARKING)
(OWNER_WITH_PARKING,) = group_members([FLAT, SPACE]).members
(PARKING_ONLY,) = group_members(
    [Unit("P-002", "车库", 1300, frozenset({"B"}), UnitKind.PARKING)]
).members


def test_parking_area_is_left_out_unless_the_estate_counts_it() -> None:
    assert member_weight(OWNER_WITH_PARKING, include_parking=False, scope=None) == Weight(8950, 1)
    assert member_weight(OWNER_WITH_PARKING, include_parking=True, scope=None) == Weight(10200, 1)


def test_parking_only_owner_is_no_head_when_parking_does_not_count() -> None:
    assert member_weight(PARKING_ONLY, include_parking=False, scope=None) == Weight(0, 0)
    assert member_weight(PARKING_ONLY, include_parking=True, scope=None) == Weight(1300, 1)


def test_scope_counts_only_units_in_the_named_buildings() -> None:
    (member,) = group_members(
        [_unit("1-101", {"A"}, 100), _unit("2-101", {"A"}, 200), _unit("3-101", {"A"}, 400)]
    ).members
    assert member_weight(member, include_parking=False, scope=frozenset({"2", "3"})) == Weight(
        600, 1
    )
    assert member_weight(member, include_parking=False, scope=frozenset({"9"})) == Weight(0, 0)


def test_storage_and_commercial_units_always_count() -> None:
    (member,) = group_members(
        [
            _unit("1-C01", {"A"}, 840, kind=UnitKind.STORAGE),
            _unit("1-S01", {"A"}, 14520, kind=UnitKind.COMMERCIAL),
        ]
    ).members
    assert member_weight(member, include_parking=False, scope=None) == Weight(15360, 1)


# --------------------------------------------------------------------------- properties

_buildings = st.sampled_from(["1", "2", "3", "车库"])
_owners = st.frozensets(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=3)


@st.composite
def _units(draw: st.DrawFn) -> list[Unit]:
    numbers = draw(st.lists(st.from_regex(r"[0-9]{1,2}-[0-9]{3}", fullmatch=True), unique=True))
    return [
        Unit(
            number=n,
            building=draw(_buildings),
            area=draw(st.integers(min_value=1, max_value=10**7)),
            owners=draw(_owners),
            kind=draw(st.sampled_from(list(UnitKind))),
            status=draw(st.sampled_from(list(UnitStatus))),
        )
        for n in numbers
    ]


def _counted(unit: Unit, include_parking: bool, scope: frozenset[str] | None) -> bool:
    return (include_parking or unit.kind is not UnitKind.PARKING) and (
        scope is None or unit.building in scope
    )


@settings(max_examples=150)
@given(
    _units(),
    st.booleans(),
    st.none() | st.frozensets(_buildings, min_size=1),
)
def test_member_weights_sum_to_the_counted_unit_areas(
    units: list[Unit], include_parking: bool, scope: frozenset[str] | None
) -> None:
    roster = group_members(units)
    weights = [
        member_weight(m, include_parking=include_parking, scope=scope) for m in roster.members
    ]
    assert sum(w.area for w in weights) == sum(
        u.area for u in units if _counted(u, include_parking, scope)
    )
    # A head is exactly a member with a counted unit, and never more heads than units.
    assert sum(w.heads for w in weights) == sum(
        1 for m in roster.members if any(_counted(u, include_parking, scope) for u in m.units)
    )
    assert sum(w.heads for w in weights) <= len(units)


@settings(max_examples=150)
@given(_units())
def test_grouping_partitions_units_by_the_rules(units: list[Unit]) -> None:
    roster = group_members(units)
    placed = [u for m in roster.members for u in m.units]
    assert sorted(placed, key=lambda u: u.number) == sorted(units, key=lambda u: u.number)
    assert set(roster.member_of_unit()) == {u.number for u in units}
    for member in roster.members:
        assert member.id == (
            DEVELOPER_MEMBER_ID
            if member.is_developer
            else f"member:{min(u.number for u in member.units)}"
        )
        if member.is_developer:
            assert all(u.status is not UnitStatus.SOLD for u in member.units)
        else:
            assert all(
                u.status is UnitStatus.SOLD and u.owners == member.owners for u in member.units
            )
    # Every unsold/undelivered unit is the developer's; sold members have distinct owner sets.
    assert sum(m.is_developer for m in roster.members) == (
        1 if any(u.status is not UnitStatus.SOLD for u in units) else 0
    )
    sold_sets = [m.owners for m in roster.members if not m.is_developer]
    assert len(sold_sets) == len(set(sold_sets))
    assert [m.id for m in roster.members] == sorted(m.id for m in roster.members)


@settings(max_examples=100)
@given(_units(), st.randoms(use_true_random=False))
def test_grouping_does_not_depend_on_row_order(units: list[Unit], rnd: object) -> None:
    shuffled = list(units)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert group_members(shuffled) == group_members(units)


def test_new_member_is_an_ordinary_member() -> None:
    units = (Unit("1-101", "1", 8950, frozenset({"a"})),)
    built = new_member("member:1-101", units, frozenset({"a"}), True)
    plain = Member("member:1-101", units, frozenset({"a"}), True)
    assert built == plain
    assert hash(built) == hash(plain)
    assert repr(built) == repr(plain)
    assert new_member("member:1-101", units, frozenset({"a"})) == Member(
        "member:1-101", units, frozenset({"a"})
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.id = "other"  # type: ignore[misc]
