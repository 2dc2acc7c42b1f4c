"""C2SP signed notes, checkpoints and cosignatures against published vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crypto.notes import (
    MAX_SIGNATURES,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    NoteError,
    NoteSigner,
    NoteVerifier,
    add_signatures,
    cosignature_message,
    key_id,
    open_note,
    parse_verifier_key,
    sign_note,
)
from crypto.signing import SigningKey


def _vectors(shared_testdata: Path) -> list[dict[str, Any]]:
    path = shared_testdata / "external" / "signed_note_vectors.json"
    vectors: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["vectors"]
    return vectors


def _by_source(shared_testdata: Path, fragment: str) -> dict[str, Any]:
    (vector,) = [v for v in _vectors(shared_testdata) if fragment in v["source"]]
    return vector


@pytest.fixture
def go_sign(shared_testdata: Path) -> dict[str, Any]:
    return _by_source(shared_testdata, "TestSign")


@pytest.fixture
def cosigned(shared_testdata: Path) -> dict[str, Any]:
    return _by_source(shared_testdata, "SELF-GENERATED")


@pytest.fixture
def peter(go_sign: dict[str, Any]) -> NoteSigner:
    return NoteSigner.from_key_string(go_sign["signer_key"])


def _log_signer(cosigned: dict[str, Any]) -> NoteSigner:
    seed = bytes.fromhex(cosigned["log_ed25519_seed_hex"])
    origin = cosigned["checkpoint_body"].split("\n", 1)[0]
    return NoteSigner(origin, SigningKey.from_seed(seed))


def _witness(cosigned: dict[str, Any]) -> CosignatureSigner:
    seed = bytes.fromhex(cosigned["witness_ed25519_seed_hex"])
    return CosignatureSigner(cosigned["witness_name"], SigningKey.from_seed(seed))


# --- Published vectors ---------------------------------------------------------------


def test_go_key_strings_round_trip(go_sign: dict[str, Any], peter: NoteSigner) -> None:
    # The private key's base64 contains '+': splitting must stop after two '+'.
    assert "+" in go_sign["signer_key"].split("+", 4)[4]
    assert peter.key_string() == go_sign["signer_key"]
    assert peter.verifier().key_string() == go_sign["verifier_key"]
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    assert verifier.public_key.hex() == go_sign["ed25519_pub_hex"]
    assert verifier.key_id.hex() == go_sign["key_id_hex"]


def test_key_id_is_truncated_sha256_of_name_type_key(go_sign: dict[str, Any]) -> None:
    public = bytes.fromhex(go_sign["ed25519_pub_hex"])
    assert key_id("PeterNeumann", 1, public).hex() == go_sign["key_id_hex"]
    assert (
        key_id("PeterNeumann", 1, public)
        == (hashlib.sha256(b"PeterNeumann\n\x01" + public).digest()[:4])
    )


def test_go_note_is_reproduced_byte_for_byte(go_sign: dict[str, Any], peter: NoteSigner) -> None:
    assert sign_note(go_sign["note_text"], peter) == go_sign["signed_note"]


def test_go_note_opens(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    note = open_note(go_sign["signed_note"], [verifier])
    assert note.text == go_sign["note_text"]
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    assert note.unverified == ()


def test_go_two_signer_note_opens_with_both_keys(shared_testdata: Path) -> None:
    vector = _by_source(shared_testdata, "two signers")
    verifiers = [NoteVerifier.from_key_string(k) for k in vector["verifier_keys"]]
    note = open_note(vector["signed_note"], verifiers, require_all=True)
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]


def test_two_signer_note_reports_the_unknown_signer_as_unverified(shared_testdata: Path) -> None:
    vector = _by_source(shared_testdata, "two signers")
    peter = NoteVerifier.from_key_string(vector["verifier_keys"][0])
    note = open_note(vector["signed_note"], [peter])
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    assert [(s.name, s.key_id.hex()) for s in note.unverified] == [("EnochRoot", "af0cfe78")]


def test_c2sp_example_opens(shared_testdata: Path) -> None:
    vector = _by_source(shared_testdata, "C2SP")
    note = open_note(vector["signed_note"], [parse_verifier_key(vector["verifier_key"])])
    assert note.text == "This is an example message.\n"


def test_go_tree_note_body_is_a_checkpoint(shared_testdata: Path) -> None:
    vector = _by_source(shared_testdata, "TestFormatTree")
    root = bytes.fromhex(vector["record_hash_hex"])
    checkpoint = Checkpoint(origin="go.sum database tree", size=vector["tree_size"], root_hash=root)
    assert checkpoint.body() == vector["formatted_tree_note_body"]
    assert Checkpoint.parse(vector["formatted_tree_note_body"]) == checkpoint


def test_cosigned_checkpoint_keys(cosigned: dict[str, Any]) -> None:
    assert _log_signer(cosigned).verifier().key_string() == cosigned["log_verifier_key"]
    witness = _witness(cosigned).verifier()
    assert witness.key_string() == cosigned["witness_vkey_type04"]
    assert witness.key_id.hex() == cosigned["witness_key_id_hex"]
    assert witness.public_key.hex() == cosigned["witness_pub_hex"]


def test_cosignature_message_matches_vector(cosigned: dict[str, Any]) -> None:
    message = cosignature_message(cosigned["checkpoint_body"], cosigned["cosignature_timestamp"])
    assert message == cosigned["cosigned_message"].encode()


def test_cosigned_checkpoint_is_reproduced_byte_for_byte(cosigned: dict[str, Any]) -> None:
    witness = _witness(cosigned).at(cosigned["cosignature_timestamp"])
    signed = sign_note(cosigned["checkpoint_body"], _log_signer(cosigned), witness)
    assert signed == cosigned["signed_checkpoint"]


def test_cosignature_line_added_to_a_log_signed_checkpoint(cosigned: dict[str, Any]) -> None:
    body = cosigned["checkpoint_body"]
    logged = sign_note(body, _log_signer(cosigned))
    line = _witness(cosigned).cosign(body, cosigned["cosignature_timestamp"])
    assert add_signatures(logged, line) == cosigned["signed_checkpoint"]


def test_cosigned_checkpoint_opens_and_reports_the_timestamp(cosigned: dict[str, Any]) -> None:
    verifiers = [
        parse_verifier_key(cosigned["log_verifier_key"]),
        parse_verifier_key(cosigned["witness_vkey_type04"]),
    ]
    assert isinstance(verifiers[1], CosignatureVerifier)
    note = open_note(cosigned["signed_checkpoint"], verifiers, require_all=True)
    assert [s.timestamp for s in note.signatures] == [None, cosigned["cosignature_timestamp"]]
    checkpoint = Checkpoint.parse(note.text)
    assert (checkpoint.origin, checkpoint.size) == ("example.org/owners-assembly/test-log", 8)
    # The RFC 6962 test tree root for 8 leaves.
    assert checkpoint.root_hash.hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


# --- Rejections ------------------------------------------------------------------------


def _tamper_signature(signed: str, line_number: int) -> str:
    text, block = signed.split("\n\n")
    lines = block.split("\n")
    prefix, encoded = lines[line_number].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    lines[line_number] = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
    return text + "\n\n" + "\n".join(lines)


def test_wrong_signature_by_known_key_raises(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    with pytest.raises(NoteError, match=r"PeterNeumann.*does not verify"):
        open_note(_tamper_signature(go_sign["signed_note"], 0), [verifier])


def test_changed_text_raises(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(go_sign["signed_note"].replace("cryptography", "cryptographY"), [verifier])


def test_tampered_cosignature_timestamp_raises(cosigned: dict[str, Any]) -> None:
    witness = parse_verifier_key(cosigned["witness_vkey_type04"])
    text, block = cosigned["signed_checkpoint"].split("\n\n")
    line = block.split("\n")[1]
    prefix, encoded = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[4 + 7] ^= 1  # last byte of the timestamp
    forged = f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(forged, [witness])


def test_only_unknown_signers_raises(go_sign: dict[str, Any]) -> None:
    stranger = NoteSigner("stranger", SigningKey.from_seed(bytes(32))).verifier()
    with pytest.raises(NoteError, match=r"no valid signature.*'stranger'"):
        open_note(go_sign["signed_note"], [stranger])


def test_require_all_reports_missing_signers(go_sign: dict[str, Any]) -> None:
    peter = NoteVerifier.from_key_string(go_sign["verifier_key"])
    other = NoteSigner("officer", SigningKey.from_seed(bytes(32))).verifier()
    assert open_note(go_sign["signed_note"], [peter, other]).signatures
    with pytest.raises(NoteError, match="lacks signatures by 'officer'"):
        open_note(go_sign["signed_note"], [peter, other], require_all=True)


def test_repeated_identical_signature_counts_once(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    line = go_sign["signed_note"].split("\n\n")[1]
    note = open_note(go_sign["signed_note"] + line, [verifier])
    assert len(note.signatures) == 1


def test_key_of_other_type_under_same_name_does_not_match(peter: NoteSigner) -> None:
    # The key id covers the type byte, so a type 0x04 key never verifies a 0x01 line.
    seed = SigningKey.from_seed(bytes(32))
    plain = NoteSigner("log", seed)
    cosigner = CosignatureSigner("log", seed)
    assert plain.key_id != cosigner.key_id
    signed = sign_note("x\n", plain)
    with pytest.raises(NoteError, match="no valid signature"):
        open_note(signed, [cosigner.verifier()])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no newline", "end with a newline"),
        ("", "empty"),
        ("a\n\nb\n", "blank line"),
        ("\na\n", "blank line"),
        ("a\tb\n", "control character"),
        ("a\rb\n", "control character"),
    ],
)
def test_sign_refuses_bad_text(text: str, message: str, peter: NoteSigner) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, peter)


def test_sign_needs_a_signer() -> None:
    with pytest.raises(NoteError, match="at least one signer"):
        sign_note("a\n")


def _good(go_sign: dict[str, Any]) -> str:
    return str(go_sign["signed_note"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.replace("\n\n", "\n"), "no blank line"),
        (lambda s: s[:-1], "end with a newline"),
        (lambda s: s.replace("— ", "- "), "must start with '— '"),
        (lambda s: s.replace("— PeterNeumann ", "— PeterNeumann"), "no signature"),
        (lambda s: s.replace("— PeterNeumann ", "— Peter+Neumann "), "without whitespace or '\\+'"),
        (lambda s: s.replace("AM=\n", "AM\n"), "base64"),
        (lambda s: s.replace("AM=\n", "AN=\n"), "canonical base64"),
        (lambda s: s + "\n", "must start with '— '"),
        (lambda s: s.replace("problem,\n", "problem,\x01\n"), "control character"),
        (lambda s: "\n" + s, "blank line"),
    ],
    ids=[
        "no-separator",
        "no-final-newline",
        "hyphen-not-em-dash",
        "missing-signature",
        "plus-in-name",
        "bad-base64",
        "non-canonical-base64",
        "trailing-blank-line",
        "control-char",
        "leading-blank-line",
    ],
)
def test_open_refuses_malformed_notes(mutate: Any, message: str, go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    with pytest.raises(NoteError, match=message):
        open_note(mutate(_good(go_sign)), [verifier])


def test_open_refuses_short_signature(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    short = go_sign["note_text"] + "\n— PeterNeumann AQID\n"
    with pytest.raises(NoteError, match="too short"):
        open_note(short, [verifier])


def test_open_refuses_too_many_signatures(go_sign: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_key_string(go_sign["verifier_key"])
    line = _good(go_sign).split("\n\n")[1]
    with pytest.raises(NoteError, match=f"at most {MAX_SIGNATURES}"):
        open_note(_good(go_sign) + line * MAX_SIGNATURES, [verifier])


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lower-case hex"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "type 0x02"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q=", "32 bytes"),
        ("PeterNeumann+c74f20a3", "name\\+hash\\+base64"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "non-empty"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "whitespace"),
    ],
)
def test_bad_verifier_key_strings_are_refused(key: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        NoteVerifier.from_key_string(key)


def test_signer_key_string_needs_private_prefix(go_sign: dict[str, Any]) -> None:
    with pytest.raises(NoteError, match="PRIVATE\\+KEY\\+"):
        NoteSigner.from_key_string(go_sign["verifier_key"])


def test_cosignature_signer_needs_a_timestamp() -> None:
    with pytest.raises(NoteError, match="timestamp"):
        sign_note("a\n", CosignatureSigner("w", SigningKey.from_seed(bytes(32))))


def test_add_signatures_refuses_non_lines(go_sign: dict[str, Any]) -> None:
    with pytest.raises(NoteError, match="one line"):
        add_signatures(_good(go_sign), "— a AAAAAAA=")


# --- Checkpoints -----------------------------------------------------------------------


def test_checkpoint_with_extensions_round_trips() -> None:
    checkpoint = Checkpoint(
        origin="vote.example/m1", size=0, root_hash=bytes(32), extensions=("meeting m1",)
    )
    body = checkpoint.body()
    assert body == "vote.example/m1\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nmeeting m1\n"
    assert Checkpoint.parse(body) == checkpoint


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("origin\n08\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "leading zeros"),
        ("origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "decimal"),
        ("origin\n1\nAAAA\n", "32 bytes"),
        ("origin\n1\n", "origin, size and root"),
        ("origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "newline"),
        ("\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "blank line"),
        (
            "origin\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "2\\*\\*64",
        ),
    ],
)
def test_bad_checkpoints_are_refused(body: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(body)
