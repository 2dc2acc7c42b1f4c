"""The ballot wire format (docs/design.md §4): build, sign, parse and validate with stable codes.

A ballot is a canonical JSON object (docs/verification.md §Ballot)::

    {"choices": {motion_id: choice, ...}, "meeting": id, "member": key hex,
     "nonce": 32 hex digits, "roster_root": 64 hex digits, "v": 1}

signed by the member's credential key over
``signed_message(Domain.BALLOT, canonical bytes)``.  The server calls
:func:`validate_ballot` on the exact bytes it received; every refusal is a
:class:`BallotError` with a stable :class:`BallotErrorCode` and a message in
Chinese and English.  The checks run cheapest first, so a flood of junk costs
no Ed25519 work.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

import msgspec

from crypto.signing import Domain, PublicKey, SigningKey
from votes.model import BallotRow, Channel, Choice, Motion, MotionType
from votes.record.wire import FORMAT_VERSION, ChoiceKey, Hash32, PublicKeyHex, canonical, is_hex
from votes.validation import describe

__all__ = [
    "MAX_BALLOT_BYTES",
    "AcceptedBallot",
    "Ballot",
    "BallotContext",
    "BallotError",
    "BallotErrorCode",
    "ChoiceValue",
    "KeyLookup",
    "ballot_bytes",
    "ballot_hash",
    "ballot_rows",
    "build_ballot",
    "check_ballot",
    "check_choices",
    "choice_text",
    "decode_ballot",
    "hex_fields_ok",
    "sign_ballot",
    "validate_ballot",
    "verify_ballot_signature",
]

#: Largest ballot body accepted, in bytes (a ballot with 50 motions is under 8 KiB).
MAX_BALLOT_BYTES = 64 * 1024

#: A choice on one motion: a string (yes-no, choose-one, "abstain", on paper also
#: "invalid"), or for elections a list of candidate names.
ChoiceValue = str | list[str]

Nonce = Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
MeetingId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Ballot(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One signed ballot, exactly the object the member's key signs."""

    v: int
    meeting: MeetingId
    member: PublicKeyHex
    choices: dict[ChoiceKey, ChoiceValue]
    roster_root: Hash32
    nonce: Nonce


class BallotErrorCode(StrEnum):
    MALFORMED = "malformed"
    NOT_CANONICAL = "not-canonical"
    WRONG_VERSION = "wrong-version"
    WRONG_MEETING = "wrong-meeting"
    UNKNOWN_MEMBER = "unknown-member"
    REVOKED_KEY = "revoked-key"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_MOTION = "unknown-motion"
    BAD_CHOICE = "bad-choice"
    WRONG_ROSTER_ROOT = "wrong-roster-root"
    OVERSIZE = "oversize"


class BallotError(ValueError):
    """A refused ballot: a stable ``code`` and the reason in Chinese and English."""

    def __init__(self, code: BallotErrorCode, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code.value}: {message_zh} {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


class KeyLookup(Protocol):
    """Who holds a credential key right now (see :class:`votes.record.entries.KeyBook`)."""

    def member_for_key(self, key: str) -> str | None:
        """The member whose *active* key this is, else None."""
        ...

    def is_revoked(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class BallotContext:
    """What a ballot is checked against: the meeting as frozen at notice, and the keys now."""

    meeting: str
    roster_root: str
    motions: Mapping[str, Motion]
    keys: KeyLookup


@dataclass(frozen=True, slots=True)
class AcceptedBallot:
    ballot: Ballot
    member_id: str
    data: bytes  # the canonical bytes as signed
    signature: bytes

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


_DECODER = msgspec.json.Decoder(Ballot)


def build_ballot(
    *,
    meeting: str,
    member: PublicKey,
    choices: Mapping[str, ChoiceValue],
    roster_root: str,
    nonce: str | None = None,
) -> Ballot:
    """A ballot object (not yet signed); ``nonce`` defaults to 16 fresh random bytes."""
    return Ballot(
        v=FORMAT_VERSION,
        meeting=meeting,
        member=member.hex(),
        choices={k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()},
        roster_root=roster_root,
        nonce=secrets.token_hex(16) if nonce is None else nonce,
    )


def ballot_bytes(ballot: Ballot) -> bytes:
    """The canonical bytes of a ballot: what is signed, sent and hashed."""
    return canonical(ballot)


def ballot_hash(data: bytes) -> str:
    """SHA-256 (hex) of a ballot's canonical bytes; the receipt's ballot hash."""
    return hashlib.sha256(data).hexdigest()


def sign_ballot(ballot: Ballot, key: SigningKey) -> bytes:
    """The member's signature of the ballot (Domain.BALLOT over its canonical bytes)."""
    return key.sign(Domain.BALLOT, ballot_bytes(ballot))


def _error(code: BallotErrorCode, zh: str, en: str) -> BallotError:
    return BallotError(code, zh, en)


def decode_ballot(data: bytes) -> Ballot:
    """Parse ballot bytes: size, JSON shape, version, then canonical form."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _error(BallotErrorCode.MALFORMED, "选票不是字节串", "ballot body is not bytes")
    data = bytes(data)
    if len(data) > MAX_BALLOT_BYTES:
        raise _error(
            BallotErrorCode.OVERSIZE,
            f"选票过大（{len(data)} 字节，上限 {MAX_BALLOT_BYTES}）",
            f"ballot is {len(data)} bytes; the limit is {MAX_BALLOT_BYTES}",
        )
    try:
        ballot = _DECODER.decode(data)
    except RecursionError:  # arrays or objects nested thousands deep
        raise _error(
            BallotErrorCode.MALFORMED,
            "选票格式错误：嵌套过深",
            "ballot is malformed: nested too deeply",
        ) from None
    except msgspec.DecodeError as exc:
        version = _loose_version(data)
        if version is not None and version != FORMAT_VERSION:
            raise _wrong_version(version) from None
        # msgspec's wording is English: the Chinese message gets votes.validation's text.
        if isinstance(exc, msgspec.ValidationError):
            reason_zh = describe(str(exc), whole="选票").zh
        else:
            reason_zh = "不是有效的 JSON"
        raise _error(
            BallotErrorCode.MALFORMED, f"选票格式错误：{reason_zh}", f"ballot is malformed: {exc}"
        ) from None
    if ballot.v != FORMAT_VERSION:
        raise _wrong_version(ballot.v)
    if not hex_fields_ok(ballot):
        raise _error(
            BallotErrorCode.MALFORMED,
            "选票的密钥、名册根或随机数不是小写十六进制",
            "ballot member, roster_root or nonce is not lower-case hex",
        )
    if canonical(ballot) != data:
        raise _error(
            BallotErrorCode.NOT_CANONICAL,
            "选票不是规范 JSON（RFC 8785）编码",
            "ballot is not in canonical JSON form (RFC 8785: sorted keys, no spaces)",
        )
    return ballot


def hex_fields_ok(ballot: Ballot) -> bool:
    """True iff the ballot's key, roster root and nonce are lower-case hex of the right length."""
    return is_hex(ballot.member, 64) and is_hex(ballot.roster_root, 64) and is_hex(ballot.nonce, 32)


def _loose_version(data: bytes) -> object:
    try:
        value = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    return value.get("v") if isinstance(value, dict) else None


def _wrong_version(version: object) -> BallotError:
    return _error(
        BallotErrorCode.WRONG_VERSION,
        f"选票版本 {version!r} 不受支持（应为 {FORMAT_VERSION}）",
        f"ballot version {version!r} is not supported (expected {FORMAT_VERSION})",
    )


def check_choices(
    choices: Mapping[str, Any], motions: Mapping[str, Motion], *, paper: bool = False
) -> None:
    """Every motion known and every choice allowed for its motion's type.

    ``paper`` also allows ``"invalid"`` (a spoiled paper sheet); a phone never sends it.
    """
    if not choices:
        raise _error(BallotErrorCode.BAD_CHOICE, "选票未选择任何议题", "ballot chooses nothing")
    for motion_id, choice in choices.items():
        motion = motions.get(motion_id)
        if motion is None:
            raise _error(
                BallotErrorCode.UNKNOWN_MOTION,
                f"议题 {motion_id!r} 不在本次会议议程中",
                f"motion {motion_id!r} is not on this meeting's agenda",
            )
        if not _choice_allowed(motion, choice, paper=paper):
            raise _error(
                BallotErrorCode.BAD_CHOICE,
                f"议题 {motion_id!r}（{motion.type.value}）不接受选项 {choice!r}",
                f"choice {choice!r} is not allowed on motion {motion_id!r} ({motion.type.value})",
            )


_ABSTAIN = str(Choice.ABSTAIN.value)
_INVALID = str(Choice.INVALID.value)
_YES_NO = frozenset({str(Choice.AGREE.value), str(Choice.OPPOSE.value), _ABSTAIN})
_YES_NO_TYPE = MotionType.YES_NO
_CHOOSE_ONE_TYPE = MotionType.CHOOSE_ONE


def _choice_allowed(motion: Motion, choice: object, *, paper: bool) -> bool:
    # Called for every choice of every ballot the verifier checks: keep it lean.
    if type(choice) is str:
        if choice == _ABSTAIN or (paper and choice == _INVALID):
            return True
        kind = motion.type
        if kind is _YES_NO_TYPE:
            return choice in _YES_NO
        return kind is _CHOOSE_ONE_TYPE and choice in motion.candidates
    if motion.type is not MotionType.ELECTION:
        return False
    # Election: a list of 1..seats distinct candidates.
    return (
        isinstance(choice, list)
        and 1 <= len(choice) <= motion.seats
        and len(set(choice)) == len(choice)
        and all(isinstance(name, str) and name in motion.candidates for name in choice)
    )


def check_ballot(ballot: Ballot, *, context: BallotContext) -> str:
    """Every check but the signature; return the member id the key belongs to."""
    if ballot.meeting != context.meeting:
        raise _error(
            BallotErrorCode.WRONG_MEETING,
            f"选票属于会议 {ballot.meeting!r}，不是本次会议 {context.meeting!r}",
            f"ballot is for meeting {ballot.meeting!r}, not {context.meeting!r}",
        )
    if ballot.roster_root != context.roster_root:
        raise _error(
            BallotErrorCode.WRONG_ROSTER_ROOT,
            f"选票的名册根 {ballot.roster_root} 与本次会议名册 {context.roster_root} 不符",
            f"ballot roster root {ballot.roster_root} differs from the meeting's "
            f"{context.roster_root}",
        )
    member_id = context.keys.member_for_key(ballot.member)
    if member_id is None:
        if context.keys.is_revoked(ballot.member):
            raise _error(
                BallotErrorCode.REVOKED_KEY,
                f"凭证 {ballot.member[:16]}… 已作废",
                f"credential key {ballot.member} has been revoked",
            )
        raise _error(
            BallotErrorCode.UNKNOWN_MEMBER,
            f"凭证 {ballot.member[:16]}… 不属于本次会议的任何业主",
            f"credential key {ballot.member} belongs to no member of this meeting",
        )
    check_choices(ballot.choices, context.motions)
    return member_id


def verify_ballot_signature(data: bytes, signature: bytes, member: str) -> bool:
    """True iff ``signature`` is ``member``'s (hex key) Domain.BALLOT signature of ``data``."""
    return PublicKey.from_hex(member).verify(Domain.BALLOT, data, signature)


def validate_ballot(
    data: bytes, signature: bytes | str, *, context: BallotContext
) -> AcceptedBallot:
    """Parse and check a received ballot; raise :class:`BallotError` on any refusal.

    ``signature`` is the 64 raw bytes or their 128 hex digits.
    """
    ballot = decode_ballot(data)
    raw_signature = _signature_bytes(signature)
    member_id = check_ballot(ballot, context=context)
    if not verify_ballot_signature(bytes(data), raw_signature, ballot.member):
        raise _error(
            BallotErrorCode.BAD_SIGNATURE,
            "选票签名无效",
            f"the ballot's signature does not verify for key {ballot.member}",
        )
    return AcceptedBallot(
        ballot=ballot, member_id=member_id, data=bytes(data), signature=raw_signature
    )


def _signature_bytes(signature: bytes | str) -> bytes:
    if isinstance(signature, str):
        try:
            signature = bytes.fromhex(signature)
        except ValueError:
            signature = b""
    if not isinstance(signature, bytes | bytearray) or len(signature) != 64:
        raise _error(
            BallotErrorCode.BAD_SIGNATURE,
            "签名格式错误（应为 64 字节）",
            "signature is malformed (expected 64 bytes / 128 hex digits)",
        )
    return bytes(signature)


def choice_text(choice: ChoiceValue) -> str:
    """A choice as a :class:`~votes.model.BallotRow` choice (election lists joined by ';')."""
    return choice if isinstance(choice, str) else ";".join(choice)


def ballot_rows(
    choices: Mapping[str, ChoiceValue],
    *,
    member_id: str,
    channel: Channel,
    time: datetime | None,
    seq: int,
) -> list[BallotRow]:
    """One tally row per motion chosen on a ballot."""
    # Positional arguments: this runs once per choice of every ballot in a bundle.
    return [
        BallotRow(
            member_id,
            motion_id,
            choice if type(choice) is str else ";".join(choice),
            channel,
            time,
            seq,
        )
        for motion_id, choice in choices.items()
    ]
