"""Builders for tally tests: estates described by group sizes, independent of the engine.

An estate is built from groups of identical-choice members, e.g.
``[("agree", 150, m2("1500")), ("oppose", 50, m2("500")), (None, 100, m2("1000"))]``:
150 members agreeing with 1500.00 m² between them, and so on (``None`` = no
ballot). Each member owns one residential unit in building ``"A"`` unless told
otherwise, so every member is one head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from votes.model import (
    BallotRow,
    Channel,
    Member,
    Motion,
    Roster,
    Rulebook,
    TallySettings,
    Unit,
)
from votes.tally import MotionResult, tally

Group = tuple[str | None, int, int]  # (choice or None for no ballot, heads, area in 0.01 m²)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def m2(text: str) -> int:
    """Square metres written as decimal text -> integer 0.01 m² (exactly)."""
    value = Decimal(text) * 100
    assert value == value.to_integral_value(), text
    return int(value)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def unit(
    number: str, area: int, owner: str | None = None, *, building: str = "A", **kw: object
) -> Unit:
    return Unit(number, building, area, frozenset({owner or f"o-{number}"}), **kw)  # type: ignore[arg-type]


def single(member_id: str, *units: Unit) -> Member:
    owners = frozenset().union(*(u.owners for u in units))
    return Member(member_id, tuple(units), owners)


@dataclass(frozen=True)
class Estate:
    roster: Roster
    ballots: tuple[BallotRow, ...]


def split(area: int, heads: int) -> list[int]:
    """``area`` shared over ``heads`` members as evenly as possible (each at least 0.01 m²)."""
    assert heads > 0, heads
    assert area >= heads, (area, heads)
    base, extra = divmod(area, heads)
    return [base + (1 if i < extra else 0) for i in range(heads)]


def estate(groups: Sequence[Group], *, motion_id: str = "m") -> Estate:
    members: list[Member] = []
    ballots: list[BallotRow] = []
    n = 0
    for g, (choice, heads, area) in enumerate(groups):
        if heads == 0:
            assert area == 0
            continue
        for share in split(area, heads):
            n += 1
            member_id = f"g{g}-{n}"
            members.append(single(member_id, unit(f"u{n}", share)))
            if choice is not None:
                ballots.append(BallotRow(member_id, motion_id, choice, seq=n))
    return Estate(Roster(tuple(members)), tuple(ballots))


def case(
    *,
    total: tuple[str, int],
    participating: tuple[str, int],
    agree: tuple[str, int],
    others: str = "oppose",
) -> Estate:
    """An estate with the given totals, participation and agreement (areas in m² text).

    Participants who do not agree vote ``others`` (oppose by default).
    """
    (ta, th), (pa, ph), (aa, ah) = total, participating, agree
    return estate(
        [
            ("agree", ah, m2(aa)),
            (others, ph - ah, m2(pa) - m2(aa)),
            (None, th - ph, m2(ta) - m2(pa)),
        ]
    )


def run(
    built: Estate,
    *,
    item: int = 4,
    rulebook: Rulebook = Rulebook.CIVIL_CODE_2021,
    motion: Motion | None = None,
    **settings: object,
) -> MotionResult:
    the_motion = motion or Motion("m", "motion", item)
    result = tally(
        roster=built.roster,
        motions=[the_motion],
        ballots=built.ballots,
        settings=TallySettings(rulebook=rulebook, **settings),  # type: ignore[arg-type]
    )
    return result.motions[0]


def row(
    member: str,
    choice: str,
    *,
    motion: str = "m",
    channel: Channel = Channel.PAPER,
    time: datetime | None = None,
    seq: int = 0,
    unit_number: str | None = None,
) -> BallotRow:
    return BallotRow(member, motion, choice, channel, time, seq, unit_number)
