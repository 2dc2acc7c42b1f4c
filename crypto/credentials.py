"""Voting credentials: 16-byte secrets, their printed forms, and key derivation.

A credential secret is printed on a member's letter in two forms (docs/design.md §4):

* the **code**: RFC 4648 base32 of the 16 bytes without padding (26 symbols)
  plus one check symbol, 27 symbols from ``A-Z2-7``; grouped for print as
  ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XX``;
* the **QR URL** ``{base_url}/b/{meeting_code}#k={code}`` (the code sits in the
  fragment, so it never reaches the server).

The check symbol is a weighted sum in GF(32) (see :func:`check_symbol` and
docs/credentials.md): it catches every single-symbol error and every
transposition of two symbols (adjacent or not).

Parsing is forgiving about presentation only: case, spaces, dashes, full-width
forms (NFKC) and the look-alike digits ``0``→``O``, ``1``→``I``, ``8``→``B``
(digits 0, 1, 8, 9 are not in the base32 alphabet, so the mapping is never
ambiguous).  Everything else must be exact and the check symbol must match.

The phone derives the member's Ed25519 key as
``seed = SHA-256("owner-vote/credential/v1" || 0x00 || UTF-8(meeting_id) || 0x00 || secret)``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from crypto.signing import SigningKey

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "CREDENTIAL_DOMAIN",
    "SECRET_BYTES",
    "CredentialError",
    "CredentialLink",
    "check_symbol",
    "credential_url",
    "derive_seed",
    "derive_signing_key",
    "display_secret",
    "format_secret",
    "new_secret",
    "parse_credential_url",
    "parse_secret",
]

SECRET_BYTES = 16
#: RFC 4648 base32 alphabet; a symbol's value is its position.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_DATA_SYMBOLS = 26  # ceil(128 / 5)
CODE_LENGTH = _DATA_SYMBOLS + 1
CREDENTIAL_DOMAIN = "owner-vote/credential/v1"
_GROUP = 5
# x^5 + x^2 + 1: irreducible, hence primitive (31 is prime); x generates GF(32)*.
_REDUCTION = 0b100101
_LOOKALIKES = {"0": "O", "1": "I", "8": "B"}
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_MEETING_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_URL_SHAPE = re.compile(
    r"(?P<base>https?://[^#?\s]+?)/b/(?P<meeting>[^/#?\s]+)#k=(?P<code>[^&\s]+)"
)


class CredentialError(ValueError):
    """A credential secret, code or URL is malformed."""


@dataclass(frozen=True, slots=True)
class CredentialLink:
    """The parts of a credential QR URL."""

    base_url: str
    meeting_code: str
    secret: bytes


def _times_x(value: int) -> int:
    value <<= 1
    if value & 0b100000:
        value ^= _REDUCTION
    return value


def _syndrome(values: list[int]) -> int:
    # Horner evaluation: sum of v_i * x^(n-1-i) in GF(32).
    total = 0
    for value in values:
        total = _times_x(total) ^ value
    return total


def check_symbol(data: str) -> str:
    """Return the check symbol for 26 base32 data symbols (upper case).

    With data values ``d_0..d_25`` (positions in :data:`ALPHABET`) the check
    value is ``c = sum(d_i * x^(26-i))`` in GF(2^5) = GF(2)[x]/(x^5 + x^2 + 1),
    i.e. the whole 27-symbol code evaluates to zero as a polynomial at ``x``.
    """
    if len(data) != _DATA_SYMBOLS or any(symbol not in _VALUE for symbol in data):
        raise CredentialError(f"check_symbol needs 26 base32 symbols, got {data!r}")
    return ALPHABET[_times_x(_syndrome([_VALUE[symbol] for symbol in data]))]


def _require_secret(secret: object) -> bytes:
    if not isinstance(secret, bytes | bytearray):
        raise CredentialError(f"secret must be bytes, got {type(secret).__name__}")
    if len(secret) != SECRET_BYTES:
        raise CredentialError(f"secret must be {SECRET_BYTES} bytes, got {len(secret)}")
    return bytes(secret)


def new_secret() -> bytes:
    """Return a fresh random 16-byte secret from the OS CSPRNG."""
    return secrets.token_bytes(SECRET_BYTES)


def format_secret(secret: bytes) -> str:
    """Return the 27-symbol code: 26 base32 symbols then the check symbol."""
    data = base64.b32encode(_require_secret(secret)).decode("ascii").rstrip("=")
    return data + check_symbol(data)


def display_secret(secret: bytes) -> str:
    """Return the code grouped for print: ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XX``."""
    code = format_secret(secret)
    return "-".join(code[start : start + _GROUP] for start in range(0, len(code), _GROUP))


def parse_secret(text: str) -> bytes:
    """Parse a typed or scanned code back to the 16-byte secret.

    Accepts any case, spaces, dashes, full-width characters and the digits
    0/1/8 for O/I/B.  Raises :class:`CredentialError` (bilingual message) for
    any other symbol, a wrong length or a failed check symbol.
    """
    if not isinstance(text, str):
        raise CredentialError(f"code must be text, got {type(text).__name__}")
    normalised = unicodedata.normalize("NFKC", text).upper()
    symbols: list[str] = []
    for position, char in enumerate(normalised):
        if char.isspace() or unicodedata.category(char) == "Pd":
            continue
        symbol = _LOOKALIKES.get(char, char)
        if symbol not in _VALUE:
            raise CredentialError(
                f"凭证码含无效字符 {char!r}（第 {position + 1} 个字符）"
                f" credential code contains invalid character {char!r} at position {position + 1}"
            )
        symbols.append(symbol)
    if len(symbols) != CODE_LENGTH:
        raise CredentialError(
            f"凭证码应为 {CODE_LENGTH} 个字符，实际 {len(symbols)} 个"
            f" credential code must have {CODE_LENGTH} characters, got {len(symbols)}"
        )
    if _syndrome([_VALUE[symbol] for symbol in symbols]) != 0:
        raise CredentialError(
            "凭证码校验失败，请检查是否输错 credential code check failed; please re-check the code"
        )
    data = "".join(symbols[:_DATA_SYMBOLS])
    secret = base64.b32decode(data + "======")
    # The last data symbol carries 2 unused bits; only the zero form is canonical.
    if base64.b32encode(secret).decode("ascii").rstrip("=") != data:
        raise CredentialError(
            f"凭证码末位无效 credential code is not canonical (symbol {data[-1]!r} at position 26)"
        )
    return secret


def _normalise_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not re.fullmatch(r"https?://[^#?\s]+", base_url):
        raise CredentialError(
            f"base_url must be an http(s) URL without query or fragment, got {base_url!r}"
        )
    return base_url.rstrip("/")


def credential_url(*, base_url: str, meeting_code: str, secret: bytes) -> str:
    """Return the QR URL ``{base_url}/b/{meeting_code}#k={code}``."""
    base = _normalise_base_url(base_url)
    if not isinstance(meeting_code, str) or not _MEETING_CODE.fullmatch(meeting_code):
        raise CredentialError(
            f"meeting_code must be 1-64 characters from A-Z a-z 0-9 _ -, got {meeting_code!r}"
        )
    return f"{base}/b/{meeting_code}#k={format_secret(secret)}"


def parse_credential_url(url: str) -> CredentialLink:
    """Split a credential URL into base URL, meeting code and secret."""
    match = _URL_SHAPE.fullmatch(url.strip()) if isinstance(url, str) else None
    if match is None or not _MEETING_CODE.fullmatch(match["meeting"]):
        raise CredentialError(
            f"not a credential URL ({{base_url}}/b/{{meeting}}#k={{code}}): {url!r}"
        )
    return CredentialLink(
        base_url=match["base"], meeting_code=match["meeting"], secret=parse_secret(match["code"])
    )


def derive_seed(meeting_id: str, secret: bytes) -> bytes:
    """Return the member's Ed25519 seed for ``meeting_id`` (docs/design.md §4)."""
    if not isinstance(meeting_id, str) or not meeting_id:
        raise CredentialError(f"meeting_id must be a non-empty string, got {meeting_id!r}")
    if "\x00" in meeting_id:
        raise CredentialError(f"meeting_id {meeting_id!r} contains NUL, the field separator")
    try:
        encoded_id = meeting_id.encode("utf-8")
    except UnicodeEncodeError:
        raise CredentialError(f"meeting_id {meeting_id!r} is not valid Unicode") from None
    material = CREDENTIAL_DOMAIN.encode("ascii") + b"\x00" + encoded_id + b"\x00"
    return hashlib.sha256(material + _require_secret(secret)).digest()


def derive_signing_key(meeting_id: str, secret: bytes) -> SigningKey:
    """Return the member's Ed25519 signing key for ``meeting_id``."""
    return SigningKey.from_seed(derive_seed(meeting_id, secret))
