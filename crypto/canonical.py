"""Canonical JSON: the RFC 8785 (JCS) subset Owner Vote signs.

Everything that is signed or hashed (ballots, receipts, log entries, tallies) is
serialised with :func:`canonical_json`, so that every implementation (server,
phone, third-party verifier) derives the same bytes from the same value.

The subset:

* ``null``, ``true``, ``false``;
* integers with magnitude below 2**53 (the range JavaScript represents exactly);
* strings of any Unicode scalar values (Chinese motion titles are normal);
  emitted as UTF-8, escaping only what JCS requires: ``"``, ``\\`` and the
  control characters U+0000..U+001F (``\\b \\t \\n \\f \\r`` in short form, the
  others as ``\\u00xx`` with lower-case hex);
* arrays (``list``/``tuple``) and objects (``dict``) whose keys are ASCII
  strings, sorted by code point (equal to JCS's UTF-16 order for ASCII).

Floats (even integral ones such as ``56.0``), integers of magnitude >= 2**53,
non-ASCII object keys, lone surrogates and any other type are refused with a
:class:`CanonicalError` naming the offending value and its path (``$.a[0]``).
JCS number formatting of floats is deliberately out of scope: nothing signed
carries a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_SAFE_INTEGER", "CanonicalError", "canonical_json", "loads_canonical"]

#: Largest integer magnitude accepted (2**53 - 1, JavaScript's Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1

_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
# Only the characters RFC 8785 §3.2.2.2 requires to be escaped; everything else is literal.
_ESCAPE_TABLE = {code: _SHORT_ESCAPES.get(chr(code), f"\\u{code:04x}") for code in range(0x20)} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


class CanonicalError(ValueError):
    """A value cannot be, or bytes are not, canonical JSON in Owner Vote's subset."""


def _path_key(path: str, key: str) -> str:
    if key.isidentifier() and key.isascii():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _encode_string(value: str, path: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise CanonicalError(
            f"string at {path} contains a lone surrogate U+{ord(bad):04X}; not valid Unicode"
        ) from None
    return '"' + value.translate(_ESCAPE_TABLE) + '"'


def _encode(value: object, path: str, parts: list[str], active: set[int]) -> None:
    # Order matters: bool is a subclass of int.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        number = int(value)
        if abs(number) > MAX_SAFE_INTEGER:
            raise CanonicalError(
                f"integer {number} at {path} is outside ±(2**53 - 1); "
                "encode large numbers as strings"
            )
        parts.append(str(number))
    elif isinstance(value, float):
        raise CanonicalError(
            f"float {value!r} at {path} is not allowed in canonical JSON; "
            "use an integer (e.g. 0.01 m² units) or a string"
        )
    elif isinstance(value, str):
        parts.append(_encode_string(value, path))
    elif isinstance(value, list | tuple):
        _enter(value, path, active)
        parts.append("[")
        for position, item in enumerate(value):
            if position:
                parts.append(",")
            _encode(item, f"{path}[{position}]", parts, active)
        parts.append("]")
        active.discard(id(value))
    elif isinstance(value, Mapping):
        _enter(value, path, active)
        keys: list[str] = []
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} at {path} is not a string")
            if not key.isascii():
                raise CanonicalError(
                    f"object key {key!r} at {path} is not ASCII; only ASCII keys are allowed"
                )
            keys.append(key)
        parts.append("{")
        for position, key in enumerate(sorted(keys)):
            if position:
                parts.append(",")
            parts.append(_encode_string(key, path))
            parts.append(":")
            _encode(value[key], _path_key(path, key), parts, active)
        parts.append("}")
        active.discard(id(value))
    else:
        raise CanonicalError(
            f"value {value!r} of type {type(value).__name__} at {path} cannot be encoded; "
            "allowed: None, bool, int, str, list, tuple, dict"
        )


def _enter(container: object, path: str, active: set[int]) -> None:
    if id(container) in active:
        raise CanonicalError(f"container at {path} contains itself")
    active.add(id(container))


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of ``value``.

    Raises :class:`CanonicalError` (naming the value and its path) for anything
    outside the subset described in the module docstring.
    """
    parts: list[str] = []
    _encode(value, "$", parts, set())
    return "".join(parts).encode("utf-8")


def _reject_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer; floats are not canonical here")


def _reject_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalError(f"duplicate object key {key!r}")
        result[key] = item
    return result


def loads_canonical(data: bytes) -> Any:
    """Parse ``data`` as JSON and require it to be exactly its canonical form.

    Rejects (with :class:`CanonicalError`) invalid UTF-8, whitespace, unsorted or
    duplicate keys, escapes not in canonical form, floats, big integers, ``-0``,
    and anything else whose re-encoding differs from ``data``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CanonicalError(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalError(
            f"not UTF-8 at byte {exc.start}: {raw[exc.start : exc.end]!r}"
        ) from None
    try:
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except CanonicalError:
        raise
    except RecursionError:  # nesting deeper than the interpreter's recursion limit
        raise CanonicalError("JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or int too long to convert
        raise CanonicalError(f"not JSON: {exc}") from None
    try:
        encoded = canonical_json(value)
    except RecursionError:  # parsed, but too deep to re-encode
        raise CanonicalError("JSON is nested too deeply") from None
    if encoded != raw:
        position = next(
            (i for i, (a, b) in enumerate(zip(encoded, raw, strict=False)) if a != b),
            min(len(encoded), len(raw)),
        )
        raise CanonicalError(
            f"JSON is not in canonical form (first difference at byte {position}: "
            f"got {raw[position : position + 12]!r}, "
            f"canonical {encoded[position : position + 12]!r})"
        )
    return value
