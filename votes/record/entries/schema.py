"""The log entry types (docs/verification.md §Entries), as msgspec Structs, and their
canonical bytes, hashes and parsing.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from crypto.canonical import MAX_SAFE_INTEGER
from crypto.merkle import leaf_hash
from votes.model import (
    AreaSource,
    DuplicatePolicy,
    InvalidBallots,
    MotionType,
    NonVoterRule,
    Rulebook,
    TallySettings,
    UnitKind,
    UnitStatus,
)
from votes.record.ballot import Ballot, ChoiceValue
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
    "decode_entry",
    "entry_bytes",
    "entry_hash",
    "parse_entry",
    "signed_entry_body",
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
#: A number of days in the settings: at most a century, so that adding it to a time can
#: never overflow (a time is at most 9999-12-31) and every reader refuses the same values.
MAX_DAYS: Final = 36_500
Days = Annotated[int, msgspec.Meta(ge=0, le=MAX_DAYS)]
PositiveDays = Annotated[int, msgspec.Meta(ge=1, le=MAX_DAYS)]
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
    objection_days: Days = 7
    retention_years: SafeInt = 3
    disclosure: Disclosure = "anonymous"
    proxy_cap: Positive | None = None  # members one proxy holder may vote for; None = no cap
    # The estate's schedule rules (docs/legal.md §3), recorded so that `votes verify` can hold the
    # notice's instants to them.  None only in a request: the service fills in its configured
    # value (VOTES_NOTICE_DAYS, VOTES_VOTING_MIN_DAYS, VOTES_VOTING_MAX_DAYS) before the
    # notice is written, and a notice without them fails verification.
    notice_days: PositiveDays | None = None  # least days from notice_at to open_at
    voting_min_days: PositiveDays | None = None  # least days from open_at to close_at
    voting_max_days: PositiveDays | None = None  # most days from open_at to close_at

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
    result: dict[str, Any]  # votes.tally_json.result_to_dict (docs/tally-json.md)
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
