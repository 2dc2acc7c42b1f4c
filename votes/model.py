"""Plain data for the domain core: units, voting members, motions, ballots, settings.

Everything here is immutable and free of I/O so that the roster grouping, the
tally, the verifier and the server all share one vocabulary. Areas are always
integers in units of 0.01 m² ("centiares"); they are never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "DEVELOPER_MEMBER_ID",
    "AreaSource",
    "BallotRow",
    "Channel",
    "Choice",
    "DuplicatePolicy",
    "InvalidBallots",
    "Member",
    "Motion",
    "MotionType",
    "NonVoterRule",
    "Roster",
    "Rulebook",
    "TallySettings",
    "Unit",
    "UnitKind",
    "UnitStatus",
    "new_member",
]

#: The single voting member that holds all of the developer's unsold and
#: sold-but-undelivered units (SPC 建筑物区分所有权解释 art 9).
DEVELOPER_MEMBER_ID = "developer"


class UnitKind(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    PARKING = "parking"
    STORAGE = "storage"
    OTHER = "other"


class UnitStatus(StrEnum):
    SOLD = "sold"
    UNSOLD = "unsold"
    UNDELIVERED = "undelivered"


class AreaSource(StrEnum):
    REGISTRY = "registry"
    SURVEY = "survey"
    CONTRACT = "contract"


class Rulebook(StrEnum):
    CIVIL_CODE_2021 = "civil-code-2021"
    PROPERTY_LAW_2007 = "property-law-2007"


class MotionType(StrEnum):
    YES_NO = "yes-no"
    ELECTION = "election"
    CHOOSE_ONE = "choose-one"


class Choice(StrEnum):
    """The fixed choices of a yes/no motion; also abstain/invalid on every motion type."""

    AGREE = "agree"
    OPPOSE = "oppose"
    ABSTAIN = "abstain"
    INVALID = "invalid"


class Channel(StrEnum):
    ONLINE = "online"
    PAPER = "paper"
    PROXY = "proxy"


class DuplicatePolicy(StrEnum):
    ONE_VOTE_ONLY = "one-vote-only"  # the first ballot counts (Beijing)
    LATEST_WINS = "latest-wins"  # changes allowed before close; the last counts (Wuhan)
    ONLINE_PREVAILS = "online-prevails"  # electronic over paper (Shenzhen)
    PAPER_PREVAILS = "paper-prevails"


class InvalidBallots(StrEnum):
    PARTICIPATING = "participating"  # default: in quorum and denominator, never agreeing
    EXCLUDED = "excluded"  # not counted as participation at all


class NonVoterRule(StrEnum):
    STRICT = "strict"  # default: only cast ballots participate
    FOLLOW_MAJORITY = "follow-majority"  # 未投票视为同意多数意见, only if the estate's rules say so


@dataclass(frozen=True, slots=True)
class Unit:
    """One exclusive part (专有部分) as imported from the land-register export."""

    number: str
    building: str
    area: int  # 0.01 m²
    owners: frozenset[str]  # owner keys: the owner plus any co-owners
    kind: UnitKind = UnitKind.RESIDENTIAL
    status: UnitStatus = UnitStatus.SOLD
    area_source: AreaSource = AreaSource.REGISTRY
    row: int = 0  # 1-based data row in the source file, 0 when not from a file


@dataclass(frozen=True, slots=True)
class Member:
    """One voting member (one head): a set of units voted with one voice.

    ``units`` keeps every unit so that a motion's scope and the parking setting
    can decide at tally time which of them carry weight.
    """

    id: str
    units: tuple[Unit, ...]
    owners: frozenset[str]
    is_developer: bool = False


_MEMBER_SLOTS = tuple(
    Member.__dict__[name].__set__ for name in ("id", "units", "owners", "is_developer")
)


def new_member(
    id: str,
    units: tuple[Unit, ...],
    owners: frozenset[str],
    is_developer: bool = False,
) -> Member:
    """``Member(id, units, owners, is_developer)``, for code that builds a whole roster.

    The frozen dataclass ``__init__`` sets each field through a looked-up
    ``object.__setattr__``; setting the slots directly costs a third less, which
    shows with 100,000 members. The result is an ordinary :class:`Member`.
    """
    member = object.__new__(Member)
    set_id, set_units, set_owners, set_developer = _MEMBER_SLOTS
    set_id(member, id)
    set_units(member, units)
    set_owners(member, owners)
    set_developer(member, is_developer)
    return member


@dataclass(frozen=True, slots=True)
class Roster:
    members: tuple[Member, ...]

    def member_of_unit(self) -> dict[str, str]:
        """Map every unit number to the id of the member that votes for it."""
        return {u.number: m.id for m in self.members for u in m.units}


@dataclass(frozen=True, slots=True)
class Motion:
    id: str
    title: str
    item: int  # Civil Code art 278 item, 1..9
    type: MotionType = MotionType.YES_NO
    seats: int = 1  # elections only
    candidates: tuple[str, ...] = ()  # election candidates or choose-one options
    scope: frozenset[str] | None = None  # buildings; None = whole estate


@dataclass(frozen=True, slots=True)
class BallotRow:
    """One member's choice on one motion, as cast.

    ``choice`` is a :class:`Choice` value for yes/no motions, an option for
    choose-one, and for elections the selected candidates joined by ``;``
    (or ``abstain`` / ``invalid`` on any motion).
    ``seq`` is the order of arrival and breaks ties between equal times.
    """

    member_id: str
    motion_id: str
    choice: str
    channel: Channel = Channel.PAPER
    time: datetime | None = None
    seq: int = 0
    unit: str | None = None  # the unit the row was entered against, if any


@dataclass(frozen=True, slots=True)
class TallySettings:
    rulebook: Rulebook = Rulebook.CIVIL_CODE_2021
    duplicate_policy: DuplicatePolicy = DuplicatePolicy.ONE_VOTE_ONLY
    invalid_ballots: InvalidBallots = InvalidBallots.PARTICIPATING
    non_voters: NonVoterRule = NonVoterRule.STRICT
    include_parking_area: bool = False
