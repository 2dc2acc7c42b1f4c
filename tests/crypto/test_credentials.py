"""Credential codes, URLs and key derivation."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.credentials import (
    ALPHABET,
    SECRET_BYTES,
    CredentialError,
    check_symbol,
    credential_url,
    derive_seed,
    derive_signing_key,
    display_secret,
    format_secret,
    new_secret,
    parse_credential_url,
    parse_secret,
)
from crypto.signing import Domain

secrets_16 = st.binary(min_size=SECRET_BYTES, max_size=SECRET_BYTES)


def _vectors(shared_testdata: Path) -> list[dict[str, Any]]:
    data = json.loads((shared_testdata / "credential_vectors.json").read_text(encoding="utf-8"))
    vectors: list[dict[str, Any]] = data["vectors"]
    return vectors


def test_derivation_reproduces_every_published_vector(shared_testdata: Path) -> None:
    vectors = _vectors(shared_testdata)
    assert len(vectors) == 3
    for vector in vectors:
        secret = bytes.fromhex(vector["secret_hex"])
        key = derive_signing_key(vector["meeting_id"], secret)
        assert derive_seed(vector["meeting_id"], secret).hex() == vector["seed_hex"]
        assert key.public_key.hex() == vector["public_key_hex"]
        message = vector["example_message_utf8"].encode("utf-8")
        signature = key.sign(Domain.BALLOT, message)
        assert signature.hex() == vector["signature_hex"]
        assert key.public_key.verify(Domain.BALLOT, message, signature)


# An independent GF(32) reference: carry-less multiplication, then reduction
# by x^5 + x^2 + 1, evaluated as an explicit weighted sum (not Horner).
def _gf_mul(a: int, b: int) -> int:
    product = 0
    for bit in range(5):
        if b >> bit & 1:
            product ^= a << bit
    for bit in range(9, 4, -1):
        if product >> bit & 1:
            product ^= 0b100101 << (bit - 5)
    return product


def _gf_pow_x(exponent: int) -> int:
    result = 1
    for _ in range(exponent):
        result = _gf_mul(result, 2)
    return result


def _reference_check(data: str) -> str:
    total = 0
    for position, symbol in enumerate(data):
        total ^= _gf_mul(ALPHABET.index(symbol), _gf_pow_x(26 - position))
    return ALPHABET[total]


def test_x_generates_the_whole_multiplicative_group() -> None:
    powers = {_gf_pow_x(k) for k in range(31)}
    assert powers == set(range(1, 32))


def test_check_symbol_hand_worked_examples() -> None:
    # All-zero data: the sum is 0 -> 'A'.  A single 1 in the last data
    # position has weight x -> value 2 -> 'C'; one position earlier x^2 -> 'E'.
    assert check_symbol("A" * 26) == "A"
    assert check_symbol("A" * 25 + "B") == "C"
    assert check_symbol("A" * 24 + "BA") == "E"
    # x^5 = x^2 + 1 (value 5 -> 'F'): the 1 at position 21 has weight x^5.
    assert check_symbol("A" * 21 + "B" + "A" * 4) == "F"


@settings(max_examples=200)
@given(st.text(alphabet=ALPHABET, min_size=26, max_size=26))
def test_check_symbol_matches_reference_weighted_sum(data: str) -> None:
    assert check_symbol(data) == _reference_check(data)


@settings(max_examples=100)
@given(secrets_16)
def test_code_is_base32_of_the_secret_plus_check(secret: bytes) -> None:
    code = format_secret(secret)
    assert len(code) == 27
    assert code[:26] == base64.b32encode(secret).decode().rstrip("=")
    assert code[26] == _reference_check(code[:26])


def test_display_groups_by_five() -> None:
    secret = bytes(range(16))
    code = format_secret(secret)
    shown = display_secret(secret)
    assert shown.split("-") == [
        code[0:5],
        code[5:10],
        code[10:15],
        code[15:20],
        code[20:25],
        code[25:],
    ]


@settings(max_examples=100)
@given(secrets_16)
def test_parse_round_trips_code_and_display(secret: bytes) -> None:
    assert parse_secret(format_secret(secret)) == secret
    assert parse_secret(display_secret(secret)) == secret


@settings(max_examples=100)
@given(secrets_16)
def test_parse_tolerates_case_spaces_dashes_and_full_width(secret: bytes) -> None:
    code = format_secret(secret)
    spaced = " ".join(code[i : i + 3] for i in range(0, 27, 3)).lower()
    assert parse_secret(f"  {spaced}\n") == secret
    assert parse_secret("--".join(code)) == secret
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # Ａ..Ｚ, ２..７
    assert parse_secret(full_width) == secret


@settings(max_examples=100)
@given(secrets_16)
def test_parse_maps_lookalike_digits(secret: bytes) -> None:
    code = format_secret(secret)
    confused = code.replace("O", "0").replace("I", "1").replace("B", "8")
    assert parse_secret(confused) == secret


@settings(max_examples=30)
@given(secrets_16)
def test_every_single_symbol_substitution_is_detected(secret: bytes) -> None:
    code = format_secret(secret)
    for position in range(27):
        for symbol in ALPHABET:
            if symbol == code[position]:
                continue
            typo = code[:position] + symbol + code[position + 1 :]
            with pytest.raises(CredentialError):
                parse_secret(typo)


@settings(max_examples=30)
@given(secrets_16)
def test_every_transposition_is_detected(secret: bytes) -> None:
    code = format_secret(secret)
    for first in range(27):
        for second in range(first + 1, 27):
            if code[first] == code[second]:
                continue
            swapped = list(code)
            swapped[first], swapped[second] = swapped[second], swapped[first]
            with pytest.raises(CredentialError):
                parse_secret("".join(swapped))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A" * 26, "must have 27"),
        ("A" * 28, "must have 27"),
        ("A" * 26 + "9", "invalid character '9'"),
        ("A" * 26 + "!", "invalid character '!'"),
        ("A" * 26 + "B", "check failed"),
    ],
)
def test_parse_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        parse_secret(text)


def test_parse_refuses_non_canonical_padding_bits() -> None:
    # The 26th symbol holds 3 data bits and 2 zero bits; 'B' (value 1) sets a padding bit.
    data = "A" * 25 + "B"
    with pytest.raises(CredentialError, match="not canonical"):
        parse_secret(data + check_symbol(data))


def test_format_refuses_wrong_secret_length() -> None:
    with pytest.raises(CredentialError, match="16 bytes, got 15"):
        format_secret(bytes(15))


def test_new_secrets_are_16_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert len(first) == SECRET_BYTES
    assert first != second


def test_credential_url_shape() -> None:
    secret = bytes(range(16))
    url = credential_url(base_url="https://vote.example.cn/", meeting_code="HF2026", secret=secret)
    assert url == f"https://vote.example.cn/b/HF2026#k={format_secret(secret)}"


@settings(max_examples=50)
@given(secrets_16, st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True))
def test_credential_url_round_trips(secret: bytes, meeting: str) -> None:
    url = credential_url(base_url="https://v.example/app", meeting_code=meeting, secret=secret)
    link = parse_credential_url(url)
    assert (link.base_url, link.meeting_code, link.secret) == (
        "https://v.example/app",
        meeting,
        secret,
    )


@pytest.mark.parametrize(
    ("base_url", "meeting_code"),
    [
        ("ftp://x.example", "M1"),
        ("https://x.example?q=1", "M1"),
        ("https://x.example", "a/b"),
        ("https://x.example", ""),
        ("https://x.example", "会议"),
    ],
)
def test_credential_url_refuses_bad_parts(base_url: str, meeting_code: str) -> None:
    with pytest.raises(CredentialError):
        credential_url(base_url=base_url, meeting_code=meeting_code, secret=bytes(16))


def test_parse_credential_url_refuses_other_urls() -> None:
    with pytest.raises(CredentialError, match="not a credential URL"):
        parse_credential_url("https://x.example/b/M1?k=AAAA")


def test_derive_seed_refuses_bad_inputs() -> None:
    with pytest.raises(CredentialError, match="NUL"):
        derive_seed("m\x00x", bytes(16))
    with pytest.raises(CredentialError, match="non-empty"):
        derive_seed("", bytes(16))
    with pytest.raises(CredentialError, match="16 bytes"):
        derive_seed("m1", bytes(32))


def test_different_meetings_give_different_keys() -> None:
    secret = bytes(16)
    assert derive_seed("m1", secret) != derive_seed("m2", secret)
