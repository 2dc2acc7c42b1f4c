"""Ballot wire format: building, signing, and every refusal code of validate_ballot."""

from __future__ import annotations

import json

import pytest

from crypto.canonical import canonical_json
from crypto.signing import Domain, SigningKey, signed_message
from votes.model import Channel, Motion, MotionType
from votes.record.ballot import (
    MAX_BALLOT_BYTES,
    BallotContext,
    BallotError,
    BallotErrorCode,
    ballot_bytes,
    ballot_rows,
    build_ballot,
    sign_ballot,
    validate_ballot,
)

MEETING = "m-2025-001"
ROOT = "ab" * 32
ALICE = SigningKey.from_seed(b"\x01" * 32)
BOB = SigningKey.from_seed(b"\x02" * 32)  # revoked
MALLORY = SigningKey.from_seed(b"\x03" * 32)  # not in the roster
MOTIONS = {
    "fee": Motion(id="fee", title="fee", item=9),
    "board": Motion(
        id="board",
        title="board",
        item=3,
        type=MotionType.ELECTION,
        seats=2,
        candidates=("Zhang", "Wang", "Li"),
    ),
    "firm": Motion(
        id="firm", title="firm", item=4, type=MotionType.CHOOSE_ONE, candidates=("A", "B")
    ),
}


class _Keys:
    def member_for_key(self, key: str) -> str | None:
        return {ALICE.public_key.hex(): "member:1-101"}.get(key)

    def is_revoked(self, key: str) -> bool:
        return key == BOB.public_key.hex()


CONTEXT = BallotContext(meeting=MEETING, roster_root=ROOT, motions=MOTIONS, keys=_Keys())


def _raw(**overrides: object) -> dict[str, object]:
    value: dict[str, object] = {
        "v": 1,
        "meeting": MEETING,
        "member": ALICE.public_key.hex(),
        "choices": {"fee": "agree", "board": ["Zhang", "Li"], "firm": "B"},
        "roster_root": ROOT,
        "nonce": "0f" * 16,
    }
    value.update(overrides)
    return value


def _signed(value: dict[str, object], key: SigningKey = ALICE) -> tuple[bytes, bytes]:
    data = canonical_json(value)  # the reference encoder, independent of the module
    return data, key.sign(Domain.BALLOT, data)


def _code(data: bytes, signature: bytes | str) -> BallotErrorCode:
    with pytest.raises(BallotError) as caught:
        validate_ballot(data, signature, context=CONTEXT)
    assert caught.value.message_zh
    assert caught.value.message_en
    return caught.value.code


def test_a_well_formed_signed_ballot_is_accepted() -> None:
    data, signature = _signed(_raw())
    accepted = validate_ballot(data, signature, context=CONTEXT)
    assert accepted.member_id == "member:1-101"
    assert accepted.ballot.choices["board"] == ["Zhang", "Li"]


def test_signature_may_be_given_as_hex() -> None:
    data, signature = _signed(_raw())
    assert validate_ballot(data, signature.hex(), context=CONTEXT).data == data


def test_built_ballot_bytes_are_the_reference_canonical_json() -> None:
    ballot = build_ballot(
        meeting=MEETING,
        member=ALICE.public_key,
        choices={"fee": "agree", "board": ["Zhang", "Li"], "firm": "B"},
        roster_root=ROOT,
        nonce="0f" * 16,
    )
    assert ballot_bytes(ballot) == canonical_json(_raw())


def test_sign_ballot_signs_the_domain_separated_canonical_bytes() -> None:
    ballot = build_ballot(
        meeting=MEETING, member=ALICE.public_key, choices={"fee": "oppose"}, roster_root=ROOT
    )
    signature = sign_ballot(ballot, ALICE)
    message = signed_message(Domain.BALLOT, ballot_bytes(ballot))
    assert message.startswith(b"owner-vote/ballot/v1\x00{")
    assert ALICE.public_key.verify_raw(message, signature)


def test_build_ballot_makes_a_fresh_nonce_each_time() -> None:
    def make() -> str:
        return build_ballot(
            meeting=MEETING, member=ALICE.public_key, choices={"fee": "agree"}, roster_root=ROOT
        ).nonce

    assert make() != make()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,2]", canonical_json({"v": 1}), canonical_json({**_raw(), "extra": 1})],
    ids=["not-json", "array", "missing-fields", "unknown-field"],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    assert _code(body, b"\x00" * 64) is BallotErrorCode.MALFORMED


def test_uppercase_hex_key_is_malformed() -> None:
    data, signature = _signed(_raw(member=ALICE.public_key.hex().upper()))
    assert _code(data, signature) is BallotErrorCode.MALFORMED


def test_non_canonical_encoding_is_refused_even_when_signed() -> None:
    data = json.dumps(_raw(), indent=1).encode()
    signature = ALICE.sign(Domain.BALLOT, data)
    assert _code(data, signature) is BallotErrorCode.NOT_CANONICAL


def test_other_version_is_refused_as_wrong_version() -> None:
    data, signature = _signed(_raw(v=2))
    assert _code(data, signature) is BallotErrorCode.WRONG_VERSION


def test_future_version_with_new_fields_is_still_wrong_version() -> None:
    data, signature = _signed({**_raw(v=2), "new": "field"})
    assert _code(data, signature) is BallotErrorCode.WRONG_VERSION


def test_ballot_for_another_meeting_is_refused() -> None:
    data, signature = _signed(_raw(meeting="m-other"))
    assert _code(data, signature) is BallotErrorCode.WRONG_MEETING


def test_key_outside_the_roster_is_unknown_member() -> None:
    data, signature = _signed(_raw(member=MALLORY.public_key.hex()), MALLORY)
    assert _code(data, signature) is BallotErrorCode.UNKNOWN_MEMBER


def test_revoked_key_is_refused() -> None:
    data, signature = _signed(_raw(member=BOB.public_key.hex()), BOB)
    assert _code(data, signature) is BallotErrorCode.REVOKED_KEY


def test_signature_by_another_key_is_bad_signature() -> None:
    data, _ = _signed(_raw())
    assert _code(data, MALLORY.sign(Domain.BALLOT, data)) is BallotErrorCode.BAD_SIGNATURE


def test_signature_in_another_domain_is_bad_signature() -> None:
    data, _ = _signed(_raw())
    assert _code(data, ALICE.sign(Domain.RECEIPT, data)) is BallotErrorCode.BAD_SIGNATURE


def test_short_signature_is_bad_signature() -> None:
    data, _ = _signed(_raw())
    assert _code(data, b"\x01" * 10) is BallotErrorCode.BAD_SIGNATURE


def test_motion_not_on_the_agenda_is_unknown_motion() -> None:
    data, signature = _signed(_raw(choices={"lift": "agree"}))
    assert _code(data, signature) is BallotErrorCode.UNKNOWN_MOTION


@pytest.mark.parametrize(
    "choices",
    [
        {},
        {"fee": "maybe"},
        {"fee": ["agree"]},
        {"fee": "invalid"},
        {"board": ["Zhang", "Wang", "Li"]},
        {"board": ["Zhang", "Zhang"]},
        {"board": ["Nobody"]},
        {"board": []},
        {"board": "Zhang"},
        {"firm": "C"},
        {"firm": ["A"]},
    ],
    ids=[
        "empty",
        "yes-no-unknown",
        "yes-no-list",
        "online-invalid",
        "too-many-seats",
        "repeated-candidate",
        "unknown-candidate",
        "empty-list",
        "election-string",
        "unknown-option",
        "choose-one-list",
    ],
)
def test_choice_not_allowed_for_the_motion_type_is_bad_choice(choices: dict[str, object]) -> None:
    data, signature = _signed(_raw(choices=choices))
    assert _code(data, signature) is BallotErrorCode.BAD_CHOICE


def test_abstain_is_allowed_on_every_motion_type() -> None:
    data, signature = _signed(_raw(choices=dict.fromkeys(MOTIONS, "abstain")))
    assert validate_ballot(data, signature, context=CONTEXT).member_id == "member:1-101"


def test_wrong_roster_root_is_refused() -> None:
    data, signature = _signed(_raw(roster_root="cd" * 32))
    assert _code(data, signature) is BallotErrorCode.WRONG_ROSTER_ROOT


def test_oversize_body_is_refused_before_parsing() -> None:
    body = b" " * (MAX_BALLOT_BYTES + 1)
    assert _code(body, b"\x00" * 64) is BallotErrorCode.OVERSIZE


def test_rows_join_election_choices_with_semicolons() -> None:
    rows = ballot_rows(
        {"fee": "agree", "board": ["Zhang", "Li"]},
        member_id="member:1-101",
        channel=Channel.ONLINE,
        time=None,
        seq=7,
    )
    assert {(r.motion_id, r.choice, r.seq) for r in rows} == {
        ("fee", "agree", 7),
        ("board", "Zhang;Li", 7),
    }
