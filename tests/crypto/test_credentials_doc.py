"""docs/credentials.md must agree with the implementation (the browser builds on it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from crypto.credentials import (
    CredentialError,
    credential_url,
    derive_signing_key,
    display_secret,
    format_secret,
    parse_secret,
)
from crypto.signing import Domain, PublicKey


@pytest.fixture(scope="module")
def doc(repo_root: Path) -> str:
    return (repo_root / "docs" / "credentials.md").read_text(encoding="utf-8")


def _vectors(doc: str) -> list[dict[str, Any]]:
    block = doc.split("<!-- credential-vectors:begin -->")[1].split(
        "<!-- credential-vectors:end -->", maxsplit=1
    )[0]
    payload = block.strip().removeprefix("```json").removesuffix("```")
    vectors: list[dict[str, Any]] = json.loads(payload)
    return vectors


def test_documented_vectors_match_the_implementation(doc: str) -> None:
    vectors = _vectors(doc)
    assert len(vectors) == 4
    for vector in vectors:
        secret = bytes.fromhex(vector["secret_hex"])
        key = derive_signing_key(vector["meeting_id"], secret)
        meeting_code = vector["url"].split("/b/")[1].split("#")[0]
        assert format_secret(secret) == vector["code"]
        assert display_secret(secret) == vector["display"]
        assert parse_secret(vector["display"]) == secret
        url = credential_url(
            base_url="https://vote.example.cn", meeting_code=meeting_code, secret=secret
        )
        assert url == vector["url"]
        assert key.seed.hex() == vector["seed_hex"]
        assert key.public_key.hex() == vector["public_key_hex"]
        message = vector["ballot_utf8"].encode("utf-8")
        signature = bytes.fromhex(vector["ballot_signature_hex"])
        assert key.sign(Domain.BALLOT, message) == signature
        assert PublicKey.from_hex(vector["public_key_hex"]).verify(
            Domain.BALLOT, message, signature
        )


def test_documented_pkcs8_form_is_the_rfc8410_der_wrapping(doc: str) -> None:
    for vector in _vectors(doc):
        der = bytes.fromhex(vector["pkcs8_hex"])
        seed = bytes.fromhex(vector["seed_hex"])
        # SEQUENCE(46) { INTEGER 0, SEQUENCE { OID 1.3.101.112 },
        #                OCTET STRING { OCTET STRING(32) } }
        assert der[:2] == bytes([0x30, len(der) - 2])
        assert der[2:5] == bytes([0x02, 0x01, 0x00])
        assert der[5:12] == bytes([0x30, 0x05, 0x06, 0x03, 43, 101, 112])  # 1.3 -> 40*1+3 = 43
        assert der[12:16] == bytes([0x04, 0x22, 0x04, 0x20])
        assert der[16:] == seed


def test_documented_typed_examples(doc: str) -> None:
    secret = bytes.fromhex("380eb98df82f7e23df7e9f0347057e45")
    table = doc.split("| typed | why it is accepted |")[1].split("\n\n", maxsplit=1)[0]
    typed = [m for m in re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE) if "…" not in m]
    assert len(typed) == 3
    for text in typed:
        assert parse_secret(text) == secret
    refused = doc.split("and these must be refused:")[1].split("\n\n", maxsplit=1)[0]
    bad = re.findall(r"`([^`]+)`", refused)
    assert len(bad) == 3
    for text in bad:
        with pytest.raises(CredentialError):
            parse_secret(text)
