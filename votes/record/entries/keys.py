"""Reading a log: which member holds which credential key (:class:`KeyBook`), what a
ballot is checked against, and the tally rows its ballot entries give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from votes.model import BallotRow, Channel, Motion
from votes.record.ballot import BallotContext, ChoiceValue, KeyLookup, ballot_rows
from votes.record.entries.conversions import motion_from_wire
from votes.record.entries.schema import (
    BallotEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    EntryError,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    RosterWire,
)
from votes.record.wire import parse_time

# --------------------------------------------------------------------------- credentials


__all__ = [
    "KeyBook",
    "KeyBookError",
    "agenda_motions",
    "ballot_context",
    "entry_choices",
    "entry_rows",
    "tally_rows",
]


class KeyBookError(ValueError):
    """A credential revocation or replacement that does not fit the key history."""


@dataclass(slots=True)
class KeyBook:
    """Which member holds which credential key, as revocations and replacements happen.

    Starts from the frozen roster; :meth:`apply` a credential entry to move on.
    Every key ever issued belongs to exactly one member; a member has at most
    one active key.
    """

    active: dict[str, str] = field(default_factory=dict)  # key -> member id
    current: dict[str, str] = field(default_factory=dict)  # member id -> latest key
    owner: dict[str, str] = field(default_factory=dict)  # every key ever -> member id

    @classmethod
    def from_roster(cls, roster: RosterWire) -> KeyBook:
        keys = [member.key for member in roster.members]
        ids = [member.id for member in roster.members]
        owner = dict(zip(keys, ids, strict=True))
        if len(owner) != len(keys):
            seen: set[str] = set()
            for key in keys:
                if key in seen:
                    raise KeyBookError(f"key {key} is listed for two members")
                seen.add(key)
        return cls(active=dict(owner), current=dict(zip(ids, keys, strict=True)), owner=owner)

    def member_for_key(self, key: str) -> str | None:
        return self.active.get(key)

    def is_revoked(self, key: str) -> bool:
        return key in self.owner and key not in self.active

    def apply(self, entry: CredentialRevokedEntry | CredentialReplacedEntry) -> None:
        if entry.member not in self.current:
            raise KeyBookError(f"member {entry.member!r} is not in the roster")
        latest = self.current[entry.member]
        if isinstance(entry, CredentialRevokedEntry):
            if self.active.get(entry.key) != entry.member:
                raise KeyBookError(
                    f"key {entry.key} is not the active key of member {entry.member!r}"
                )
            del self.active[entry.key]
            return
        if entry.old_key != latest:
            raise KeyBookError(
                f"old key {entry.old_key} is not the latest key of member {entry.member!r}"
            )
        if entry.new_key in self.owner:
            raise KeyBookError(f"new key {entry.new_key} was already issued")
        self.active.pop(entry.old_key, None)
        self.active[entry.new_key] = entry.member
        self.current[entry.member] = entry.new_key
        self.owner[entry.new_key] = entry.member


def ballot_context(notice: NoticeEntry, keys: KeyLookup) -> BallotContext:
    """What :func:`votes.record.ballot.validate_ballot` checks a ballot against: the meeting
    as the notice froze it, and ``keys`` (a :class:`KeyBook`, or the service's key state now)."""
    return BallotContext(
        meeting=notice.meeting,
        roster_root=notice.roster_root,
        motions=agenda_motions(notice),
        keys=keys,
    )


def agenda_motions(notice: NoticeEntry) -> dict[str, Motion]:
    """The notice's motions by id, as :mod:`votes.model` objects (the last of a repeated id)."""
    return {m.id: motion_from_wire(m) for m in notice.agenda}


def entry_rows(
    entry: BallotEntry | PaperBallotEntry | ProxyBallotEntry, member_id: str
) -> list[BallotRow]:
    """The tally rows of one ballot entry: channel by entry type, time = entry time, seq = index."""
    if isinstance(entry, PaperBallotEntry):
        channel = Channel.PAPER
    else:
        channel = Channel.PROXY if isinstance(entry, ProxyBallotEntry) else Channel.ONLINE
    return ballot_rows(
        entry_choices(entry),
        member_id=member_id,
        channel=channel,
        time=parse_time(entry.time),
        seq=entry.index,
    )


def entry_choices(
    entry: BallotEntry | PaperBallotEntry | ProxyBallotEntry,
) -> dict[str, ChoiceValue]:
    """A ballot entry's choices: a paper ballot's own, else those of the ballot it carries."""
    return entry.choices if isinstance(entry, PaperBallotEntry) else entry.ballot.choices


def tally_rows(entries: Sequence[Entry]) -> list[BallotRow]:
    """Tally rows of every ballot in a log (entry 0 the notice), members resolved by key.

    What the service counts at closing; the verifier counts the same rows
    (after checking every ballot).
    """
    notice = entries[0]
    if not isinstance(notice, NoticeEntry):
        raise EntryError("entry 0 is not the notice")
    book = KeyBook.from_roster(notice.roster)
    rows: list[BallotRow] = []
    for entry in entries:
        if isinstance(entry, CredentialRevokedEntry | CredentialReplacedEntry):
            book.apply(entry)
        elif isinstance(entry, PaperBallotEntry):
            rows.extend(entry_rows(entry, entry.member))
        elif isinstance(entry, BallotEntry | ProxyBallotEntry):
            member = book.member_for_key(entry.ballot.member)
            if member is not None:
                rows.extend(entry_rows(entry, member))
    return rows
