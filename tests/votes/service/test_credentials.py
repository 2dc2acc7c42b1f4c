"""Credential keys: only valid Ed25519 points are registered, and a revocation or
replacement is logged only with the subdistrict officer's signature over it."""

from __future__ import annotations

import hashlib

import nacl.bindings
import pytest

from crypto.credentials import derive_signing_key, parse_secret
from crypto.signing import Domain, SigningKey
from tests.votes.service.conftest import Officer, World, _staff, signed_ballot
from votes.enums import StaffRole
from votes.record.bundle import decode_bundle
from votes.record.entries import (
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    credential_change_body,
    decode_entry,
)
from votes.record.verify import verify_bundle
from votes.service import accounts, ballots, credentials, record, scheduler
from votes.service.errors import ServiceError
from votes.service.schemas import (
    CredentialRequestOut,
    ReplaceCredentialRequest,
    SignCredentialChangeRequest,
)

# Encodings that decode to no usable public key (RFC 8032 §5.1.2 little-endian y).
_IDENTITY = bytes([1]) + bytes(31)
_ORDER_TWO = bytes.fromhex("ec" + "ff" * 30 + "7f")
_OFF_CURVE = bytes([2]) + bytes(31)
_MIXED_ORDER = nacl.bindings.crypto_core_ed25519_add(
    SigningKey.from_seed(b"\x01" * 32).public_key.raw, _ORDER_TWO
)
_WEAK = pytest.mark.parametrize(
    "raw",
    [_IDENTITY, _ORDER_TWO, bytes(32), _OFF_CURVE, _MIXED_ORDER],
    ids=["identity", "order-2", "order-4", "off-curve", "mixed-order"],
)


async def _refused(code: str, awaitable: object) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code == code, (caught.value.code, caught.value.message_en)
    return caught.value


async def _entries(world: World, code: str) -> list[object]:
    bundle = decode_bundle(await record.bundle(world.ctx, code))
    return [decode_entry(raw) for raw in bundle.entries]


def _signed(
    world: World, request: CredentialRequestOut, body: bytes | None = None
) -> SignCredentialChangeRequest:
    officer = world.officer_a
    return SignCredentialChangeRequest(
        public_key=officer.public_hex,
        signature=officer.key.sign(
            Domain.CREDENTIAL_CHANGE, request.body.encode() if body is None else body
        ).hex(),
    )


@pytest.fixture
async def open_code(world: World) -> str:
    return await world.opened()


# ------------------------------------------------------------------ key registration


@_WEAK
async def test_registering_a_key_that_is_not_a_valid_point_is_refused(
    world: World, raw: bytes
) -> None:
    code = await world.draft()
    error = await _refused(
        "bad_public_key",
        credentials.register_public_keys(
            world.ctx, code, {"member:1-101": raw.hex()}, actor=world.convener_a
        ),
    )
    assert error.status == 422
    assert error.details == {"member": "member:1-101"}


async def test_a_refused_key_registers_nothing(world: World) -> None:
    code = await world.draft()
    good = SigningKey.from_seed(b"\x02" * 32).public_key.hex()
    await _refused(
        "bad_public_key",
        credentials.register_public_keys(
            world.ctx,
            code,
            {"member:1-101": good, "member:1-102": _IDENTITY.hex()},
            actor=world.convener_a,
        ),
    )
    # Had the good key been stored, registering it again for another member would clash.
    assert (
        await credentials.register_public_keys(
            world.ctx, code, {"member:2-101": good}, actor=world.convener_a
        )
        == 1
    )


async def test_registering_a_valid_key_is_accepted(world: World) -> None:
    code = await world.draft()
    key = SigningKey.from_seed(b"\x03" * 32).public_key.hex()
    count = await credentials.register_public_keys(
        world.ctx, code, {"member:1-101": key}, actor=world.convener_a
    )
    assert count == 1


@_WEAK
async def test_enrolling_an_officer_key_that_is_not_a_valid_point_is_refused(
    world: World, raw: bytes
) -> None:
    error = await _refused(
        "bad_officer_key",
        accounts.enrol_officer_key(world.ctx, raw.hex(), "weak.key", actor=world.officer_a.actor),
    )
    assert error.status == 422


# ------------------------------------------------------------------ requests


async def test_replacement_request_is_pending_and_logs_nothing(
    world: World, open_code: str
) -> None:
    before = len(await _entries(world, open_code))
    pending = await world.request_replacement(open_code, "member:1-101")
    assert pending.request.state == "pending"
    assert pending.request.kind == "replace"
    assert pending.request.new_key == pending.letter.public_key
    assert len(await _entries(world, open_code)) == before


async def test_new_key_is_refused_until_the_officer_signs(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    meeting_id, _ = world.letter(open_code, "member:1-101")
    new_key = derive_signing_key(meeting_id, parse_secret(pending.letter.code))
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"}, key=new_key)
    await _refused("unknown_member", ballots.cast_ballot(world.ctx, open_code, raw, sig))


async def test_old_key_still_votes_while_the_replacement_is_pending(
    world: World, open_code: str
) -> None:
    await world.request_replacement(open_code, "member:1-101")
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"})
    receipt = await ballots.cast_ballot(world.ctx, open_code, raw, sig)
    assert receipt.body.ballot == hashlib.sha256(raw).hexdigest()


async def test_signed_replacement_lets_the_new_key_vote(world: World, open_code: str) -> None:
    letter = await world.replace_credential(open_code, "member:1-101")
    meeting_id, _ = world.letter(open_code, "member:1-101")
    new_key = derive_signing_key(meeting_id, parse_secret(letter.code))
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"}, key=new_key)
    receipt = await ballots.cast_ballot(world.ctx, open_code, raw, sig)
    assert receipt.body.ballot == hashlib.sha256(raw).hexdigest()


async def test_signed_replacement_stops_the_old_key(world: World, open_code: str) -> None:
    await world.replace_credential(open_code, "member:1-101")
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"})
    await _refused("revoked_key", ballots.cast_ballot(world.ctx, open_code, raw, sig))


async def test_signed_replacement_is_logged_with_the_officer_signature(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    approved = await world.sign_change(open_code, pending.request)
    entries = await _entries(world, open_code)
    assert approved.log_index is not None
    entry = entries[approved.log_index]
    assert isinstance(entry, CredentialReplacedEntry)
    assert entry.officer == "officer.a"
    assert entry.request == pending.request.request_sha256
    assert entry.new_key == pending.letter.public_key
    assert world.officer_a.key.public_key.verify(
        Domain.CREDENTIAL_CHANGE, pending.request.body.encode(), bytes.fromhex(entry.signature)
    )


async def test_bundle_with_signed_changes_passes_the_credentials_check(
    world: World, open_code: str
) -> None:
    await world.replace_credential(open_code, "member:1-101")
    await world.revoke_credential(open_code, "member:2-101")
    report = verify_bundle(await record.bundle(world.ctx, open_code))
    check = next(c for c in report.checks if c.spec.name == "credentials")
    assert check.status == "pass", check.findings
    assert check.summary.startswith("2 ")


async def test_body_to_sign_names_the_member_keys_reason_and_request(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    request = pending.request
    assert request.body.encode() == credential_change_body(
        meeting=request.meeting_id,
        member="member:1-101",
        old_key=world.letter(open_code, "member:1-101")[1].public_key.hex(),
        new_key=pending.letter.public_key,
        reason="遗失 lost",
        request=hashlib.sha256(b"request for member:1-101").hexdigest(),
    )


async def test_signed_revocation_stops_the_key(world: World, open_code: str) -> None:
    await world.revoke_credential(open_code, "member:1-101")
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"})
    await _refused("revoked_key", ballots.cast_ballot(world.ctx, open_code, raw, sig))


async def test_signed_revocation_is_logged_without_a_new_key(world: World, open_code: str) -> None:
    approved = await world.revoke_credential(open_code, "member:1-101")
    assert approved.kind == "revoke"
    assert approved.new_key is None
    assert approved.log_index is not None
    entry = (await _entries(world, open_code))[approved.log_index]
    assert isinstance(entry, CredentialRevokedEntry)
    assert entry.key == approved.old_key


async def test_second_request_for_a_member_with_one_pending_is_refused(
    world: World, open_code: str
) -> None:
    await world.request_replacement(open_code, "member:1-101")
    error = await _refused(
        "credential_request_pending",
        credentials.request_revocation(
            world.ctx,
            open_code,
            ReplaceCredentialRequest(
                member_id="member:1-101", reason="x", request_sha256="00" * 32
            ),
            actor=world.convener_a,
        ),
    )
    assert error.status == 409


async def test_request_for_a_member_without_a_credential_is_404(
    world: World, open_code: str
) -> None:
    error = await _refused(
        "credential_not_found",
        credentials.request_replacement(
            world.ctx,
            open_code,
            ReplaceCredentialRequest(
                member_id="member:9-999", reason="x", request_sha256="00" * 32
            ),
            actor=world.convener_a,
        ),
    )
    assert error.status == 404


# ------------------------------------------------------------------ the officer's signature


async def test_signature_over_another_body_is_refused_and_logs_nothing(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    before = len(await _entries(world, open_code))
    forged = credential_change_body(
        meeting=pending.request.meeting_id,
        member="member:1-101",
        old_key=pending.request.old_key,
        new_key=SigningKey.from_seed(b"\x04" * 32).public_key.hex(),
        reason=pending.request.reason,
        request=pending.request.request_sha256,
    )
    error = await _refused(
        "bad_officer_signature",
        credentials.approve_change(
            world.ctx,
            open_code,
            pending.request.id,
            _signed(world, pending.request, forged),
            actor=world.officer_a.actor,
        ),
    )
    assert error.status == 403
    assert len(await _entries(world, open_code)) == before
    still = await credentials.change_request(
        world.ctx, open_code, pending.request.id, actor=world.officer_a.actor
    )
    assert still.state == "pending"


async def test_signature_in_another_domain_is_refused(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    officer = world.officer_a
    signed = SignCredentialChangeRequest(
        public_key=officer.public_hex,
        signature=officer.key.sign(Domain.APPROVAL, pending.request.body.encode()).hex(),
    )
    await _refused(
        "bad_officer_signature",
        credentials.approve_change(
            world.ctx, open_code, pending.request.id, signed, actor=officer.actor
        ),
    )


async def test_signature_by_a_key_the_officer_has_not_enrolled_is_refused(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    other = world.officer_b
    signed = SignCredentialChangeRequest(
        public_key=other.public_hex,
        signature=other.key.sign(Domain.CREDENTIAL_CHANGE, pending.request.body.encode()).hex(),
    )
    await _refused(
        "officer_key_not_enrolled",
        credentials.approve_change(
            world.ctx, open_code, pending.request.id, signed, actor=world.officer_a.actor
        ),
    )


async def test_officer_of_another_subdistrict_cannot_sign(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    error = await _refused(
        "meeting_not_found",
        world.sign_change(open_code, pending.request, officer=world.officer_b),
    )
    assert error.status == 404


async def test_convener_cannot_sign_a_change(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await _refused(
        "role_forbidden",
        credentials.approve_change(
            world.ctx,
            open_code,
            pending.request.id,
            _signed(world, pending.request),
            actor=world.convener_a,
        ),
    )


async def test_change_cannot_be_signed_once_voting_has_closed(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await world.to_close(open_code)
    await scheduler.run_due(world.ctx)
    await _refused(
        "invalid_transition",
        world.sign_change(open_code, pending.request),
    )


async def test_signed_request_cannot_be_signed_again(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await world.sign_change(open_code, pending.request)
    error = await _refused(
        "credential_request_decided", world.sign_change(open_code, pending.request)
    )
    assert error.status == 409


# ------------------------------------------------------------------ refusal and listing


async def test_refused_request_logs_nothing_and_keeps_the_old_key(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    before = len(await _entries(world, open_code))
    refused = await credentials.refuse_change(
        world.ctx, open_code, pending.request.id, reason="材料不全", actor=world.officer_a.actor
    )
    assert (refused.state, refused.refusal, refused.decided_by) == (
        "refused",
        "材料不全",
        "officer-a",
    )
    assert len(await _entries(world, open_code)) == before
    raw, sig = signed_ballot(world, open_code, "member:1-101", {"M1": "agree"})
    await ballots.cast_ballot(world.ctx, open_code, raw, sig)


async def test_refusal_is_audited(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await credentials.refuse_change(
        world.ctx, open_code, pending.request.id, reason="材料不全", actor=world.officer_a.actor
    )
    events = await accounts.list_audit(world.ctx, estate_id=world.estate_a, actor=world.operator)
    refusal = next(e for e in events if e.action == "credentials.refuse_change")
    assert refusal.staff_id == world.officer_a.actor.staff_id
    assert refusal.details["request"] == str(pending.request.id)


async def test_refused_request_cannot_be_signed(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await credentials.refuse_change(
        world.ctx, open_code, pending.request.id, reason="材料不全", actor=world.officer_a.actor
    )
    await _refused("credential_request_decided", world.sign_change(open_code, pending.request))


async def test_officer_lists_the_pending_requests_of_their_subdistrict_only(
    world: World, open_code: str
) -> None:
    pending = await world.request_replacement(open_code, "member:1-103")
    convener, world.convener_a = world.convener_a, world.operator
    other = await world.noticed(estate_id=world.estate_b)  # in the other subdistrict
    world.convener_a = convener
    await credentials.request_revocation(
        world.ctx,
        other,
        ReplaceCredentialRequest(member_id="member:1-101", reason="x", request_sha256="11" * 32),
        actor=world.operator,
    )
    listed = await credentials.list_change_requests(world.ctx, actor=world.officer_a.actor)
    assert [r.id for r in listed] == [pending.request.id]
    item = listed[0]
    assert (item.meeting_code, item.member_id, item.units, item.requested_by) == (
        open_code,
        "member:1-103",
        ["1-103", "1-104"],
        "convener-a",
    )
    assert (item.old_key, item.new_key) == (
        world.letter(open_code, "member:1-103")[1].public_key.hex(),
        pending.letter.public_key,
    )
    assert item.requested_at == world.clock.now


async def test_signed_requests_leave_the_pending_list(world: World, open_code: str) -> None:
    pending = await world.request_replacement(open_code, "member:1-101")
    await world.sign_change(open_code, pending.request)
    assert await credentials.list_change_requests(world.ctx, actor=world.officer_a.actor) == []
    signed = await credentials.list_change_requests(
        world.ctx, code=open_code, state=None, actor=world.officer_a.actor
    )
    assert [(r.id, r.state) for r in signed] == [(pending.request.id, "approved")]


async def test_convener_of_another_estate_cannot_see_a_meetings_requests(
    world: World, open_code: str
) -> None:
    await world.request_replacement(open_code, "member:1-101")
    await _refused(
        "meeting_not_found",
        credentials.list_change_requests(world.ctx, code=open_code, actor=world.convener_b),
    )


async def test_bundle_lists_an_officer_who_signed_a_change_but_cosigned_nothing(
    world: World, open_code: str
) -> None:
    colleague = await _staff(
        world.ctx,
        world.operator,
        "officer-a2",
        StaffRole.OFFICER,
        subdistrict_ids=[world.subdistrict_a],
    )
    key = SigningKey.from_seed(b"\x0c" * 32)
    await accounts.enrol_officer_key(world.ctx, key.public_key.hex(), "officer.a2", actor=colleague)
    pending = await world.request_replacement(open_code, "member:1-101")
    await world.sign_change(
        open_code, pending.request, officer=Officer(colleague, key, "officer.a2")
    )
    report = verify_bundle(await record.bundle(world.ctx, open_code))
    check = next(c for c in report.checks if c.spec.name == "credentials")
    assert check.status == "pass", check.findings
