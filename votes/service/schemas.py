"""msgspec Structs for every request and response of the service API.

The web layer uses these as request bodies and return types, so the OpenAPI
schema is generated from them. Areas travel as decimal strings ("1234.56",
never floats); times as ISO-8601 UTC; keys, hashes and signatures as
lower-case hex.

Every request field is bounded: ids are positive 64-bit integers, texts and
lists have a maximum length (the ``MAX_*`` constants; docs/api.md, "Request
bodies and limits"), and times lie within [EARLIEST_TIME, LATEST_TIME). The web layer decodes
bodies into these Structs in msgspec's strict mode (web.body).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from votes.enums import MeetingState, ObjectionState, RegionLevel, StaffRole
from votes.model import MotionType
from votes.record.entries import MeetingSettings
from votes.record.receipt import Receipt

__all__ = [
    "AnswerObjectionRequest",
    "ApprovalRequestOut",
    "ApproveRequest",
    "AuditOut",
    "BallotRequest",
    "CertificationRequestOut",
    "CertifyRequest",
    "CheckpointOut",
    "ConsistencyProofOut",
    "CreateEstateRequest",
    "CreateMeetingRequest",
    "CreateRegionRequest",
    "CreateStaffRequest",
    "CredentialRequestOut",
    "EstateOut",
    "InclusionProofOut",
    "LetterOut",
    "LettersOut",
    "LoginRequest",
    "MeetingOut",
    "MeetingSettings",
    "MemberObjectionRequest",
    "MotionIn",
    "MotionOut",
    "ObjectionOut",
    "OfficerKeyOut",
    "OfficerKeyRequest",
    "PaperBallotOut",
    "PaperBallotRequest",
    "PendingReplacementOut",
    "ProblemOut",
    "ProxyBallotRequest",
    "PublicMemberOut",
    "PublicRosterOut",
    "PublicUnitOut",
    "Receipt",
    "RefuseCredentialChangeRequest",
    "RegionOut",
    "RegisterKeysRequest",
    "ReplaceCredentialRequest",
    "ResultOut",
    "ReturnRequest",
    "RosterImportOut",
    "ScopeTurnout",
    "SignCredentialChangeRequest",
    "StaffObjectionRequest",
    "StaffOut",
    "TransitionOut",
    "TurnoutOut",
    "UpdateMeetingRequest",
]

#: Largest id a request may name: ids are 64-bit integers in both databases.
MAX_ID = 2**63 - 1
#: Largest log size or index a request may name (the record's integers are exact in JSON).
MAX_LOG_SIZE = 2**53 - 1
# Upper bounds of the lists in request bodies (docs/api.md, "Request bodies and
# limits"). Without them a body of ten thousand ids kept the service busy for seconds.
#: Estates or subdistricts in one staff account's scope.
MAX_SCOPE_IDS = 100
#: Motions of one meeting (and choices of one paper ballot).
MAX_MOTIONS = 100
#: Candidates of one election motion (and names chosen on one paper ballot).
MAX_CANDIDATES = 1000
#: Buildings a motion is scoped to.
MAX_SCOPE_BUILDINGS = 1000
#: Public keys registered in one request (one per member of the estate).
MAX_REGISTERED_KEYS = 100_000

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
LogSize = Annotated[int, msgspec.Meta(ge=1, le=MAX_LOG_SIZE)]
Hex32 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
Hex64 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{128}$")]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
MotionIdText = Annotated[str, msgspec.Meta(pattern=r"^[!-~]{1,64}$")]
NoteKeyName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\s+]+$")]
Area = str  # "1234.56"
ObjectionSubject = Literal["roster", "agenda", "procedure", "tally", "other"]
ChoiceIn = str | Annotated[list[str], msgspec.Meta(max_length=MAX_CANDIDATES)]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, kw_only=True):
    pass


#: The times a request may name (UTC): from EARLIEST_TIME, before LATEST_TIME.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def _check_time_range(request: msgspec.Struct, names: tuple[str, ...]) -> None:
    """Refuse an aware time outside [EARLIEST_TIME, LATEST_TIME) in UTC.

    ISO-8601 admits ``0001-01-01T00:00:00+08:00``, which falls before year 1
    in UTC, where Python's datetime cannot go, and ``9999-12-31T23:59:59Z``, to
    which the service cannot add a notice period: both failed inside the
    service. No meeting is planned outside these bounds. (A naive time is
    refused by the service as ``naive_time``.)
    """
    for name in names:
        value = getattr(request, name)
        if isinstance(value, datetime) and value.utcoffset() is not None:
            try:
                in_range = EARLIEST_TIME <= value.astimezone(UTC) < LATEST_TIME
            except OverflowError:
                in_range = False
            if not in_range:
                # msgspec turns this into a ValidationError of the body;
                # votes.validation gives its Chinese text.
                raise ValueError(
                    f"`{name}` must be from {EARLIEST_TIME.date()} and before "
                    f"{LATEST_TIME.date()} (UTC)"
                )


# ---------------------------------------------------------------- accounts


class LoginRequest(_In):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class CreateStaffRequest(_In):
    username: Username
    password: Password
    role: StaffRole
    display_name: ShortText
    estate_ids: Annotated[list[Id], msgspec.Meta(max_length=MAX_SCOPE_IDS)] = []
    subdistrict_ids: Annotated[list[Id], msgspec.Meta(max_length=MAX_SCOPE_IDS)] = []


class StaffOut(_Out):
    id: uuid.UUID
    username: str
    display_name: str
    role: StaffRole
    estate_ids: list[int]
    subdistrict_ids: list[int]


class OfficerKeyRequest(_In):
    public_key: Hex32
    #: The signed-note key name shown in cosignature lines (no spaces, no '+').
    name: NoteKeyName


class OfficerKeyOut(_Out):
    id: uuid.UUID
    officer_id: uuid.UUID
    public_key: str
    name: str
    key_id: str  # 8 hex digits: the tlog-cosignature (type 0x04) key id
    enrolled_at: datetime
    revoked_at: datetime | None


class AuditOut(_Out):
    id: uuid.UUID
    estate_id: int | None
    staff_id: uuid.UUID | None
    action: str
    target: str | None
    details: dict[str, Any]
    client_ip: str | None
    at: datetime


# ---------------------------------------------------------------- regions


class CreateRegionRequest(_In):
    level: RegionLevel
    name: ShortText
    parent_id: Id | None = None
    code: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class RegionOut(_Out):
    id: int
    level: RegionLevel
    name: str
    parent_id: int | None
    code: str | None


class CreateEstateRequest(_In):
    subdistrict_id: Id
    name: ShortText
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class EstateOut(_Out):
    id: int
    subdistrict_id: int
    name: str
    address: str | None


class ProblemOut(_Out):
    row: int
    column: str | None
    code: str
    message: str


class RosterImportOut(_Out):
    estate_id: int
    units: int
    members: int
    total_area: Area
    warnings: list[ProblemOut]


# ---------------------------------------------------------------- meetings


class MotionIn(_In):
    id: MotionIdText
    title: LongText
    item: Annotated[int, msgspec.Meta(ge=1, le=9)]
    type: MotionType = MotionType.YES_NO
    seats: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    candidates: Annotated[list[ShortText], msgspec.Meta(max_length=MAX_CANDIDATES)] = []
    # Building names; None = the whole estate.
    scope: Annotated[list[ShortText], msgspec.Meta(max_length=MAX_SCOPE_BUILDINGS)] | None = None


class MotionOut(_Out):
    id: str
    position: int
    title: str
    item: int
    type: MotionType
    seats: int
    candidates: list[str]
    scope: list[str] | None


class CreateMeetingRequest(_In):
    estate_id: Id
    title: ShortText
    convener: ShortText  # the convening body, e.g. "华府小区第一届业主委员会"
    open_at: datetime
    close_at: datetime
    #: Planned publication of the notice; default: when the meeting is submitted.
    notice_at: datetime | None = None
    settings: MeetingSettings = msgspec.field(default_factory=MeetingSettings)
    motions: Annotated[list[MotionIn], msgspec.Meta(max_length=MAX_MOTIONS)] = []

    def __post_init__(self) -> None:
        _check_time_range(self, ("open_at", "close_at", "notice_at"))


class UpdateMeetingRequest(_In):
    """Draft changes; a field left out (null) stays as it is."""

    title: ShortText | None = None
    convener: ShortText | None = None
    open_at: datetime | None = None
    close_at: datetime | None = None
    notice_at: datetime | None = None
    settings: MeetingSettings | None = None
    refresh_roster: bool = False  # take a new snapshot of the estate roster (drops letters)

    def __post_init__(self) -> None:
        _check_time_range(self, ("open_at", "close_at", "notice_at"))


class MeetingOut(_Out):
    code: str
    id: uuid.UUID
    estate_id: int
    subdistrict_id: int
    title: str
    convener: str
    state: MeetingState
    settings: MeetingSettings
    notice_at: datetime | None  # planned, then actual publication of the notice
    open_at: datetime | None
    close_at: datetime | None
    roster_root: str | None
    roster_members: int
    letters_issued: int
    log_size: int
    motions: list[MotionOut]
    objection_deadline: datetime | None = None


class TransitionOut(_Out):
    code: str
    state: MeetingState
    log_index: int | None  # the entry this transition wrote, if any
    log_size: int


class ApprovalRequestOut(_Out):
    """What an officer signs to approve a submitted meeting."""

    meeting: str  # meeting id (str(uuid))
    notice: str  # entry hash (hex) of the notice entry
    roster_root: str
    #: Canonical bytes to sign with Domain.APPROVAL (``owner-vote/approval/v1``), as text.
    approval_body: str
    #: The service-signed checkpoint (C2SP signed note) to cosign (tlog-cosignature).
    checkpoint: str
    checkpoint_size: int


class ApproveRequest(_In):
    public_key: Hex32  # an enrolled officer key
    signature: Hex64  # Domain.APPROVAL over approval_body
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]  # signature line


class CertificationRequestOut(_Out):
    """What an officer signs to certify (or return) a tallied meeting."""

    meeting: str
    tally: str  # entry hash (hex) of the tally entry
    checkpoint: str  # signed note of the current log, to cosign
    checkpoint_size: int
    checkpoint_root: str
    certification_body: str  # canonical bytes to sign with Domain.CERTIFICATION
    open_objections: int
    objection_deadline: datetime


class CertifyRequest(_In):
    public_key: Hex32
    checkpoint_size: LogSize
    signature: Hex64  # Domain.CERTIFICATION over certification_body
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class ReturnRequest(_In):
    public_key: Hex32
    checkpoint_size: LogSize
    reason: LongText  # the officer's written reasons; its SHA-256 goes into the body
    signature: Hex64  # Domain.CERTIFICATION over return_body(reason=sha256(reason))
    cosignature: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


# ---------------------------------------------------------------- credentials


class LetterOut(_Out):
    member_id: str
    units: list[str]
    public_key: str
    code: str  # 27-character credential code (shown ONCE)
    display: str  # the same, grouped for print
    url: str  # {base_url}/b/{meeting_code}#k={code}


class LettersOut(_Out):
    meeting_code: str
    meeting_id: str
    letters: list[LetterOut]


class RegisterKeysRequest(_In):
    # Member id -> credential public key (letters made offline).
    keys: Annotated[dict[ShortText, Hex32], msgspec.Meta(max_length=MAX_REGISTERED_KEYS)]


class ReplaceCredentialRequest(_In):
    member_id: ShortText
    reason: LongText
    #: SHA-256 of the convener's written request (the paper the officer is shown).
    request_sha256: Hex32


class CredentialRequestOut(_Out):
    """A requested credential change and what the officer signs to let it be logged."""

    id: uuid.UUID
    meeting_code: str
    meeting_id: str
    member_id: str
    units: list[str]
    kind: Literal["revoke", "replace"]
    old_key: str
    new_key: str | None
    reason: str
    request_sha256: str
    state: Literal["pending", "approved", "refused"]
    requested_by: str  # the convener's username
    requested_at: datetime
    #: The exact text to sign, domain owner-vote/credential-change/v1 (canonical JSON).
    body: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    refusal: str | None = None
    log_index: int | None = None


class PendingReplacementOut(_Out):
    """A replacement request and its new letter (secret shown ONCE; active once signed)."""

    request: CredentialRequestOut
    letter: LetterOut


class SignCredentialChangeRequest(_In):
    public_key: Hex32  # an enrolled officer key
    signature: Hex64  # Domain.CREDENTIAL_CHANGE over the request's body


class RefuseCredentialChangeRequest(_In):
    reason: LongText


# ---------------------------------------------------------------- ballots


class BallotRequest(_In):
    ballot: Annotated[str, msgspec.Meta(min_length=2, max_length=65536)]  # canonical JSON text
    signature: Hex64


class PaperBallotRequest(_In):
    member_id: ShortText
    choices: Annotated[dict[MotionIdText, ChoiceIn], msgspec.Meta(max_length=MAX_MOTIONS)]
    sheet_sha256: Hex32  # SHA-256 of the scanned paper sheet


class PaperBallotOut(_Out):
    member_id: str
    log_index: int
    entry_hash: str
    sheet_sha256: str


class ProxyBallotRequest(_In):
    ballot: Annotated[str, msgspec.Meta(min_length=2, max_length=65536)]
    signature: Hex64  # by the member's credential
    authorisation_sha256: Hex32  # SHA-256 of the written authorisation
    holder: ShortText  # who holds the proxy (identity as written on the authorisation)


# ---------------------------------------------------------------- objections


class StaffObjectionRequest(_In):
    subject: ObjectionSubject
    text: LongText
    member_id: ShortText | None = None  # the member it was lodged for, if any


class MemberObjectionRequest(_In):
    """An owner's objection: canonical JSON ``body`` signed with their credential key.

    Body: ``{"v":1,"meeting":id,"member":key hex,"subject":...,"document":SHA-256 hex
    of text,"nonce":32 hex}`` signed with domain ``owner-vote/objection/v1``; ``text``
    is the written objection itself.
    """

    body: Annotated[str, msgspec.Meta(min_length=2, max_length=32768)]
    signature: Hex64
    text: LongText


class AnswerObjectionRequest(_In):
    decision: Literal["upheld", "rejected"]
    text: LongText


class ObjectionOut(_Out):
    id: uuid.UUID
    log_index: int | None
    subject: str
    member_id: str | None
    by_staff: bool
    text: str
    state: ObjectionState
    answer: str | None
    created_at: datetime
    answered_at: datetime | None


# ---------------------------------------------------------------- record


class CheckpointOut(_Out):
    size: int
    root: str
    note: str  # the C2SP signed checkpoint (service signature, officer cosignatures)


class InclusionProofOut(_Out):
    index: int
    size: int
    leaf_hash: str
    proof: list[str]
    checkpoint: str  # the signed checkpoint of ``size``


class ConsistencyProofOut(_Out):
    size1: int
    size2: int
    proof: list[str]


class PublicUnitOut(_Out):
    number: str
    building: str
    area: Area
    kind: str


class PublicMemberOut(_Out):
    id: str
    developer: bool
    area: Area
    units: list[PublicUnitOut]


class PublicRosterOut(_Out):
    meeting: str
    roster_root: str
    total_area: Area
    members: list[PublicMemberOut]


class ResultOut(_Out):
    meeting: str
    state: MeetingState
    tally_hash: str
    tally_index: int
    result: dict[str, Any]  # votes.tally_json.result_to_dict (docs/tally-json.md)
    certified: bool
    objection_deadline: datetime


# ---------------------------------------------------------------- turnout


class ScopeTurnout(_Out):
    scope: list[str] | None  # buildings; None = whole estate
    motions: list[str]
    total_area: Area
    total_heads: int
    voted_area: Area
    voted_heads: int


class TurnoutOut(_Out):
    meeting: str
    state: MeetingState
    provisional: bool
    ballots: int
    scopes: list[ScopeTurnout]
    at: datetime
