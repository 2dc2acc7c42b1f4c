"""Ballot receipts: what the phone keeps to check later that its ballot is in the log.

A receipt body (canonical JSON, signed by the service with Domain.RECEIPT)::

    {"ballot": sha256 hex of the ballot bytes, "entry": leaf hash hex of the
     ballot's log entry, "index": log index, "meeting": id, "time": entry time, "v": 1}

Optionally a receipt carries a signed checkpoint (C2SP note) and the inclusion
proof of its entry in that checkpoint.  The short **tracking code** is the
first 50 bits of the ballot hash in RFC 4648 base32, as ``XXXXX-XXXXX``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any

import msgspec

from crypto.merkle import ProofError, leaf_hash, verify_inclusion
from crypto.notes import Checkpoint, NoteError, NoteVerifier, open_note
from crypto.signing import Domain, SigningKey
from votes.record.ballot import Ballot, ballot_bytes
from votes.record.entries import BallotEntry, ProxyBallotEntry, entry_bytes
from votes.record.wire import (
    FORMAT_VERSION,
    Hash32,
    RepeatedKeyError,
    SafeInt,
    SignatureHex,
    Time,
    all_hex,
    canonical,
    plain_json,
)

__all__ = [
    "Receipt",
    "ReceiptBody",
    "ReceiptError",
    "ReceiptProof",
    "build_receipt",
    "decode_receipt",
    "encode_receipt",
    "receipt_bytes",
    "tracking_code",
    "verify_receipt",
]

_OPTS: dict[str, Any] = {"frozen": True, "kw_only": True, "forbid_unknown_fields": True}


class ReceiptError(ValueError):
    """A receipt is malformed or does not check out."""


class ReceiptBody(msgspec.Struct, **_OPTS):
    v: int
    meeting: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    ballot: Hash32
    entry: Hash32
    index: SafeInt
    time: Time


class ReceiptProof(msgspec.Struct, **_OPTS):
    checkpoint: str  # a C2SP signed checkpoint note by the service
    inclusion: list[Hash32]


class Receipt(msgspec.Struct, **_OPTS):
    body: ReceiptBody
    signature: SignatureHex  # service, Domain.RECEIPT over canonical(body)
    proof: ReceiptProof | None = None

    @property
    def tracking_code(self) -> str:
        return tracking_code(self.body.ballot)


def tracking_code(ballot_hash: str) -> str:
    """``XXXXX-XXXXX``: the first 10 base32 symbols (50 bits) of the ballot hash."""
    symbols = base64.b32encode(bytes.fromhex(ballot_hash)).decode("ascii")[:10]
    return f"{symbols[:5]}-{symbols[5:]}"


def receipt_bytes(body: ReceiptBody) -> bytes:
    return canonical(body)


def build_receipt(
    *,
    entry: BallotEntry | ProxyBallotEntry,
    service_key: SigningKey,
    proof: ReceiptProof | None = None,
) -> Receipt:
    """The service's receipt for a logged ballot entry."""
    body = ReceiptBody(
        v=FORMAT_VERSION,
        meeting=entry.meeting,
        ballot=hashlib.sha256(ballot_bytes(entry.ballot)).hexdigest(),
        entry=leaf_hash(entry_bytes(entry)).hex(),
        index=entry.index,
        time=entry.time,
    )
    signature = service_key.sign(Domain.RECEIPT, receipt_bytes(body))
    return Receipt(body=body, signature=signature.hex(), proof=proof)


def encode_receipt(receipt: Receipt) -> bytes:
    return msgspec.json.encode(receipt)


def decode_receipt(data: bytes) -> Receipt:
    """A receipt from its JSON text; refuses (:class:`ReceiptError`) a key repeated in any object.

    A receipt is small, so its text is always scanned for repeated keys: a
    repeated ``index`` or ``entry`` would let two readers look up different
    entries.
    """
    try:
        receipt = msgspec.json.decode(data, type=Receipt)
    except msgspec.DecodeError as exc:
        raise ReceiptError(f"receipt is malformed: {exc}") from None
    try:
        plain_json(data)
    except RepeatedKeyError as exc:
        raise ReceiptError(f"receipt is malformed: {exc}") from None
    if receipt.body.v != FORMAT_VERSION:
        raise ReceiptError(f"receipt version {receipt.body.v} is not supported")
    return receipt


def verify_receipt(
    receipt: Receipt,
    *,
    service: NoteVerifier,
    ballot: Ballot | None = None,
    origin: str | None = None,
) -> Checkpoint | None:
    """Check the service signature, the ballot hash (if the ballot is given) and the proof.

    Returns the receipt's checkpoint (None without a proof); raises :class:`ReceiptError`.
    """
    body = receipt.body
    inclusion_hex = [] if receipt.proof is None else receipt.proof.inclusion
    # Lower-case only, as everywhere in the record (bytes.fromhex would take either case).
    if not all_hex([receipt.signature, body.ballot, body.entry, *inclusion_hex]):
        raise ReceiptError("the receipt has a field that is not lower-case hexadecimal")
    try:
        signature = bytes.fromhex(receipt.signature)
        entry_hash = bytes.fromhex(body.entry)
        inclusion = (
            [] if receipt.proof is None else [bytes.fromhex(h) for h in receipt.proof.inclusion]
        )
    except ValueError:
        raise ReceiptError("the receipt has a field that is not hexadecimal") from None
    if not service.public_key.verify(Domain.RECEIPT, receipt_bytes(body), signature):
        raise ReceiptError("the receipt's service signature does not verify")
    if ballot is not None:
        actual = hashlib.sha256(ballot_bytes(ballot)).hexdigest()
        if actual != body.ballot:
            raise ReceiptError(f"ballot hash {actual} differs from the receipt's {body.ballot}")
    if receipt.proof is None:
        return None
    try:
        note = open_note(receipt.proof.checkpoint, [service])
        checkpoint = Checkpoint.parse(note.text)
    except NoteError as exc:
        raise ReceiptError(f"the receipt's checkpoint is invalid: {exc}") from None
    if origin is not None and checkpoint.origin != origin:
        raise ReceiptError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    try:
        verify_inclusion(
            leaf_hash=entry_hash,
            index=body.index,
            size=checkpoint.size,
            proof=inclusion,
            root=checkpoint.root_hash,
        )
    except ProofError as exc:
        raise ReceiptError(f"inclusion proof fails: {exc}") from None
    return checkpoint
