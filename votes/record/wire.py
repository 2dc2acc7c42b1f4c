"""Shared wire-level pieces of the meeting record: canonical bytes, times, field types.

Everything signed or hashed in the record is RFC 8785 canonical JSON
(:func:`crypto.canonical.canonical_json`).  For values that have already been
decoded into one of the record's msgspec Structs, the canonical bytes are
produced by msgspec's sorted-key encoder instead, which is some 40 times faster
(that matters: a bundle holds one entry per ballot).  The two agree exactly on
the values those Structs admit — ASCII object keys (field names and motion ids,
the latter constrained by :data:`MotionId`), strings of Unicode scalar values
(msgspec refuses lone surrogates when decoding), integers bounded by
:data:`SafeInt`, no floats — and ``tests/votes/record/test_entries.py`` checks
that equivalence against ``canonical_json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec

from crypto.canonical import MAX_SAFE_INTEGER, CanonicalError

__all__ = [
    "FORMAT_VERSION",
    "TIME_PATTERN",
    "ChoiceKey",
    "Hash32",
    "MotionId",
    "PublicKeyHex",
    "RepeatedKeyError",
    "SafeInt",
    "SignatureHex",
    "Time",
    "all_calendar_times",
    "all_hex",
    "all_times",
    "canonical",
    "format_time",
    "is_hex",
    "is_time",
    "parse_time",
    "plain_json",
    "repeated_key",
    "sha256_hex",
    "strict_canonical",
]

#: The ``v`` of every record object defined here (entries, ballots, receipts, bodies).
FORMAT_VERSION = 1

TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TIME_RE = re.compile(TIME_PATTERN)

#: A non-negative integer that canonical JSON can carry exactly.
SafeInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
# Hex and time fields are checked for length while decoding and for content by
# :func:`is_hex` / :func:`is_time` where they are used: msgspec's regex
# constraints cost more than the rest of decoding a ballot entry together.

#: 32 bytes as 64 lower-case hex digits (SHA-256 digests, Merkle hashes).
Hash32 = Annotated[str, msgspec.Meta(min_length=64, max_length=64)]
#: An Ed25519 public key as 64 lower-case hex digits.
PublicKeyHex = Hash32
#: An Ed25519 signature as 128 lower-case hex digits.
SignatureHex = Annotated[str, msgspec.Meta(min_length=128, max_length=128)]
#: A UTC instant, "YYYY-MM-DDTHH:MM:SSZ".
Time = Annotated[str, msgspec.Meta(min_length=20, max_length=20)]
#: A motion id: 1-64 printable ASCII characters without space (it is an object key in
#: ballots, and canonical JSON keys are ASCII).
MotionId = Annotated[str, msgspec.Meta(pattern=r"^[!-~]{1,64}$")]
#: A motion id used as a ballot key: its content is checked against the agenda.
ChoiceKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

_SORTED = msgspec.json.Encoder(order="sorted")


#: Canonical JSON bytes of a record Struct (or plain data of the same subset).
#: The encoder's own method, not a wrapper: the verifier calls it per ballot.
canonical: Callable[[Any], bytes] = _SORTED.encode


def is_hex(text: str, length: int) -> bool:
    """True iff ``text`` is exactly ``length`` lower-case hex digits."""
    if len(text) != length:
        return False
    try:
        return bytes.fromhex(text).hex() == text
    except ValueError:
        return False


def is_time(text: str) -> bool:
    return _TIME_RE.match(text) is not None


_TIMES_RE = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n)*")


def all_times(texts: list[str]) -> bool:
    """True iff every text is a record time (one regex pass over all of them)."""
    joined = "".join(text + "\n" for text in texts)
    return _TIMES_RE.fullmatch(joined) is not None


def all_hex(texts: list[str]) -> bool:
    """True iff every text is lower-case hex digits (pairs; one C-level pass over all).

    With each text of an even length, as the record's hex field types fix, this
    is ``is_hex`` of every text at its length.
    """
    joined = "".join(texts)
    try:
        return bytes.fromhex(joined).hex() == joined
    except ValueError:
        return False


_CLOCKS_RE = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z\n)*"
)


def all_calendar_times(texts: list[str]) -> bool:
    """True iff every text is a record time naming a real instant (``parse_time`` accepts it).

    False may also mean "check each": it is the fast path for many times.
    """
    if _CLOCKS_RE.fullmatch("".join(text + "\n" for text in texts)) is None:
        return False
    try:
        for day in {text[:10] for text in texts}:
            date.fromisoformat(day)
    except ValueError:
        return False
    return True


_ONLY_STR = frozenset({str})


def strict_canonical(value: Any) -> bytes:
    """Canonical JSON bytes of free-form JSON data (e.g. a tally result).

    Walks the value first and refuses, like ``canonical_json``, what canonical
    JSON here cannot carry: floats, integers beyond ±(2**53 - 1), non-ASCII or
    non-string keys, other types; then encodes with the sorted-key encoder.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise CanonicalError(f"integer {item} is outside ±(2**53 - 1)")
        elif kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    raise CanonicalError(f"object key {key!r} is not an ASCII string")
            stack.extend(item.values())
        elif kind is list:
            # Long lists of strings (member ids in a tally's notes) are common:
            # one C-level pass instead of one iteration each.
            if not _ONLY_STR.issuperset(map(type, item)):
                stack.extend(item)
        else:
            raise CanonicalError(f"value {item!r} of type {kind.__name__} is not canonical JSON")
    try:
        return _SORTED.encode(value)
    except UnicodeEncodeError as exc:
        raise CanonicalError(f"string is not valid Unicode: {exc}") from None


class RepeatedKeyError(ValueError):
    """A JSON object names the same key twice (``key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} repeats in one JSON object")
        self.key = key


def repeated_key(pairs: list[tuple[str, Any]]) -> str | None:
    """The first key a JSON object's ``pairs`` (as ``object_pairs_hook`` gets them) repeat."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return None


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise RepeatedKeyError(repeated_key(pairs) or "")
    return result


def plain_json(data: bytes | str) -> Any:
    """JSON text as plain data, refusing (:class:`RepeatedKeyError`) an object that repeats a key.

    msgspec, like most parsers, keeps the last of repeated keys silently, so two
    readers of the same text could see different values: the record's readers
    refuse such text instead.  This is the slow, exact path; the verifier takes
    it only for text that is not already canonical (canonical text cannot
    repeat a key).  Raises ValueError for text that is not JSON.
    """
    return json.loads(data, object_pairs_hook=_no_repeats)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an aware datetime (converted to UTC; seconds truncated)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment!r} has no time zone; record times are UTC instants")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The aware UTC datetime of a record time string (raises ValueError if malformed)."""
    if not isinstance(text, str) or not _TIME_RE.match(text):
        raise ValueError(f"time {text!r} is not of the form YYYY-MM-DDTHH:MM:SSZ")
    return datetime.fromisoformat(text)
