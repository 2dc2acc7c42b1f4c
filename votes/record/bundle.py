"""The bundle: one JSON file holding everything needed to verify a meeting offline.

Layout (docs/verification.md §Bundle)::

    {"format": "owner-vote-bundle", "v": 1, "meeting": id, "origin": log origin,
     "service_key": C2SP verifier key (type 0x01),
     "officers": [{"name": key name, "display_name": ..., "subdistrict": ...,
                   "key": C2SP cosignature verifier key (type 0x04)}],
     "entries": [entry, ...],                      # in log order
     "checkpoint": signed note of the whole log,
     "checkpoints": [{"note": signed note, "consistency": [hex, ...]}, ...]}

Entries are written in their canonical form, but a reader must not rely on
that: an entry's leaf bytes are the canonical JSON of the entry as parsed.

No JSON object in a bundle may repeat a key (docs/verification.md §Bundle).
:func:`decode_bundle` refuses a repeated key outside the entries; the
verifier's entry check refuses one inside an entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from votes.record.entries import Entry, entry_bytes
from votes.record.wire import FORMAT_VERSION, Hash32, repeated_key

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_SUFFIX",
    "Bundle",
    "BundleError",
    "EarlierCheckpoint",
    "OfficerKey",
    "build_bundle",
    "decode_bundle",
    "encode_bundle",
    "read_bundle",
    "write_bundle",
]

BUNDLE_FORMAT: Literal["owner-vote-bundle"] = "owner-vote-bundle"
BUNDLE_SUFFIX = ".ovb.json"

_OPTS: dict[str, Any] = {"frozen": True, "kw_only": True, "forbid_unknown_fields": True}


class BundleError(ValueError):
    """A bundle file cannot be read as a bundle."""


class OfficerKey(msgspec.Struct, **_OPTS):
    name: str  # the key name used in notes and in approval/certification entries
    display_name: str
    subdistrict: str
    key: str  # C2SP verifier key string, type 0x04 (tlog-cosignature Ed25519)


class EarlierCheckpoint(msgspec.Struct, **_OPTS):
    note: str  # signed checkpoint note (service signature, maybe officer cosignatures)
    consistency: list[Hash32]  # RFC 9162 consistency proof to the latest checkpoint


class Bundle(msgspec.Struct, **_OPTS):
    format: Literal["owner-vote-bundle"]
    v: int
    meeting: str
    origin: str
    service_key: str
    officers: list[OfficerKey]
    entries: list[msgspec.Raw]
    checkpoint: str
    checkpoints: list[EarlierCheckpoint]


def build_bundle(
    *,
    meeting: str,
    origin: str,
    service_key: str,
    officers: Sequence[OfficerKey],
    entries: Sequence[Entry],
    checkpoint: str,
    checkpoints: Sequence[EarlierCheckpoint],
) -> Bundle:
    return Bundle(
        format=BUNDLE_FORMAT,
        v=FORMAT_VERSION,
        meeting=meeting,
        origin=origin,
        service_key=service_key,
        officers=list(officers),
        entries=[msgspec.Raw(entry_bytes(entry)) for entry in entries],
        checkpoint=checkpoint,
        checkpoints=list(checkpoints),
    )


def encode_bundle(bundle: Bundle) -> bytes:
    return msgspec.json.encode(bundle)


def decode_bundle(data: bytes) -> Bundle:
    """Parse the bundle's outer structure (entries stay raw JSON, parsed by the verifier)."""
    try:
        bundle = msgspec.json.decode(data, type=Bundle)
    except msgspec.DecodeError as exc:
        raise BundleError(f"not an Owner Vote bundle: {exc}") from None
    if bundle.v != FORMAT_VERSION:
        raise BundleError(f"bundle version {bundle.v} is not supported (expected 1)")
    # The reference writer's bytes re-encode to themselves, and re-encoded text repeats
    # no key: only a bundle laid out otherwise needs the slow scan.
    if encode_bundle(bundle) != data:
        key = _repeated_outside_entries(data)
        if key is not None:
            raise BundleError(f"not an Owner Vote bundle: the key {key!r} repeats in an object")
    return bundle


def _repeated_outside_entries(data: bytes) -> str | None:
    """A key that some object of the bundle, outside its entries, repeats (else None)."""
    marked: dict[int, tuple[dict[str, Any], str]] = {}  # id -> (the object, repeated key)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) != len(items):
            marked[id(result)] = (result, repeated_key(items) or "")  # kept alive: ids stay unique
        return result

    try:
        top = json.loads(data, object_pairs_hook=pairs)
    except ValueError:
        return None  # msgspec read it as JSON; nothing more to say here
    if not marked or not isinstance(top, dict):
        return None
    if id(top) in marked:
        return marked[id(top)][1]
    stack = [value for name, value in top.items() if name != "entries"]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if id(value) in marked:
                return marked[id(value)][1]
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def write_bundle(bundle: Bundle, path: Path | str) -> None:
    Path(path).write_bytes(encode_bundle(bundle))


def read_bundle(path: Path | str) -> Bundle:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc}") from None
    return decode_bundle(data)
