"""The meeting record: log entry types, their builders, canonical bytes and parsing.

Every entry is a JSON object with at least ``v`` (1), ``type``, ``meeting``,
``index`` (its 0-based position in the log) and ``time`` (UTC
``YYYY-MM-DDTHH:MM:SSZ``).  Its canonical JSON bytes are the Merkle leaf.
docs/verification.md §Entries lists every type and field; the Structs below are
the single source of those shapes (``forbid_unknown_fields``: an entry with a
field the format does not define is refused). :class:`MeetingSettings` has
defaults because service requests share it; in an entry's text every field
must still be present, which the verifier checks against the text itself.

Builders are keyword-only functions that convert domain values (datetimes,
keys, :mod:`votes.model` objects) into entries and make the service's
signatures; entries that carry an officer's signature take it ready-made,
because the officer signs on their own device.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from crypto.canonical import MAX_SAFE_INTEGER
from crypto.merkle import leaf_hash
from crypto.signing import Domain, PublicKey, SigningKey
from votes.model import (
    AreaSource,
    BallotRow,
    Channel,
    DuplicatePolicy,
    InvalidBallots,
    Motion,
    MotionType,
    NonVoterRule,
    Roster,
    Rulebook,
    TallySettings,
    Unit,
    UnitKind,
    UnitStatus,
    new_member,
)
from votes.record.ballot import Ballot, BallotContext, ChoiceValue, KeyLookup, ballot_rows
from votes.record.wire import (
    FORMAT_VERSION,
    ChoiceKey,
    Hash32,
    MotionId,
    PublicKeyHex,
    SafeInt,
    SignatureHex,
    Time,
    canonical,
    format_time,
    parse_time,
    sha256_hex,
    strict_canonical,
)

__all__ = [
    "BALLOT_TYPES",
    "ApprovalEntry",
    "BallotEntry",
    "CertificationEntry",
    "ClosingEntry",
    "CredentialReplacedEntry",
    "CredentialRevokedEntry",
    "Entry",
    "EntryError",
    "KeyBook",
    "KeyBookError",
    "LogHead",
    "MeetingSettings",
    "MemberWire",
    "MotionWire",
    "NoticeEntry",
    "ObjectionAnswerEntry",
    "ObjectionEntry",
    "OpenEntry",
    "PaperBallotEntry",
    "ProxyBallotEntry",
    "PublicationEntry",
    "ReturnEntry",
    "RosterWire",
    "TallyEntry",
    "UnitWire",
    "agenda_motions",
    "approval_body",
    "approval_entry",
    "ballot_context",
    "ballot_entry",
    "certification_body",
    "certification_entry",
    "closing_entry",
    "credential_change_body",
    "credential_change_entry_body",
    "credential_replaced_entry",
    "credential_revoked_entry",
    "decode_entry",
    "entry_bytes",
    "entry_choices",
    "entry_hash",
    "entry_rows",
    "motion_from_wire",
    "motion_to_wire",
    "notice_entry",
    "objection_answer_entry",
    "objection_body",
    "objection_entry",
    "open_entry",
    "owner_tag",
    "paper_ballot_entry",
    "parse_entry",
    "proxy_ballot_entry",
    "publication_entry",
    "return_body",
    "return_entry",
    "roster_from_wire",
    "roster_root",
    "roster_to_wire",
    "signed_entry_body",
    "tally_entry",
    "tally_rows",
]

# gc=False: entries are plain data decoded from JSON and can never form a reference cycle;
# untracked, a server's cached notice (a struct per member and unit) costs the cyclic
# collector nothing on its full passes.
_OPTS: dict[str, Any] = {
    "frozen": True,
    "kw_only": True,
    "forbid_unknown_fields": True,
    "gc": False,
}

Text = Annotated[str, msgspec.Meta(max_length=4096)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
OwnerTag = Annotated[str, msgspec.Meta(min_length=16, max_length=16)]
KeyId = Annotated[str, msgspec.Meta(min_length=8, max_length=8)]
Area = Annotated[int, msgspec.Meta(gt=0, le=MAX_SAFE_INTEGER)]
Item = Annotated[int, msgspec.Meta(ge=1, le=9)]
ObjectionNonce = Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=MAX_SAFE_INTEGER)]
Disclosure = Literal["anonymous", "open-roll"]


class EntryError(ValueError):
    """An entry is malformed (names the entry index when known)."""


# --------------------------------------------------------------------------- notice parts


class UnitWire(msgspec.Struct, **_OPTS):
    """One exclusive part in the frozen roster; ``area`` in integer 0.01 m²."""

    number: Name
    building: Text
    area: Area
    kind: UnitKind
    status: UnitStatus
    area_source: AreaSource
    owners: Annotated[list[OwnerTag], msgspec.Meta(min_length=1)]


class MemberWire(msgspec.Struct, **_OPTS):
    id: Name
    key: PublicKeyHex
    developer: bool
    units: Annotated[list[UnitWire], msgspec.Meta(min_length=1)]


class RosterWire(msgspec.Struct, **_OPTS):
    members: list[MemberWire]


class MotionWire(msgspec.Struct, **_OPTS):
    id: MotionId
    title: Text
    item: Item
    type: MotionType
    seats: Positive
    candidates: list[Name]
    scope: list[Name] | None


class MeetingSettings(msgspec.Struct, **_OPTS):
    """The per-meeting settings shown on the notice (docs/design.md §3)."""

    rulebook: Rulebook = Rulebook.CIVIL_CODE_2021
    duplicate_policy: DuplicatePolicy = DuplicatePolicy.ONE_VOTE_ONLY
    max_changes: SafeInt | None = None  # latest-wins only: changes allowed; None = unlimited
    invalid_ballots: InvalidBallots = InvalidBallots.PARTICIPATING
    non_voters: NonVoterRule = NonVoterRule.STRICT
    include_parking: bool = False
    objection_days: SafeInt = 7
    retention_years: SafeInt = 3
    disclosure: Disclosure = "anonymous"
    proxy_cap: Positive | None = None  # members one proxy holder may vote for; None = no cap
    # The estate's schedule rules (docs/legal.md §3), recorded so that `votes verify` can hold the
    # notice's instants to them.  None only in a request: the service fills in its configured
    # value (VOTES_NOTICE_DAYS, VOTES_VOTING_MIN_DAYS, VOTES_VOTING_MAX_DAYS) before the
    # notice is written, and a notice without them fails verification.
    notice_days: Positive | None = None  # least days from notice_at to open_at
    voting_min_days: Positive | None = None  # least days from open_at to close_at
    voting_max_days: Positive | None = None  # most days from open_at to close_at

    def tally_settings(self) -> TallySettings:
        return TallySettings(
            rulebook=self.rulebook,
            duplicate_policy=self.duplicate_policy,
            invalid_ballots=self.invalid_ballots,
            non_voters=self.non_voters,
            include_parking_area=self.include_parking,
        )


class LogHead(msgspec.Struct, **_OPTS):
    """A log size and the Merkle root (hex) of its first ``size`` entries."""

    size: SafeInt
    root: Hash32


# --------------------------------------------------------------------------- entries


class _Entry(msgspec.Struct, tag_field="type", **_OPTS):
    v: int
    meeting: Name
    index: SafeInt
    time: Time


class NoticeEntry(_Entry, tag="notice"):
    title: Text
    convener: Text
    estate: Text
    agenda: Annotated[list[MotionWire], msgspec.Meta(min_length=1)]
    settings: MeetingSettings
    notice_at: Time
    open_at: Time
    close_at: Time
    roster: RosterWire
    roster_root: Hash32


class ApprovalEntry(_Entry, tag="approval"):
    officer: Name  # the officer's note key name
    key_id: KeyId  # the officer's cosignature (type 0x04) key id
    notice: Hash32  # entry hash of the notice
    roster_root: Hash32
    signature: SignatureHex  # officer, Domain.APPROVAL over approval_body()


class OpenEntry(_Entry, tag="open"):
    pass


class CredentialRevokedEntry(_Entry, tag="credential-revoked"):
    member: Name
    key: PublicKeyHex
    reason: Text
    request: Hash32  # SHA-256 of the convener's written request
    officer: Name  # the approving officer's note key name
    key_id: KeyId  # the officer's cosignature (type 0x04) key id
    signature: SignatureHex  # officer, Domain.CREDENTIAL_CHANGE over credential_change_body()


class CredentialReplacedEntry(_Entry, tag="credential-replaced"):
    member: Name
    old_key: PublicKeyHex
    new_key: PublicKeyHex
    reason: Text
    request: Hash32  # SHA-256 of the convener's written request
    officer: Name
    key_id: KeyId
    signature: SignatureHex  # officer, Domain.CREDENTIAL_CHANGE over credential_change_body()


class BallotEntry(_Entry, tag="ballot"):
    ballot: Ballot
    signature: SignatureHex  # member, Domain.BALLOT over canonical(ballot)


class PaperBallotEntry(_Entry, tag="paper-ballot"):
    member: Name
    choices: dict[ChoiceKey, ChoiceValue]
    sheet: Hash32  # SHA-256 of the scanned sheet
    staff: Name
    entered_at: Time
    signature: SignatureHex  # service, Domain.PAPER_BALLOT over the entry without it


class ProxyBallotEntry(_Entry, tag="proxy-ballot"):
    ballot: Ballot
    signature: SignatureHex  # member credential, Domain.BALLOT
    authorisation: Hash32  # SHA-256 of the scanned written authorisation
    holder: OwnerTag  # opaque tag of the proxy holder (for the proxy cap)
    staff: Name


class ObjectionEntry(_Entry, tag="objection"):
    """An objection, filed either by an owner or by staff (exactly one of the two forms).

    Owner-filed: ``key``, ``nonce`` and ``signature`` are the owner's signed request
    (Domain.OBJECTION over :func:`objection_body`), ``member`` the roster member whose
    active key ``key`` is, ``staff`` null. Staff-filed (a paper or in-person
    objection): ``staff`` names who recorded it, ``member`` the member it was lodged
    for (or null), the three signature fields null.
    """

    subject: Literal["roster", "agenda", "procedure", "tally", "other"]
    member: Name | None
    document: Hash32  # SHA-256 of the written objection
    staff: Name | None  # who recorded a staff-filed objection; null when the owner filed it
    key: PublicKeyHex | None  # owner-filed: the member's credential key that signed
    nonce: ObjectionNonce | None  # owner-filed: 32 hex, unique per member in the meeting
    signature: SignatureHex | None  # owner-filed: member key, Domain.OBJECTION


class ObjectionAnswerEntry(_Entry, tag="objection-answer"):
    objection: SafeInt  # log index of the objection answered
    decision: Literal["upheld", "rejected"]
    document: Hash32
    by: Name


class ClosingEntry(_Entry, tag="closing"):
    closed_at: Time  # the deadline from the notice
    log_size: SafeInt  # size of the log including this entry = index + 1


class TallyEntry(_Entry, tag="tally"):
    inputs: LogHead  # the log prefix counted: size = closing index + 1
    result: dict[str, Any]  # votes.tally.result_to_dict (docs/tally-json.md)
    signature: SignatureHex  # service, Domain.TALLY over the entry without it


class CertificationEntry(_Entry, tag="certification"):
    officer: Name
    key_id: KeyId
    tally: Hash32  # entry hash of the tally entry
    checkpoint: LogHead  # the checkpoint the officer certifies (and cosigns)
    signature: SignatureHex  # officer, Domain.CERTIFICATION over certification_body()


class ReturnEntry(_Entry, tag="return"):
    officer: Name
    key_id: KeyId
    tally: Hash32
    checkpoint: LogHead
    reason: Hash32  # SHA-256 of the officer's written reasons
    signature: SignatureHex  # officer, Domain.CERTIFICATION over return_body()


class PublicationEntry(_Entry, tag="publication"):
    certification: Hash32  # entry hash of the certification
    disclosure: Disclosure


Entry = (
    NoticeEntry
    | ApprovalEntry
    | OpenEntry
    | CredentialRevokedEntry
    | CredentialReplacedEntry
    | BallotEntry
    | PaperBallotEntry
    | ProxyBallotEntry
    | ObjectionEntry
    | ObjectionAnswerEntry
    | ClosingEntry
    | TallyEntry
    | CertificationEntry
    | ReturnEntry
    | PublicationEntry
)

#: Entry types that carry a ballot.
BALLOT_TYPES: tuple[type, ...] = (BallotEntry, PaperBallotEntry, ProxyBallotEntry)

_DECODER: msgspec.json.Decoder[Entry] = msgspec.json.Decoder(Entry)


# --------------------------------------------------------------------------- bytes


def entry_bytes(entry: Entry) -> bytes:
    """The canonical JSON bytes of an entry: its Merkle leaf data."""
    if isinstance(entry, TallyEntry):
        # The result is free-form JSON data: use the strict encoder (refuses floats).
        return strict_canonical(msgspec.to_builtins(entry))
    return canonical(entry)


def entry_hash(entry: Entry) -> bytes:
    """RFC 9162 leaf hash of the entry: SHA-256(0x00 || entry bytes)."""
    return leaf_hash(entry_bytes(entry))


def signed_entry_body(entry: Entry) -> bytes:
    """Canonical bytes of the entry without its ``signature`` field (paper ballot, tally)."""
    data = msgspec.to_builtins(entry)
    data.pop("signature", None)
    return strict_canonical(data) if isinstance(entry, TallyEntry) else canonical(data)


def parse_entry(value: Any) -> Entry:
    """An entry from decoded JSON data; raises :class:`EntryError` naming the problem."""
    try:
        entry: Entry = msgspec.convert(value, type=Entry)
    except msgspec.ValidationError as exc:
        raise EntryError(str(exc)) from None
    _check_entry(entry)
    return entry


def decode_entry(data: bytes | msgspec.Raw) -> Entry:
    """An entry from JSON bytes (any formatting); raises :class:`EntryError`.

    ``data`` may be a bundle's :class:`msgspec.Raw` entry itself: decoding it in
    place spares copying each entry's bytes.
    """
    try:
        entry = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise EntryError(str(exc)) from None
    _check_entry(entry)
    return entry


def _check_entry(entry: Entry) -> None:
    if entry.v != FORMAT_VERSION:
        raise EntryError(f"entry version {entry.v} is not supported (expected {FORMAT_VERSION})")


# --------------------------------------------------------------------------- roster


def owner_tag(owner: str, *, salt: bytes) -> str:
    """The opaque per-meeting tag of an owner key: HMAC-SHA256(salt, owner)[:8] as hex.

    Units whose owner sets share tags are grouped exactly as their owners would
    be, while the names stay out of the public record.
    """
    return hmac.new(salt, owner.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def roster_to_wire(roster: Roster, *, keys: Mapping[str, PublicKey], salt: bytes) -> RosterWire:
    """The frozen roster as published: owner keys replaced by tags, keys per member."""
    tags: dict[str, str] = {}
    for member in roster.members:
        for owner in member.owners:
            tags.setdefault(owner, owner_tag(owner, salt=salt))
    if len(set(tags.values())) != len(tags):
        raise ValueError("two owners got the same tag; choose another salt")
    members = []
    for member in sorted(roster.members, key=lambda m: m.id):
        if member.id not in keys:
            raise ValueError(f"no credential key for member {member.id!r}")
        units = [
            UnitWire(
                number=unit.number,
                building=unit.building,
                area=unit.area,
                kind=unit.kind,
                status=unit.status,
                area_source=unit.area_source,
                owners=sorted(tags[owner] for owner in unit.owners),
            )
            for unit in sorted(member.units, key=lambda u: u.number)
        ]
        members.append(
            MemberWire(
                id=member.id, key=keys[member.id].hex(), developer=member.is_developer, units=units
            )
        )
    return RosterWire(members=members)


def roster_from_wire(wire: RosterWire) -> Roster:
    """The roster as :mod:`votes.model` objects (owners are the opaque tags)."""
    # msgspec builds every Unit in C from the wire units' same-named fields
    # (owners list -> frozenset): a third of the cost of calling the frozen
    # dataclass __init__ 100,000 times.
    units = msgspec.convert(
        [unit for member in wire.members for unit in member.units],
        list[Unit],
        from_attributes=True,
    )
    members = []
    start = 0
    for member in wire.members:
        end = start + len(member.units)
        owned: tuple[Unit, ...]
        if end == start + 1:
            owned = (units[start],)
            owners = units[start].owners
        else:
            owned = tuple(units[start:end])
            owners = frozenset().union(*[unit.owners for unit in owned])
        members.append(new_member(member.id, owned, owners, member.developer))
        start = end
    return Roster(members=tuple(members))


def roster_root(wire: RosterWire) -> str:
    """SHA-256 (hex) of the canonical JSON of the roster object."""
    return sha256_hex(canonical(wire))


def motion_to_wire(motion: Motion) -> MotionWire:
    return MotionWire(
        id=motion.id,
        title=motion.title,
        item=motion.item,
        type=motion.type,
        seats=motion.seats,
        candidates=list(motion.candidates),
        scope=None if motion.scope is None else sorted(motion.scope),
    )


def motion_from_wire(wire: MotionWire) -> Motion:
    return Motion(
        id=wire.id,
        title=wire.title,
        item=wire.item,
        type=wire.type,
        seats=wire.seats,
        candidates=tuple(wire.candidates),
        scope=None if wire.scope is None else frozenset(wire.scope),
    )


# --------------------------------------------------------------------------- credentials


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


# --------------------------------------------------------------------------- builders


def notice_entry(
    *,
    meeting: str,
    time: datetime,
    title: str,
    convener: str,
    estate: str,
    motions: Sequence[Motion],
    settings: MeetingSettings,
    roster: RosterWire,
    notice_at: datetime,
    open_at: datetime,
    close_at: datetime,
    index: int = 0,
) -> NoticeEntry:
    """The notice: agenda, settings, instants and the frozen roster with its root."""
    ids = [m.id for m in motions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"motion ids repeat: {ids}")
    for motion in motions:
        if motion.type != MotionType.YES_NO and any(";" in c for c in motion.candidates):
            raise ValueError(f"motion {motion.id!r}: a candidate name contains ';'")
    if not notice_at <= open_at < close_at:
        raise ValueError("need notice_at <= open_at < close_at")
    return NoticeEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        title=title,
        convener=convener,
        estate=estate,
        agenda=[motion_to_wire(m) for m in motions],
        settings=settings,
        notice_at=format_time(notice_at),
        open_at=format_time(open_at),
        close_at=format_time(close_at),
        roster=roster,
        roster_root=roster_root(roster),
    )


def approval_body(*, meeting: str, notice: str, roster_root: str) -> bytes:
    """What the officer signs (Domain.APPROVAL) to approve a notice."""
    return canonical(
        {"v": FORMAT_VERSION, "meeting": meeting, "notice": notice, "roster_root": roster_root}
    )


def approval_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    notice: str,
    roster_root: str,
    signature: bytes,
) -> ApprovalEntry:
    return ApprovalEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        notice=notice,
        roster_root=roster_root,
        signature=signature.hex(),
    )


def open_entry(*, meeting: str, index: int, time: datetime) -> OpenEntry:
    return OpenEntry(v=FORMAT_VERSION, meeting=meeting, index=index, time=format_time(time))


def credential_change_body(
    *, meeting: str, member: str, old_key: str, new_key: str | None, reason: str, request: str
) -> bytes:
    """What the officer signs (Domain.CREDENTIAL_CHANGE) to let a credential change be logged.

    ``new_key`` is None for a revocation without replacement. The body names
    everything the entry says about the change, so the service cannot log a
    change, a key or a reason the officer did not approve; ``request`` (the
    hash of the convener's written request) ties it to the paper the officer
    was shown.
    """
    return canonical(
        {
            "v": FORMAT_VERSION,
            "meeting": meeting,
            "member": member,
            "old_key": old_key,
            "new_key": new_key,
            "reason": reason,
            "request": request,
        }
    )


def credential_change_entry_body(entry: CredentialRevokedEntry | CredentialReplacedEntry) -> bytes:
    """The :func:`credential_change_body` a credential entry's ``signature`` covers."""
    if isinstance(entry, CredentialRevokedEntry):
        old_key, new_key = entry.key, None
    else:
        old_key, new_key = entry.old_key, entry.new_key
    return credential_change_body(
        meeting=entry.meeting,
        member=entry.member,
        old_key=old_key,
        new_key=new_key,
        reason=entry.reason,
        request=entry.request,
    )


def credential_revoked_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    key: PublicKey,
    reason: str,
    request: str,
    officer: str,
    key_id: str,
    signature: bytes,
) -> CredentialRevokedEntry:
    return CredentialRevokedEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        key=key.hex(),
        reason=reason,
        request=request,
        officer=officer,
        key_id=key_id,
        signature=signature.hex(),
    )


def credential_replaced_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    old_key: PublicKey,
    new_key: PublicKey,
    reason: str,
    request: str,
    officer: str,
    key_id: str,
    signature: bytes,
) -> CredentialReplacedEntry:
    return CredentialReplacedEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        old_key=old_key.hex(),
        new_key=new_key.hex(),
        reason=reason,
        request=request,
        officer=officer,
        key_id=key_id,
        signature=signature.hex(),
    )


def ballot_entry(
    *, meeting: str, index: int, time: datetime, ballot: Ballot, signature: bytes
) -> BallotEntry:
    return BallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        ballot=ballot,
        signature=signature.hex(),
    )


def paper_ballot_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    choices: Mapping[str, ChoiceValue],
    staff: str,
    entered_at: datetime,
    service_key: SigningKey,
    sheet: bytes | None = None,
    sheet_sha256: str | None = None,
) -> PaperBallotEntry:
    """A paper ballot, signed by the service (Domain.PAPER_BALLOT) on the staff's behalf.

    Only the SHA-256 of the scanned sheet is recorded: pass the scan itself as
    ``sheet``, or its SHA-256 (hex) as ``sheet_sha256`` where the scan is kept apart.
    """
    if sheet is not None and sheet_sha256 is None:
        sheet_sha256 = sha256_hex(sheet)
    elif sheet_sha256 is None or sheet is not None:
        raise ValueError("a paper ballot needs either the sheet or its SHA-256")
    unsigned = PaperBallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        choices={k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()},
        sheet=sheet_sha256,
        staff=staff,
        entered_at=format_time(entered_at),
        signature="0" * 128,
    )
    signature = service_key.sign(Domain.PAPER_BALLOT, signed_entry_body(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature.hex())


def proxy_ballot_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    ballot: Ballot,
    signature: bytes,
    authorisation: bytes,
    holder: str,
    staff: str,
) -> ProxyBallotEntry:
    """A ballot cast by a proxy holder with the member's credential.

    ``authorisation`` is the scanned written authorisation (only its SHA-256 is
    recorded); ``holder`` the holder's opaque tag (:func:`owner_tag`).
    """
    return ProxyBallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        ballot=ballot,
        signature=signature.hex(),
        authorisation=sha256_hex(authorisation),
        holder=holder,
        staff=staff,
    )


def objection_body(*, meeting: str, key: str, subject: str, document: str, nonce: str) -> bytes:
    """What an owner signs (Domain.OBJECTION) to file an objection.

    ``key`` is the owner's credential public key (64 hex) and ``document`` the
    SHA-256 (64 hex) of the written objection: the body commits to the text
    without the log having to carry it, so a verifier rebuilds these exact
    bytes from the objection entry and checks the owner's signature offline.
    """
    return canonical(
        {
            "v": FORMAT_VERSION,
            "meeting": meeting,
            "member": key,
            "subject": subject,
            "document": document,
            "nonce": nonce,
        }
    )


def objection_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    subject: Literal["roster", "agenda", "procedure", "tally", "other"],
    member: str | None,
    document: bytes,
    staff: str | None = None,
    key: PublicKey | None = None,
    nonce: str | None = None,
    signature: bytes | None = None,
) -> ObjectionEntry:
    """An objection: pass ``staff`` for one recorded by staff, else the owner's
    ``key``, ``nonce`` and ``signature`` (over :func:`objection_body`)."""
    owner = (key, nonce, signature)
    by_staff = staff is not None and owner == (None, None, None)
    by_owner = staff is None and None not in owner
    if not (by_staff or by_owner):
        raise ValueError("an objection is either staff-recorded or signed by the owner")
    return ObjectionEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        subject=subject,
        member=member,
        document=sha256_hex(document),
        staff=staff,
        key=None if key is None else key.hex(),
        nonce=nonce,
        signature=None if signature is None else signature.hex(),
    )


def objection_answer_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    objection: int,
    decision: Literal["upheld", "rejected"],
    document: bytes,
    by: str,
) -> ObjectionAnswerEntry:
    return ObjectionAnswerEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        objection=objection,
        decision=decision,
        document=sha256_hex(document),
        by=by,
    )


def closing_entry(*, meeting: str, index: int, time: datetime, closed_at: datetime) -> ClosingEntry:
    return ClosingEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        closed_at=format_time(closed_at),
        log_size=index + 1,
    )


def tally_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    inputs_size: int,
    inputs_root: bytes,
    result: Mapping[str, Any],
    service_key: SigningKey,
) -> TallyEntry:
    """The tally, signed by the service (Domain.TALLY over the entry without signature)."""
    unsigned = TallyEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        inputs=LogHead(size=inputs_size, root=inputs_root.hex()),
        result=dict(result),
        signature="0" * 128,
    )
    signature = service_key.sign(Domain.TALLY, signed_entry_body(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature.hex())


def certification_body(*, meeting: str, tally: str, size: int, root: str) -> bytes:
    """What the officer signs (Domain.CERTIFICATION) to certify a tally."""
    return _decision_body(meeting=meeting, decision="certify", tally=tally, size=size, root=root)


def return_body(*, meeting: str, tally: str, size: int, root: str, reason: str) -> bytes:
    """What the officer signs (Domain.CERTIFICATION) to return (refuse to certify) a tally."""
    return _decision_body(
        meeting=meeting, decision="return", tally=tally, size=size, root=root, reason=reason
    )


def _decision_body(
    *, meeting: str, decision: str, tally: str, size: int, root: str, reason: str | None = None
) -> bytes:
    """The officer's decision on a tally at a checkpoint; a return also gives its reason."""
    body: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "meeting": meeting,
        "decision": decision,
        "tally": tally,
        "checkpoint": {"size": size, "root": root},
    }
    if reason is not None:
        body["reason"] = reason
    return canonical(body)


def certification_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    tally: str,
    size: int,
    root: str,
    signature: bytes,
) -> CertificationEntry:
    return CertificationEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        tally=tally,
        checkpoint=LogHead(size=size, root=root),
        signature=signature.hex(),
    )


def return_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    tally: str,
    size: int,
    root: str,
    reason: str,
    signature: bytes,
) -> ReturnEntry:
    return ReturnEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        tally=tally,
        checkpoint=LogHead(size=size, root=root),
        reason=reason,
        signature=signature.hex(),
    )


def publication_entry(
    *, meeting: str, index: int, time: datetime, certification: str, disclosure: Disclosure
) -> PublicationEntry:
    return PublicationEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        certification=certification,
        disclosure=disclosure,
    )


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
