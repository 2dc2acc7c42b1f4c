"""Domain-separated Ed25519 signatures."""

from __future__ import annotations

import itertools

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.signing import (
    Domain,
    PublicKey,
    SignatureError,
    SigningKey,
    is_valid_point,
    signed_message,
)

# RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_without_domain(
    seed: str, public: str, message: str, signature: str
) -> None:
    key = SigningKey.from_seed(bytes.fromhex(seed))
    assert key.public_key.hex() == public
    assert key.sign_raw(bytes.fromhex(message)).hex() == signature
    assert PublicKey.from_hex(public).verify_raw(bytes.fromhex(message), bytes.fromhex(signature))


def test_domains_are_the_agreed_strings() -> None:
    assert {d.name: d.value for d in Domain} == {
        "BALLOT": "owner-vote/ballot/v1",
        "RECEIPT": "owner-vote/receipt/v1",
        "PAPER_BALLOT": "owner-vote/paper-ballot/v1",
        "TALLY": "owner-vote/tally/v1",
        "APPROVAL": "owner-vote/approval/v1",
        "CERTIFICATION": "owner-vote/certification/v1",
        "ENTRY": "owner-vote/entry/v1",
        "CREDENTIAL_CHANGE": "owner-vote/credential-change/v1",
        "OBJECTION": "owner-vote/objection/v1",
    }


def test_signed_message_is_domain_nul_payload() -> None:
    assert signed_message(Domain.BALLOT, b"{}") == b"owner-vote/ballot/v1\x00{}"
    assert signed_message("x/y", b"") == b"x/y\x00"


def test_signature_covers_the_domain_prefix() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    signature = key.sign(Domain.TALLY, b"payload")
    assert key.public_key.verify_raw(b"owner-vote/tally/v1\x00payload", signature)
    assert not key.public_key.verify_raw(b"payload", signature)


def test_signature_does_not_verify_in_any_other_domain() -> None:
    key = SigningKey.generate()
    for signing_domain, checking_domain in itertools.permutations(Domain, 2):
        signature = key.sign(signing_domain, b"same bytes")
        assert key.public_key.verify(signing_domain, b"same bytes", signature)
        assert not key.public_key.verify(checking_domain, b"same bytes", signature)


@settings(max_examples=50)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=511))
def test_any_bit_flip_in_signature_fails(payload: bytes, bit: int) -> None:
    key = SigningKey.from_seed(bytes(32))
    signature = bytearray(key.sign(Domain.BALLOT, payload))
    signature[bit // 8] ^= 1 << (bit % 8)
    assert not key.public_key.verify(Domain.BALLOT, payload, bytes(signature))


@settings(max_examples=50)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_any_bit_flip_in_payload_fails(payload: bytes, data: st.DataObject) -> None:
    key = SigningKey.from_seed(bytes(32))
    signature = key.sign(Domain.BALLOT, payload)
    bit = data.draw(st.integers(min_value=0, max_value=len(payload) * 8 - 1))
    changed = bytearray(payload)
    changed[bit // 8] ^= 1 << (bit % 8)
    assert not key.public_key.verify(Domain.BALLOT, bytes(changed), signature)


def test_other_key_does_not_verify() -> None:
    signature = SigningKey.from_seed(bytes(32)).sign(Domain.RECEIPT, b"m")
    assert not SigningKey.from_seed(bytes([1]) * 32).public_key.verify(
        Domain.RECEIPT, b"m", signature
    )


def test_wrong_length_signature_is_false_not_an_exception() -> None:
    key = SigningKey.from_seed(bytes(32))
    assert not key.public_key.verify(Domain.BALLOT, b"m", b"\x00" * 63)


def test_verify_or_raise_names_key_and_domain() -> None:
    key = SigningKey.from_seed(bytes(32))
    key.public_key.verify_or_raise(Domain.ENTRY, b"m", key.sign(Domain.ENTRY, b"m"))
    with pytest.raises(SignatureError, match=f"{key.public_key.hex()}.*owner-vote/entry/v1"):
        key.public_key.verify_or_raise(Domain.ENTRY, b"m", bytes(64))


def test_public_keys_compare_and_hash_by_bytes() -> None:
    key = SigningKey.from_seed(bytes(32)).public_key
    same = PublicKey.from_hex(key.hex())
    assert key == same
    assert hash(key) == hash(same)
    assert len({key, same}) == 1
    assert PublicKey.from_bytes(key.raw) == key


@pytest.mark.parametrize("domain", ["", "a\x00b"])
def test_bad_domains_are_refused(domain: str) -> None:
    with pytest.raises(SignatureError):
        signed_message(domain, b"")


def test_bad_key_material_is_refused() -> None:
    with pytest.raises(SignatureError, match="32 bytes, got 31"):
        SigningKey.from_seed(bytes(31))
    with pytest.raises(SignatureError, match="not hexadecimal"):
        PublicKey.from_hex("zz")
    with pytest.raises(SignatureError, match="32 bytes, got 2"):
        PublicKey.from_hex("abcd")


def test_signing_key_repr_hides_the_seed() -> None:
    seed = bytes(range(32))
    assert seed.hex() not in repr(SigningKey.from_seed(seed))


# Encodings (RFC 8032 §5.1.2: little-endian y, top bit the sign of x) that are not
# fit to be anyone's public key.
_IDENTITY = bytes([1]) + bytes(31)  # y = 1: the neutral element
_ORDER_TWO = bytes.fromhex("ec" + "ff" * 30 + "7f")  # y = -1
_ORDER_FOUR = bytes(32)  # y = 0
_OFF_CURVE = bytes([2]) + bytes(31)  # y = 2: (y² - 1) / (d y² + 1) is not a square mod p
_NON_CANONICAL_IDENTITY = bytes.fromhex("ee" + "ff" * 30 + "7f")  # y = p + 1
_MIXED_ORDER = nacl.bindings.crypto_core_ed25519_add(
    SigningKey.from_seed(bytes(32)).public_key.raw, _ORDER_TWO
)  # a real key plus a point of order two


@pytest.mark.parametrize(
    "raw",
    [_IDENTITY, _ORDER_TWO, _ORDER_FOUR, _OFF_CURVE, _NON_CANONICAL_IDENTITY, _MIXED_ORDER],
    ids=["identity", "order-2", "order-4", "off-curve", "non-canonical", "mixed-order"],
)
def test_weak_or_invalid_points_are_not_valid_keys(raw: bytes) -> None:
    assert not is_valid_point(raw)
    with pytest.raises(SignatureError, match="not a valid Ed25519 point"):
        PublicKey.from_bytes(raw).check_point()


@given(st.binary(min_size=32, max_size=32))
@settings(max_examples=50)
def test_generated_keys_are_valid_points(seed: bytes) -> None:
    key = SigningKey.from_seed(seed).public_key
    assert is_valid_point(key.raw)
    assert key.check_point() is key


def test_is_valid_point_is_false_for_the_wrong_length() -> None:
    assert not is_valid_point(SigningKey.from_seed(bytes(32)).public_key.raw[:31])
