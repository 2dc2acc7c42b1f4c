"""C2SP signed notes, tlog checkpoints and Ed25519 tlog cosignatures.

Formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature):

* A signed note is ``text`` + ``"\\n"`` + one or more signature lines
  ``"— <name> <base64(key id || signature)>\\n"`` (U+2014 EM DASH, a space).
  The text is valid UTF-8 without control characters other than newline, is
  non-empty, ends with a newline and contains no blank line, so the first blank
  line separates text and signatures.  The signed message is the text
  including its final newline.
* Key id = first 4 bytes of ``SHA-256(name || 0x0A || type || public key)``.
  Type 0x01 is an Ed25519 note signature; type 0x04 an Ed25519 cosignature
  whose signature bytes are ``8-byte big-endian timestamp || Ed25519 signature``
  over ``"cosignature/v1\\ntime <timestamp>\\n" + note text``.
* Key strings: verifier ``name+hash+base64(type || public key)``, signer
  ``PRIVATE+KEY+name+hash+base64(type || seed)`` where hash is the key id as
  8 lower-case hex digits.  Names are non-empty, without whitespace or ``+``.
* A checkpoint's text is ``origin\\nsize\\nbase64(root)\\n`` then optional
  non-empty extension lines.

:func:`open_note` reports signatures by keys it does not know as *unverified*
(not an error), raises :class:`NoteError` for any malformed input, for a
signature by a known key that does not verify, and when no signature from the
given verifiers verifies (or, with ``require_all=True``, when any is missing).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from crypto.signing import PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES, PublicKey, SigningKey

__all__ = [
    "KEY_TYPE_COSIGNATURE",
    "KEY_TYPE_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Note",
    "NoteError",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "Signer",
    "Verifier",
    "add_signatures",
    "cosignature_message",
    "key_id",
    "open_note",
    "parse_verifier_key",
    "sign_note",
]

KEY_TYPE_ED25519 = 0x01
KEY_TYPE_COSIGNATURE = 0x04
#: Open refuses notes with more signature lines than this (as Go's note package does).
MAX_SIGNATURES = 100
_SIG_PREFIX = "— "
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_KEY_ID_BYTES = 4
_TIMESTAMP_BYTES = 8
_HEX8 = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, key string, checkpoint or signature is malformed or does not verify."""


def _check_name(name: object) -> str:
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(char.isspace() for char in name)
        or any(0xD800 <= ord(char) <= 0xDFFF for char in name)
    ):
        raise NoteError(f"key name must be non-empty without whitespace or '+', got {name!r}")
    return name


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64: {text!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64: {text!r}")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """First 4 bytes of ``SHA-256(name || 0x0A || type || public_key)``."""
    _check_name(name)
    if not 0 <= key_type <= 0xFF:
        raise NoteError(f"key type must be one byte, got {key_type}")
    material = name.encode("utf-8") + b"\n" + bytes([key_type]) + bytes(public_key)
    return hashlib.sha256(material).digest()[:_KEY_ID_BYTES]


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise NoteError(f"note text must be str, got {type(text).__name__}")
    if not text:
        raise NoteError("note text is empty")
    if not text.endswith("\n"):
        raise NoteError(f"note text must end with a newline: {text[-40:]!r}")
    if text.startswith("\n") or "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    for position, char in enumerate(text):
        code = ord(char)
        if (code < 0x20 and char != "\n") or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            raise NoteError(f"note text contains control character {char!r} at {position}")
    return text


def _parse_key_string(text: str, *, private: bool) -> tuple[str, bytes, int, bytes]:
    """Split ``[PRIVATE+KEY+]name+hash+base64`` into (name, id, type, key bytes)."""
    if not isinstance(text, str):
        raise NoteError(f"key string must be str, got {type(text).__name__}")
    body = text
    if private:
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError("private key string must start with 'PRIVATE+KEY+'")
        body = text[len(_PRIVATE_PREFIX) :]
    # At most two splits: the base64 key may itself contain '+'.
    parts = body.split("+", 2)
    if len(parts) != 3:
        raise NoteError("key string must be name+hash+base64")
    name, hash_hex, encoded = parts
    _check_name(name)
    if not _HEX8.fullmatch(hash_hex):
        raise NoteError(f"key hash must be 8 lower-case hex digits, got {hash_hex!r}")
    raw = _b64decode(encoded, "key")
    if not raw:
        raise NoteError("key string has no key bytes")
    return name, bytes.fromhex(hash_hex), raw[0], raw[1:]


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note.

    ``signature`` is the raw bytes after the key id (for cosignatures this
    includes the 8-byte timestamp); ``timestamp`` is set for verified cosignatures.
    """

    name: str
    key_id: bytes
    signature: bytes
    timestamp: int | None = None

    def line(self) -> str:
        return f"{_SIG_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text, verified signatures, and signatures by unknown keys."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


class Signer(Protocol):
    """Anything that can add a signature line to a note."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: str) -> bytes:
        """Signature bytes (after the key id) over the note text."""
        ...


class Verifier(Protocol):
    """Anything that can check a signature line of a note."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: str, signature: bytes) -> bool: ...

    def timestamp(self, signature: bytes) -> int | None: ...


class NoteVerifier:
    """An Ed25519 (type 0x01) signed-note verifier key."""

    key_type = KEY_TYPE_ED25519

    def __init__(self, name: str, public_key: PublicKey) -> None:
        self._name = _check_name(name)
        self._public_key = public_key
        self._key_id = key_id(name, self.key_type, public_key.raw)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> PublicKey:
        return self._public_key

    @classmethod
    def from_key_string(cls, text: str) -> Self:
        name, hash_bytes, key_type, key = _parse_key_string(text, private=False)
        if key_type != cls.key_type:
            raise NoteError(
                f"key {name!r} has type 0x{key_type:02x}, expected 0x{cls.key_type:02x}"
            )
        if len(key) != PUBLIC_KEY_BYTES:
            raise NoteError(f"key {name!r} must hold 32 bytes, got {len(key)}")
        verifier = cls(name, PublicKey(key))
        if verifier.key_id != hash_bytes:
            raise NoteError(
                f"key hash {hash_bytes.hex()} does not match key {name!r} "
                f"(expected {verifier.key_id.hex()})"
            )
        return verifier

    def key_string(self) -> str:
        encoded = _b64encode(bytes([self.key_type]) + self._public_key.raw)
        return f"{self._name}+{self._key_id.hex()}+{encoded}"

    def verify(self, text: str, signature: bytes) -> bool:
        return self._public_key.verify_raw(text.encode("utf-8"), signature)

    def timestamp(self, signature: bytes) -> int | None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_string()!r})"


class NoteSigner:
    """An Ed25519 (type 0x01) signed-note signer key."""

    key_type = KEY_TYPE_ED25519

    def __init__(self, name: str, signing_key: SigningKey) -> None:
        self._name = _check_name(name)
        self._signing_key = signing_key
        self._key_id = key_id(name, self.key_type, signing_key.public_key.raw)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @classmethod
    def from_key_string(cls, text: str) -> Self:
        name, hash_bytes, key_type, key = _parse_key_string(text, private=True)
        if key_type != cls.key_type:
            raise NoteError(
                f"key {name!r} has type 0x{key_type:02x}, expected 0x{cls.key_type:02x}"
            )
        if len(key) != SEED_BYTES:
            raise NoteError(f"private key {name!r} must hold a 32-byte seed, got {len(key)}")
        signer = cls(name, SigningKey.from_seed(key))
        if signer.key_id != hash_bytes:
            raise NoteError(f"key hash {hash_bytes.hex()} does not match private key {name!r}")
        return signer

    def key_string(self) -> str:
        encoded = _b64encode(bytes([self.key_type]) + self._signing_key.seed)
        return f"{_PRIVATE_PREFIX}{self._name}+{self._key_id.hex()}+{encoded}"

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self._name, self._signing_key.public_key)

    def sign(self, text: str) -> bytes:
        return self._signing_key.sign_raw(_check_text(text).encode("utf-8"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier().key_string()!r})"


def cosignature_message(text: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosignature (type 0x04) signs."""
    _check_timestamp(timestamp)
    return f"cosignature/v1\ntime {timestamp}\n{_check_text(text)}".encode()


def _check_timestamp(timestamp: object) -> int:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp < 2**64:
        raise NoteError(f"timestamp must be an integer in [0, 2**64), got {timestamp!r}")
    return timestamp


class CosignatureVerifier(NoteVerifier):
    """A tlog-cosignature/v1 Ed25519 (type 0x04) verifier key."""

    key_type = KEY_TYPE_COSIGNATURE

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != _TIMESTAMP_BYTES + SIGNATURE_BYTES:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_BYTES], "big")
        message = cosignature_message(text, timestamp)
        return self._public_key.verify_raw(message, signature[_TIMESTAMP_BYTES:])

    def timestamp(self, signature: bytes) -> int | None:
        return int.from_bytes(signature[:_TIMESTAMP_BYTES], "big")


class _TimestampedSigner:
    def __init__(self, parent: CosignatureSigner, timestamp: int) -> None:
        self._parent = parent
        self._timestamp = _check_timestamp(timestamp)

    @property
    def name(self) -> str:
        return self._parent.name

    @property
    def key_id(self) -> bytes:
        return self._parent.key_id

    def sign(self, text: str) -> bytes:
        return self._parent.sign_at(text, self._timestamp)


class CosignatureSigner(NoteSigner):
    """A tlog-cosignature/v1 Ed25519 (type 0x04) signer key.

    Cosignatures carry a timestamp, so use :meth:`at` to get a :class:`Signer`
    for :func:`sign_note`, or :meth:`cosign` to get a signature line to add to
    an already signed checkpoint with :func:`add_signatures`.
    """

    key_type = KEY_TYPE_COSIGNATURE

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._signing_key.public_key)

    def sign(self, text: str) -> bytes:
        raise NoteError("a cosignature needs a timestamp: use CosignatureSigner.at(timestamp)")

    def sign_at(self, text: str, timestamp: int) -> bytes:
        signature = self._signing_key.sign_raw(cosignature_message(text, timestamp))
        return timestamp.to_bytes(_TIMESTAMP_BYTES, "big") + signature

    def at(self, timestamp: int) -> Signer:
        return _TimestampedSigner(self, timestamp)

    def cosign(self, checkpoint_body: str, timestamp: int) -> str:
        """Return the signature line cosigning ``checkpoint_body`` at ``timestamp``."""
        signature = self.sign_at(checkpoint_body, timestamp)
        return NoteSignature(self._name, self._key_id, signature).line()


def parse_verifier_key(text: str) -> NoteVerifier:
    """A verifier for a key string of type 0x01 or 0x04."""
    _, _, key_type, _ = _parse_key_string(text, private=False)
    if key_type == KEY_TYPE_COSIGNATURE:
        return CosignatureVerifier.from_key_string(text)
    return NoteVerifier.from_key_string(text)


def sign_note(text: str, *signers: Signer) -> str:
    """Return ``text`` signed by every signer, in order (at least one)."""
    _check_text(text)
    if not signers:
        raise NoteError("sign_note needs at least one signer")
    lines = [NoteSignature(s.name, s.key_id, s.sign(text)).line() for s in signers]
    return text + "\n" + "".join(lines)


def _split(signed: str) -> tuple[str, list[str]]:
    if not isinstance(signed, str):
        raise NoteError(f"signed note must be str, got {type(signed).__name__}")
    split = signed.find("\n\n")
    if split < 0:
        raise NoteError("signed note has no blank line before its signatures")
    text, block = signed[: split + 1], signed[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures; at most {MAX_SIGNATURES} allowed")
    return text, lines


def _parse_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"signature line must start with '— ': {line[:60]!r}")
    name, space, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not space:
        raise NoteError(f"signature line has no signature: {line[:60]!r}")
    _check_name(name)
    raw = _b64decode(encoded, f"signature of {name!r}")
    if len(raw) <= _KEY_ID_BYTES:
        raise NoteError(f"signature of {name!r} is too short ({len(raw)} bytes)")
    return NoteSignature(name, raw[:_KEY_ID_BYTES], raw[_KEY_ID_BYTES:])


def open_note(signed: str, verifiers: Sequence[Verifier], *, require_all: bool = False) -> Note:
    """Parse a signed note and verify its signatures by the given keys.

    Raises :class:`NoteError` if the note is malformed, a signature by one of
    ``verifiers`` is wrong, no verifier's signature is present (or, with
    ``require_all``, any verifier's is missing).  Signatures by other keys are
    returned in :attr:`Note.unverified`.  Repeated identical lines count once.
    """
    text, lines = _split(signed)
    known: dict[tuple[str, bytes], Verifier] = {}
    for candidate in verifiers:
        ident = (candidate.name, candidate.key_id)
        if ident in known and known[ident] is not candidate:
            raise NoteError(f"two verifiers share name {candidate.name!r} and key id")
        known[ident] = candidate
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unverified: dict[NoteSignature, None] = {}
    for line in lines:
        signature = _parse_line(line)
        ident = (signature.name, signature.key_id)
        verifier = known.get(ident)
        if verifier is None:
            unverified[signature] = None
            continue
        if not verifier.verify(text, signature.signature):
            raise NoteError(
                f"signature by {signature.name!r} ({signature.key_id.hex()}) does not verify"
            )
        previous = verified.get(ident)
        if previous is not None and previous.signature != signature.signature:
            raise NoteError(f"key {signature.name!r} signed the note twice, differently")
        verified[ident] = NoteSignature(
            signature.name,
            signature.key_id,
            signature.signature,
            verifier.timestamp(signature.signature),
        )
    if not verified:
        names = ", ".join(repr(v.name) for v in verifiers) or "none given"
        raise NoteError(f"note has no valid signature by any required key ({names})")
    if require_all:
        missing = [v.name for ident, v in known.items() if ident not in verified]
        if missing:
            raise NoteError(f"note lacks signatures by {', '.join(map(repr, missing))}")
    return Note(text=text, signatures=tuple(verified.values()), unverified=tuple(unverified))


def add_signatures(signed: str, *lines: str) -> str:
    """Append signature lines (e.g. cosignatures) to a signed note.

    The note and each line are checked for form only; verify with :func:`open_note`.
    """
    _split(signed)
    for line in lines:
        if not line.endswith("\n") or "\n" in line[:-1]:
            raise NoteError(f"a signature line must be one line ending in newline: {line!r}")
        _parse_line(line[:-1])
    return signed + "".join(lines)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog checkpoint body."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise NoteError(f"checkpoint origin must be one non-empty line, got {self.origin!r}")
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size < 2**64
        ):
            raise NoteError(f"checkpoint size must be an integer in [0, 2**64), got {self.size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise NoteError(f"checkpoint root hash must be 32 bytes, got {self.root_hash!r}")
        for extension in self.extensions:
            if not isinstance(extension, str) or not extension or "\n" in extension:
                raise NoteError(f"checkpoint extension must be one non-empty line: {extension!r}")
        _check_text(self.body())

    def body(self) -> str:
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse a checkpoint body (the text of a note, ending with newline)."""
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"checkpoint needs origin, size and root hash lines, got {len(lines)}")
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text):
            raise NoteError(f"checkpoint size must be decimal without leading zeros: {size_text!r}")
        root = _b64decode(root_text, "checkpoint root hash")
        return cls(origin=origin, size=int(size_text), root_hash=root, extensions=tuple(extensions))
