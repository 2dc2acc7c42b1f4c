"""Group units into voting members (docs/legal.md §2) and weigh them for a motion.

Grouping, as the SPC interpretation art 9 says:

* every unsold or sold-but-undelivered unit belongs to the one developer member
  (id :data:`~votes.model.DEVELOPER_MEMBER_ID`), whatever owner key the file gives them;
* every other unit belongs to the member keyed by its exact owner set
  (owner + co-owners): one buyer with several units is one member, the
  co-owners of a unit are one member, and a person who owns one unit alone and
  another jointly is in two members (the two 业主 are different: a sole owner and
  a co-ownership). See docs/roster.md.

Member ids are ``member:<smallest unit number>`` where "smallest" is plain
code-point (lexicographic) order on the normalised unit number, so the id
never depends on row order or locale. Members are ordered by id; units in a
member by number. Reading a roster file is votes/inputs/roster.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NoReturn

from votes.model import (
    DEVELOPER_MEMBER_ID,
    Member,
    Roster,
    Unit,
    UnitKind,
    UnitStatus,
    new_member,
)

__all__ = [
    "Weight",
    "group_members",
    "member_groups",
    "member_weight",
    "weighted_areas",
]


# --------------------------------------------------------------------------- grouping


def group_members(units: Sequence[Unit]) -> Roster:
    """Group units into voting members exactly as docs/legal.md §2 says (see the module doc)."""
    members = [new_member(*group) for group in _groups(units)]
    members.sort(key=_ID)
    return Roster(members=tuple(members))


def member_groups(units: Sequence[Unit]) -> dict[str, tuple[bool, tuple[Unit, ...]]]:
    """Member id -> (is developer, units): :func:`group_members` without building the members.

    For comparing a listed grouping with the legal one (the verifier's roster
    check does, for 100,000 members); raises as :func:`group_members` does.
    """
    return {member_id: (developer, owned) for member_id, owned, _, developer in _groups(units)}


_Group = tuple[str, tuple[Unit, ...], frozenset[str], bool]  # id, units, owners, is developer


def _groups(units: Sequence[Unit]) -> list[_Group]:
    """The members' fields, unsorted, for :func:`group_members`."""
    numbers = list(map(_NUMBER, units))
    if len(set(numbers)) != len(numbers) or not all(map(_OWNERS, units)):
        _refuse(units)
    developer: list[Unit] = []
    # Most owner sets hold one unit: keep those without a list of their own.
    first: dict[frozenset[str], Unit] = {}
    more: dict[frozenset[str], list[Unit]] = {}
    sold = UnitStatus.SOLD
    for unit in units:
        if unit.status is sold:
            owners = unit.owners
            earlier = first.setdefault(owners, unit)
            if earlier is not unit:  # unit numbers are unique, so this is another unit
                owned = more.get(owners)
                if owned is None:
                    more[owners] = [earlier, unit]
                else:
                    owned.append(unit)
        else:
            developer.append(unit)
    groups: list[_Group] = []
    if developer:
        groups.append(
            (
                DEVELOPER_MEMBER_ID,
                _sorted_units(developer),
                frozenset().union(*(u.owners for u in developer)),
                True,
            )
        )
    for owners, unit in first.items():
        several = more.get(owners)
        ordered = (unit,) if several is None else _sorted_units(several)
        groups.append((f"member:{ordered[0].number}", ordered, owners, False))
    return groups


_NUMBER = attrgetter("number")
_OWNERS = attrgetter("owners")
_ID = attrgetter("id")


def _refuse(units: Sequence[Unit]) -> NoReturn:
    """Raise for the first repeated unit number or unit without owner, in unit order."""
    seen: set[str] = set()
    for unit in units:
        if unit.number in seen:
            raise ValueError(f"duplicate unit number: {unit.number!r}")
        seen.add(unit.number)
        if not unit.owners:
            raise ValueError(f"unit {unit.number!r} has no owner")
    raise AssertionError("_refuse called on valid units")


def _sorted_units(units: Iterable[Unit]) -> tuple[Unit, ...]:
    return tuple(sorted(units, key=_NUMBER))


@dataclass(frozen=True, slots=True)
class Weight:
    area: int  # 0.01 m²
    heads: int  # 0 or 1


def member_weight(member: Member, *, include_parking: bool, scope: frozenset[str] | None) -> Weight:
    """A member's voting weight for one motion.

    ``area`` sums the member's units inside ``scope`` (buildings; None = whole
    estate), leaving out parking spaces unless ``include_parking``; ``heads``
    is 1 when at least one unit counted, else 0 (e.g. a parking-only owner when
    parking does not count is not a head for that meeting).
    """
    area = 0
    counted = False
    for unit in member.units:
        if scope is not None and unit.building not in scope:
            continue
        if unit.kind is UnitKind.PARKING and not include_parking:
            continue
        area += unit.area
        counted = True
    return Weight(area=area, heads=1 if counted else 0)


def weighted_areas(
    members: Iterable[Member], *, include_parking: bool, scope: frozenset[str] | None
) -> dict[str, int]:
    """Member id -> area of every member that is a head for one motion.

    The same rule as :func:`member_weight` for many members at once (the tally
    asks it for every member of the estate): only members with at least one
    counted unit are listed, each with ``heads`` 1 and this ``area``.
    """
    parking = UnitKind.PARKING
    areas: dict[str, int] = {}
    for member in members:
        area = 0
        counted = False
        for unit in member.units:
            if scope is not None and unit.building not in scope:
                continue
            if unit.kind is parking and not include_parking:
                continue
            area += unit.area
            counted = True
        if counted:
            areas[member.id] = area
    return areas
