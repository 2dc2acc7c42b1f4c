"""Each kind of tampering is caught, first, by the check designed for it.

The tamperer is a malicious server (tests/votes/record/tamper_support.py): it
re-signs its checkpoints, tally and paper ballots and drops earlier
checkpoints that would expose it, so the semantic check must do the catching.
"""

from __future__ import annotations

import msgspec
import pytest

from crypto.signing import Domain, PublicKey, SigningKey
from votes.record.ballot import build_ballot, sign_ballot
from votes.record.entries import (
    BallotEntry,
    CertificationEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    NoticeEntry,
    ObjectionEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    PublicationEntry,
    TallyEntry,
    credential_change_body,
    credential_replaced_entry,
    credential_revoked_entry,
    motion_from_wire,
    paper_ballot_entry,
    roster_from_wire,
    roster_root,
    tally_rows,
)
from votes.record.simulate import OFFICER_NAME, Simulation
from votes.record.verify import Report, verify_bundle
from votes.record.wire import parse_time
from votes.tally import tally as count
from votes.tally_json import result_to_dict

from .tamper_support import rebuild, renumber, resign_tally


def _first(report: Report) -> tuple[str, int | None]:
    failure = report.first_failure
    assert failure is not None, "tampering went undetected"
    return failure.spec.name, failure.entry


def _online(sim: Simulation) -> list[BallotEntry]:
    return [e for e in sim.entries if isinstance(e, BallotEntry)]


def test_untampered_bundle_passes_every_check(sim: Simulation) -> None:
    report = verify_bundle(sim.bundle, receipts=sim.receipts)
    assert [c.status for c in report.checks] == ["pass"] * len(report.checks)


def test_changed_choice_is_caught_by_ballot_signatures(sim: Simulation) -> None:
    target = _online(sim)[3]
    motion = next(iter(target.ballot.choices))
    old = target.ballot.choices[motion]
    new_choice = "oppose" if old != "oppose" else "agree"
    if isinstance(old, list):  # an election: vote for someone else
        new_choice = "abstain"
    ballot = msgspec.structs.replace(
        target.ballot, choices={**target.ballot.choices, motion: new_choice}
    )
    entries = list(sim.entries)
    entries[target.index] = msgspec.structs.replace(target, ballot=ballot)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    assert _first(report) == ("signatures", target.index)


def test_removed_ballot_is_caught_by_the_voters_receipt(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    entries = [e for e in sim.entries if e.index != receipt.body.index]
    tampered = renumber(entries, sim)
    bundle = rebuild(sim, tampered, unchanged_prefix=receipt.body.index)
    report = verify_bundle(bundle, receipts=[receipt])
    assert _first(report) == ("receipts", receipt.body.index)


def test_added_ballot_for_a_non_voter_is_caught_by_ballot_signatures(sim: Simulation) -> None:
    voted = {e.ballot.member for e in _online(sim)}
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    victim = next(m for m in notice.roster.members if m.key not in voted)
    template = _online(sim)[-1]
    ballot = msgspec.structs.replace(template.ballot, member=victim.key, nonce="ab" * 16)
    forged = sign_ballot(ballot, SigningKey.from_seed(b"\x07" * 32))  # not the member's key
    position = template.index + 1
    stuffed = msgspec.structs.replace(template, ballot=ballot, signature=forged.hex())
    entries = renumber([*sim.entries[:position], stuffed, *sim.entries[position:]], sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=position))
    assert _first(report) == ("signatures", position)


def test_paper_ballot_added_after_certification_is_caught_by_certification(
    sim: Simulation,
) -> None:
    # The server can sign paper ballots (and recount) itself; once the officer
    # has certified the log, a ballot slipped in changes the certified root.
    notice = _notice(sim)
    closing = next(e for e in sim.entries if isinstance(e, ClosingEntry))
    last = sim.entries[closing.index - 1]
    stuffed = paper_ballot_entry(
        meeting=notice.meeting,
        index=closing.index,
        time=parse_time(last.time),
        member=notice.roster.members[-2].id,
        choices={notice.agenda[0].id: "agree"},
        sheet=b"stuffed sheet",
        staff="staff-1",
        entered_at=parse_time(last.time),
        service_key=sim.service_key,
    )
    entries = renumber([*sim.entries[: closing.index], stuffed, *sim.entries[closing.index :]], sim)
    tally = next(e for e in entries if isinstance(e, TallyEntry))
    recount = result_to_dict(
        count(
            roster=roster_from_wire(notice.roster),
            motions=[motion_from_wire(m) for m in notice.agenda],
            ballots=tally_rows(entries[: tally.inputs.size]),
            settings=notice.settings.tally_settings(),
        )
    )
    entries[tally.index] = resign_tally(msgspec.structs.replace(tally, result=recount), sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=closing.index))
    assert _first(report)[0] == "certification"


def test_reordered_ballots_are_caught_by_the_sequence_check(sim: Simulation) -> None:
    first, second = _online(sim)[4], _online(sim)[5]
    entries: list[Entry] = list(sim.entries)
    entries[first.index], entries[second.index] = second, first
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=first.index))
    assert _first(report) == ("sequence", first.index)


def test_duplicated_ballot_is_caught_by_the_effective_ballot_check(sim: Simulation) -> None:
    original = _online(sim)[2]
    copy = original  # the very same signed ballot, logged a second time
    position = original.index + 1
    entries = renumber([*sim.entries[:position], copy, *sim.entries[position:]], sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=position))
    assert _first(report) == ("effective", position)


def test_ballot_signed_by_a_key_outside_the_roster_is_caught_by_the_ballot_check(
    sim: Simulation,
) -> None:
    target = _online(sim)[6]
    outsider = SigningKey.from_seed(b"\x42" * 32)
    ballot = build_ballot(
        meeting=target.ballot.meeting,
        member=outsider.public_key,
        choices=target.ballot.choices,
        roster_root=target.ballot.roster_root,
        nonce="cd" * 16,
    )
    entries = list(sim.entries)
    entries[target.index] = msgspec.structs.replace(
        target, ballot=ballot, signature=sign_ballot(ballot, outsider).hex()
    )
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    assert _first(report) == ("ballots", target.index)
    failure = report.first_failure
    assert failure is not None
    assert "unknown-member" in failure.findings[0].message


def _notice(sim: Simulation) -> NoticeEntry:
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    return notice


def test_changed_area_is_caught_by_the_roster_check(sim: Simulation) -> None:
    notice = _notice(sim)
    member = notice.roster.members[5]
    unit = msgspec.structs.replace(member.units[0], area=member.units[0].area + 10000)
    members = list(notice.roster.members)
    members[5] = msgspec.structs.replace(member, units=[unit, *member.units[1:]])
    roster = msgspec.structs.replace(notice.roster, members=members)
    entries = [msgspec.structs.replace(notice, roster=roster), *sim.entries[1:]]
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=0))
    assert _first(report) == ("roster", 0)


def test_changed_head_grouping_is_caught_by_the_roster_check(sim: Simulation) -> None:
    # Split a multi-unit owner into two heads (and publish a matching roster root):
    # the owner tags still tie the units together.
    notice = _notice(sim)
    members = list(notice.roster.members)
    position, member = next(
        (i, m) for i, m in enumerate(members) if len(m.units) > 1 and not m.developer
    )
    first, rest = member.units[0], member.units[1:]
    members[position] = msgspec.structs.replace(member, units=[first])
    extra = msgspec.structs.replace(
        member, id=f"member:{rest[0].number}", key="ee" * 32, units=list(rest)
    )
    members.append(extra)
    members.sort(key=lambda m: m.id)
    roster = msgspec.structs.replace(notice.roster, members=members)
    tampered = msgspec.structs.replace(notice, roster=roster, roster_root=roster_root(roster))
    entries = [tampered, *sim.entries[1:]]
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=0))
    assert _first(report) == ("roster", 0)
    failure = report.first_failure
    assert failure is not None
    assert "grouping" in failure.findings[0].message


def test_tally_not_matching_the_ballots_is_caught_by_the_tally_check(sim: Simulation) -> None:
    tally = next(e for e in sim.entries if isinstance(e, TallyEntry))
    result = msgspec.json.decode(msgspec.json.encode(tally.result))
    result["motions"][0]["agree"]["heads"] += 1
    entries = list(sim.entries)
    entries[tally.index] = resign_tally(msgspec.structs.replace(tally, result=result), sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=tally.index))
    assert _first(report) == ("tally", tally.index)


def test_forged_certification_is_caught_by_the_certification_check(sim: Simulation) -> None:
    cert = next(e for e in sim.entries if isinstance(e, CertificationEntry))
    impostor = SigningKey.from_seed(b"\x13" * 32)
    forged = impostor.sign(Domain.CERTIFICATION, b"anything")
    entries = list(sim.entries)
    entries[cert.index] = msgspec.structs.replace(cert, signature=forged.hex())
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=cert.index))
    assert _first(report) == ("certification", cert.index)


def test_missing_certification_is_caught_by_the_certification_check(sim: Simulation) -> None:
    entries = [e for e in sim.entries if not isinstance(e, CertificationEntry | PublicationEntry)]
    cert = next(e for e in sim.entries if isinstance(e, CertificationEntry))
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=cert.index))
    assert _first(report) == ("certification", None)


def test_checkpoint_inconsistent_with_the_log_is_caught_by_the_checkpoint_check(
    sim: Simulation,
) -> None:
    bundle = rebuild(sim, sim.entries, unchanged_prefix=len(sim.entries), latest_root=b"\x01" * 32)
    report = verify_bundle(bundle)
    assert _first(report) == ("checkpoint", None)


def test_log_rewritten_behind_an_earlier_checkpoint_is_caught_by_the_history_check(
    sim: Simulation,
) -> None:
    objection = next(e for e in sim.entries if isinstance(e, ObjectionEntry))
    entries = list(sim.entries)
    entries[objection.index] = msgspec.structs.replace(objection, document="00" * 32)
    bundle = rebuild(sim, entries, unchanged_prefix=objection.index, keep_all_checkpoints=True)
    report = verify_bundle(bundle)
    name, _ = _first(report)
    assert name == "history"


@pytest.mark.parametrize("pin", ["service", "officer"])
def test_keys_other_than_the_pinned_ones_fail_the_bundle_check(sim: Simulation, pin: str) -> None:
    other = "someone+00000000+AQ" + "A" * 42 + "="
    if pin == "service":
        report = verify_bundle(sim.bundle, service_key=other)
    else:
        report = verify_bundle(sim.bundle, officer_keys=[other])
    assert _first(report) == ("bundle", None)


def test_ballot_signed_after_its_key_was_revoked_is_caught(sim: Simulation) -> None:
    # The server records a voter's key as revoked just before the voter's ballot
    # and keeps the ballot: a ballot under a revoked key must not count.
    member_of = {m.key: m.id for m in _notice(sim).roster.members}
    target = [e for e in _online(sim) if e.ballot.member in member_of][2]
    # Even with the officer's signature on the revocation (a colluding or deceived
    # officer), the ballot after it is refused.
    revoked = _revocation(
        sim, target, member_of[target.ballot.member], signer=sim.officer_key, name=OFFICER_NAME
    )
    position = target.index
    entries = renumber([*sim.entries[:position], revoked, *sim.entries[position:]], sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=position))
    assert _first(report) == ("ballots", position + 1)


def _revocation(
    sim: Simulation, before: BallotEntry, member: str, *, signer: SigningKey, name: str
) -> CredentialRevokedEntry:
    """A revocation of the key of ``before``'s ballot, at its position, signed by ``signer``."""
    request = "ab" * 32
    body = credential_change_body(
        meeting=before.meeting,
        member=member,
        old_key=before.ballot.member,
        new_key=None,
        reason="tampered",
        request=request,
    )
    return credential_revoked_entry(
        meeting=before.meeting,
        index=before.index,
        time=parse_time(before.time),
        member=member,
        key=PublicKey.from_hex(before.ballot.member),
        reason="tampered",
        request=request,
        officer=name,
        key_id=sim.officer.key_id.hex(),
        signature=signer.sign(Domain.CREDENTIAL_CHANGE, body),
    )


def _non_voters(sim: Simulation) -> list[str]:
    voted = {e.member for e in sim.entries if isinstance(e, PaperBallotEntry)}
    keys = {m.key: m.id for m in _notice(sim).roster.members}
    signed = [e for e in sim.entries if isinstance(e, BallotEntry | ProxyBallotEntry)]
    voted |= {keys[e.ballot.member] for e in signed if e.ballot.member in keys}
    replaced = {e.member for e in sim.entries if isinstance(e, CredentialReplacedEntry)}
    return [m.id for m in _notice(sim).roster.members if m.id not in voted | replaced]


def _replacement_by_the_server(
    sim: Simulation, at: BallotEntry, member: str, new_key: SigningKey, signature: bytes
) -> list[Entry]:
    """The log with a replacement of ``member``'s key at ``at``'s position and a ballot of
    the new key right after it (renumbered, tally re-signed)."""
    old_key = next(m.key for m in _notice(sim).roster.members if m.id == member)
    replaced = credential_replaced_entry(
        meeting=at.meeting,
        index=at.index,
        time=parse_time(at.time),
        member=member,
        old_key=PublicKey.from_hex(old_key),
        new_key=new_key.public_key,
        reason="补发凭证",
        request="cd" * 32,
        officer=OFFICER_NAME,
        key_id=sim.officer.key_id.hex(),
        signature=signature,
    )
    ballot = build_ballot(
        meeting=at.meeting,
        member=new_key.public_key,
        choices={_notice(sim).agenda[0].id: "abstain"},
        roster_root=_notice(sim).roster_root,
    )
    forged = msgspec.structs.replace(
        at, ballot=ballot, signature=sign_ballot(ballot, new_key).hex()
    )
    position = at.index
    return renumber([*sim.entries[:position], replaced, forged, *sim.entries[position:]], sim)


def test_key_replaced_by_the_server_without_the_officer_is_caught_by_credentials(
    sim: Simulation,
) -> None:
    # The server replaces the key of an owner who has not voted with a key of its own
    # and votes with it; it can sign the change only with its own key.
    target = _online(sim)[0]
    made = SigningKey.from_seed(b"\x5e" * 32)
    member = _non_voters(sim)[0]
    old_key = next(m.key for m in _notice(sim).roster.members if m.id == member)
    body = credential_change_body(
        meeting=target.meeting,
        member=member,
        old_key=old_key,
        new_key=made.public_key.hex(),
        reason="补发凭证",
        request="cd" * 32,
    )
    signature = sim.service_key.sign(Domain.CREDENTIAL_CHANGE, body)
    entries = _replacement_by_the_server(sim, target, member, made, signature)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    assert _first(report) == ("credentials", target.index)


def test_replacement_with_the_officer_signature_of_another_key_is_caught_by_credentials(
    sim: Simulation,
) -> None:
    # The officer approved a replacement with key A; the server logs key B of its own
    # under the officer's signature over A.
    target = _online(sim)[0]
    member = _non_voters(sim)[0]
    old_key = next(m.key for m in _notice(sim).roster.members if m.id == member)
    approved = SigningKey.from_seed(b"\x5a" * 32)
    body = credential_change_body(
        meeting=target.meeting,
        member=member,
        old_key=old_key,
        new_key=approved.public_key.hex(),
        reason="补发凭证",
        request="cd" * 32,
    )
    signature = sim.officer_key.sign(Domain.CREDENTIAL_CHANGE, body)
    made = SigningKey.from_seed(b"\x5b" * 32)
    entries = _replacement_by_the_server(sim, target, member, made, signature)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    assert _first(report) == ("credentials", target.index)


def test_officer_signed_replacement_inserted_in_the_log_passes_the_credentials_check(
    sim: Simulation,
) -> None:
    # The counterpart of the two tests above: with the officer's signature over exactly
    # this change the credentials check passes (the recounted tally is what fails).
    target = _online(sim)[0]
    member = _non_voters(sim)[0]
    old_key = next(m.key for m in _notice(sim).roster.members if m.id == member)
    new_key = SigningKey.from_seed(b"\x5c" * 32)
    body = credential_change_body(
        meeting=target.meeting,
        member=member,
        old_key=old_key,
        new_key=new_key.public_key.hex(),
        reason="补发凭证",
        request="cd" * 32,
    )
    signature = sim.officer_key.sign(Domain.CREDENTIAL_CHANGE, body)
    entries = _replacement_by_the_server(sim, target, member, new_key, signature)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    credentials = next(c for c in report.checks if c.spec.name == "credentials")
    assert credentials.status == "pass"
    assert _first(report)[0] == "tally"


def test_revocation_signed_by_an_officer_not_in_the_bundle_is_caught_by_credentials(
    sim: Simulation,
) -> None:
    target = _online(sim)[0]
    member_of = {m.key: m.id for m in _notice(sim).roster.members}
    revoked = _revocation(
        sim, target, member_of[target.ballot.member], signer=sim.officer_key, name="stranger"
    )
    position = target.index
    entries = renumber([*sim.entries[:position], revoked, *sim.entries[position:]], sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=position))
    assert _first(report) == ("credentials", position)


def _owner_objection(sim: Simulation) -> ObjectionEntry:
    return next(e for e in sim.entries if isinstance(e, ObjectionEntry) and e.key is not None)


def test_replayed_owner_objection_is_caught_by_the_signature_check(sim: Simulation) -> None:
    objection = _owner_objection(sim)
    entries = list(sim.entries)
    entries.insert(objection.index + 1, objection)
    tampered = renumber(entries, sim)
    bundle = rebuild(sim, tampered, unchanged_prefix=objection.index + 1)
    assert _first(verify_bundle(bundle)) == ("signatures", objection.index + 1)


def test_owner_objection_with_a_changed_subject_is_caught_by_the_signature_check(
    sim: Simulation,
) -> None:
    objection = _owner_objection(sim)
    entries = list(sim.entries)
    entries[objection.index] = msgspec.structs.replace(objection, subject="tally")
    bundle = rebuild(sim, entries, unchanged_prefix=objection.index)
    assert _first(verify_bundle(bundle)) == ("signatures", objection.index)


def test_owner_objection_attributed_to_another_member_is_caught(sim: Simulation) -> None:
    objection = _owner_objection(sim)
    other = next(m.id for m in _notice(sim).roster.members if m.id != objection.member)
    entries = list(sim.entries)
    entries[objection.index] = msgspec.structs.replace(objection, member=other)
    bundle = rebuild(sim, entries, unchanged_prefix=objection.index)
    assert _first(verify_bundle(bundle)) == ("signatures", objection.index)


def test_objection_passed_off_as_the_owners_without_a_signature_is_caught(
    sim: Simulation,
) -> None:
    objection = _owner_objection(sim)
    entries = list(sim.entries)
    entries[objection.index] = msgspec.structs.replace(objection, signature=None)
    bundle = rebuild(sim, entries, unchanged_prefix=objection.index)
    assert _first(verify_bundle(bundle)) == ("signatures", objection.index)


def test_owner_objection_signed_after_the_key_was_revoked_is_caught(sim: Simulation) -> None:
    objection = _owner_objection(sim)
    assert objection.key is not None
    assert objection.member is not None
    # An officer-signed revocation, so that only the objection's signature is wrong.
    request = "ab" * 32
    body = credential_change_body(
        meeting=objection.meeting,
        member=objection.member,
        old_key=objection.key,
        new_key=None,
        reason="tampered",
        request=request,
    )
    revoked = credential_revoked_entry(
        meeting=objection.meeting,
        index=objection.index,
        time=parse_time(objection.time),
        member=objection.member,
        key=PublicKey.from_hex(objection.key),
        reason="tampered",
        request=request,
        officer=OFFICER_NAME,
        key_id=sim.officer.key_id.hex(),
        signature=sim.officer_key.sign(Domain.CREDENTIAL_CHANGE, body),
    )
    position = objection.index
    entries = renumber([*sim.entries[:position], revoked, *sim.entries[position:]], sim)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=position))
    assert _first(report) == ("signatures", position + 1)
