"""Receipts: service signature, tracking code, inclusion proof against a checkpoint."""

from __future__ import annotations

import base64
import hashlib

import msgspec
import pytest

from crypto.canonical import canonical_json
from crypto.signing import Domain
from votes.record.ballot import ballot_bytes
from votes.record.entries import BallotEntry, ProxyBallotEntry
from votes.record.receipt import (
    ReceiptError,
    build_receipt,
    decode_receipt,
    encode_receipt,
    tracking_code,
    verify_receipt,
)
from votes.record.simulate import Simulation


def _ballot_entry(sim: Simulation, index: int) -> BallotEntry | ProxyBallotEntry:
    entry = sim.entries[index]
    assert isinstance(entry, BallotEntry | ProxyBallotEntry)
    return entry


def test_simulated_receipts_verify_with_their_inclusion_proofs(sim: Simulation) -> None:
    verifier = sim.service.verifier()
    for receipt in sim.receipts:
        entry = _ballot_entry(sim, receipt.body.index)
        checkpoint = verify_receipt(
            receipt, service=verifier, ballot=entry.ballot, origin=sim.bundle.origin
        )
        assert checkpoint is not None
        assert checkpoint.size > receipt.body.index


def test_receipt_signature_is_over_the_canonical_body(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    body = canonical_json(msgspec.to_builtins(receipt.body))
    assert sim.service_key.public_key.verify(Domain.RECEIPT, body, bytes.fromhex(receipt.signature))


def test_receipt_names_the_ballot_hash(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    entry = _ballot_entry(sim, receipt.body.index)
    assert receipt.body.ballot == hashlib.sha256(ballot_bytes(entry.ballot)).hexdigest()


def test_tracking_code_is_the_first_fifty_bits_in_base32() -> None:
    digest = bytes(range(32))
    # 0x00 0x01 0x02 0x03 0x04 0x05 0x06 -> base32 "AAAQEAYEAUDA..." (RFC 4648)
    expected = base64.b32encode(digest).decode()[:10]
    assert tracking_code(digest.hex()) == f"{expected[:5]}-{expected[5:]}"
    assert tracking_code(digest.hex()) == "AAAQE-AYEAU"


def test_changed_receipt_body_fails(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    forged = msgspec.structs.replace(
        receipt, body=msgspec.structs.replace(receipt.body, index=receipt.body.index + 1)
    )
    with pytest.raises(ReceiptError, match="signature"):
        verify_receipt(forged, service=sim.service.verifier())


def test_receipt_for_another_ballot_fails(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    other = _ballot_entry(sim, sim.receipts[1].body.index)
    with pytest.raises(ReceiptError, match="ballot hash"):
        verify_receipt(receipt, service=sim.service.verifier(), ballot=other.ballot)


def test_wrong_inclusion_proof_fails(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    assert receipt.proof is not None
    proof = msgspec.structs.replace(
        receipt.proof, inclusion=["00" * 32, *receipt.proof.inclusion[1:]]
    )
    with pytest.raises(ReceiptError, match="inclusion"):
        verify_receipt(
            msgspec.structs.replace(receipt, proof=proof), service=sim.service.verifier()
        )


def test_receipt_without_proof_checks_signature_only(sim: Simulation) -> None:
    entry = _ballot_entry(sim, sim.receipts[0].body.index)
    receipt = build_receipt(entry=entry, service_key=sim.service_key)
    assert verify_receipt(receipt, service=sim.service.verifier(), ballot=entry.ballot) is None


def test_receipt_round_trips_through_json(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    assert decode_receipt(encode_receipt(receipt)) == receipt


def test_garbage_is_not_a_receipt() -> None:
    with pytest.raises(ReceiptError):
        decode_receipt(b'{"body": 1}')
