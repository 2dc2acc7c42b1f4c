"""Ed25519 signatures with domain separation (pynacl / libsodium underneath).

Every signature in Owner Vote covers ``UTF-8(domain) || 0x00 || payload`` where
the domain names the kind of message (:class:`Domain`).  A signature made for one
kind of message (say a ballot) can therefore never be replayed as another (say a
certification), even when the payload bytes coincide.  Domains never contain
NUL, so the separator is unambiguous.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Self

import nacl.bindings
import nacl.exceptions
import nacl.signing

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "Domain",
    "PublicKey",
    "SignatureError",
    "SigningKey",
    "is_valid_point",
    "signed_message",
]

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class Domain(StrEnum):
    """Domain-separation prefixes, one per kind of signed message."""

    BALLOT = "owner-vote/ballot/v1"
    RECEIPT = "owner-vote/receipt/v1"
    PAPER_BALLOT = "owner-vote/paper-ballot/v1"
    TALLY = "owner-vote/tally/v1"
    APPROVAL = "owner-vote/approval/v1"
    CERTIFICATION = "owner-vote/certification/v1"
    OBJECTION = "owner-vote/objection/v1"
    ENTRY = "owner-vote/entry/v1"
    CREDENTIAL_CHANGE = "owner-vote/credential-change/v1"


class SignatureError(ValueError):
    """A signature, key or message is malformed, or a signature does not verify."""


def signed_message(domain: Domain | str, payload: bytes) -> bytes:
    """Return the exact bytes that are signed: ``UTF-8(domain) || 0x00 || payload``."""
    if not isinstance(domain, str) or not domain:
        raise SignatureError(f"domain must be a non-empty string, got {domain!r}")
    if "\x00" in domain:
        raise SignatureError(f"domain {domain!r} contains NUL, which is the separator")
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise SignatureError(f"payload must be bytes, got {type(payload).__name__}")
    return str(domain).encode("utf-8") + b"\x00" + bytes(payload)


def is_valid_point(raw: bytes) -> bool:
    """True iff ``raw`` encodes an Ed25519 point fit to be a signer's public key.

    libsodium's check (``crypto_core_ed25519_is_valid_point``): the bytes must
    decode canonically to a point on the curve, in the prime-order subgroup and
    not of small order (the identity among them). A "key" of small order
    verifies signatures anyone can make, so such a key must never be accepted as
    someone's credential.
    """
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) != PUBLIC_KEY_BYTES:
        return False
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(bytes(raw)))


def _as_bytes(value: object, *, length: int, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise SignatureError(f"{what} must be bytes, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != length:
        raise SignatureError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


class PublicKey:
    """An Ed25519 public key (32 raw bytes); compares and hashes by its bytes."""

    __slots__ = ("_raw", "_verify_key")

    def __init__(self, raw: bytes) -> None:
        self._raw = _as_bytes(raw, length=PUBLIC_KEY_BYTES, what="Ed25519 public key")
        self._verify_key = nacl.signing.VerifyKey(self._raw)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        return cls(raw)

    @classmethod
    def from_hex(cls, text: str) -> Self:
        try:
            raw = bytes.fromhex(text)
        except (ValueError, TypeError):
            raise SignatureError(f"public key {text!r} is not hexadecimal") from None
        return cls(raw)

    @property
    def raw(self) -> bytes:
        return self._raw

    def check_point(self) -> Self:
        """Return this key if it is a valid point (:func:`is_valid_point`), else raise.

        Keys read from a signed record need not pass (a bad key simply verifies
        nothing); keys that *enter* the system — credential registration,
        officer enrolment — must.
        """
        if not is_valid_point(self._raw):
            raise SignatureError(
                f"public key {self.hex()} is not a valid Ed25519 point "
                "(off the curve, not canonical, or of small order such as the identity)"
            )
        return self

    def hex(self) -> str:
        return self._raw.hex()

    def verify(self, domain: Domain | str, payload: bytes, signature: bytes) -> bool:
        """True iff ``signature`` is this key's signature of ``payload`` in ``domain``."""
        return self.verify_raw(signed_message(domain, payload), signature)

    def verify_raw(self, message: bytes, signature: bytes) -> bool:
        """Verify a signature over ``message`` as is (no domain prefix).

        Only for formats with their own framing (C2SP signed notes).
        """
        if not isinstance(signature, bytes | bytearray | memoryview):
            return False
        signature = bytes(signature)
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            self._verify_key.verify(bytes(message), signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True

    def verify_or_raise(self, domain: Domain | str, payload: bytes, signature: bytes) -> None:
        """Like :meth:`verify` but raise :class:`SignatureError` naming key and domain."""
        if not self.verify(domain, payload, signature):
            raise SignatureError(
                f"signature does not verify for key {self.hex()} in domain {str(domain)!r}"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash((PublicKey, self._raw))

    def __repr__(self) -> str:
        return f"PublicKey({self.hex()})"


class SigningKey:
    """An Ed25519 private key, held as its 32-byte RFC 8032 seed."""

    __slots__ = ("_public_key", "_seed", "_signing_key")

    def __init__(self, seed: bytes) -> None:
        self._seed = _as_bytes(seed, length=SEED_BYTES, what="Ed25519 seed")
        self._signing_key = nacl.signing.SigningKey(self._seed)
        self._public_key = PublicKey(bytes(self._signing_key.verify_key))

    @classmethod
    def generate(cls) -> Self:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @classmethod
    def from_seed(cls, seed: bytes) -> Self:
        return cls(seed)

    @property
    def seed(self) -> bytes:
        return self._seed

    @property
    def public_key(self) -> PublicKey:
        return self._public_key

    def sign(self, domain: Domain | str, payload: bytes) -> bytes:
        """Return the 64-byte signature of ``UTF-8(domain) || 0x00 || payload``."""
        return self.sign_raw(signed_message(domain, payload))

    def sign_raw(self, message: bytes) -> bytes:
        """Sign ``message`` as is, without a domain prefix.

        Only for formats that define their own framing (C2SP signed notes);
        everything of Owner Vote's own uses :meth:`sign`.
        """
        signed = self._signing_key.sign(bytes(message))
        return bytes(signed.signature)

    def __repr__(self) -> str:  # never print the seed
        return f"SigningKey(public_key={self._public_key.hex()})"
