"""Every rule docs/verification.md states is checked, by the check the docs name for it.

Each test breaks one rule. The tamperer is the malicious server of
tamper_support.py; where the rule is one an officer could sign off without
noticing (a short notice, an early certification), ``with_officer`` re-signs
as the officer too, so that nothing but the rule itself can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from votes.model import DuplicatePolicy
from votes.record.ballot import build_ballot, sign_ballot
from votes.record.bundle import encode_bundle
from votes.record.entries import (
    ApprovalEntry,
    BallotEntry,
    CertificationEntry,
    ClosingEntry,
    Entry,
    NoticeEntry,
    ObjectionEntry,
    PaperBallotEntry,
    PublicationEntry,
    TallyEntry,
    ballot_entry,
    entry_bytes,
    roster_root,
)
from votes.record.receipt import ReceiptError, decode_receipt, encode_receipt
from votes.record.simulate import Simulation, simulate
from votes.record.verify import CheckResult, Report, verify_bundle
from votes.record.wire import format_time, parse_time

from .tamper_support import rebuild, renumber, with_officer


def _first(report: Report) -> tuple[str, int | None]:
    failure = report.first_failure
    assert failure is not None, "the broken rule went undetected"
    return failure.spec.name, failure.entry


def _check(report: Report, name: str) -> CheckResult:
    return next(c for c in report.checks if c.spec.name == name)


def _one(sim: Simulation, kind: type[Entry]) -> Entry:
    return next(e for e in sim.entries if isinstance(e, kind))


def _notice(sim: Simulation) -> NoticeEntry:
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    return notice


def _replaced(sim: Simulation, entry: Entry) -> list[Entry]:
    entries = list(sim.entries)
    entries[entry.index] = entry
    return entries


def _with_notice(sim: Simulation, **changes: object) -> list[Entry]:
    notice = msgspec.structs.replace(_notice(sim), **changes)
    return _replaced(sim, notice)


def _with_settings(sim: Simulation, **changes: object) -> list[Entry]:
    return _with_notice(sim, settings=msgspec.structs.replace(_notice(sim).settings, **changes))


# ------------------------------------------------------------------ repeated keys


def test_repeated_key_in_paper_ballot_choices_is_caught_by_the_entry_check(
    sim: Simulation,
) -> None:
    paper = _one(sim, PaperBallotEntry)
    assert isinstance(paper, PaperBallotEntry)
    motion, choice = next(iter(paper.choices.items()))
    other = "oppose" if choice != "oppose" else "agree"
    signed = entry_bytes(paper)
    field = b'"choices":{'
    # A reader keeping the first value sees `other`; the signed bytes hold `choice`.
    shown = msgspec.json.encode(motion) + b":" + msgspec.json.encode(other) + b","
    text = signed.replace(field, field + shown, 1)
    entries = list(sim.bundle.entries)
    entries[paper.index] = msgspec.Raw(text)
    report = verify_bundle(msgspec.structs.replace(sim.bundle, entries=entries))
    assert _first(report) == ("entries", paper.index)
    assert f"repeats the key {motion!r}" in _check(report, "entries").findings[0].message


def test_pretty_printed_entries_without_repeated_keys_pass(sim: Simulation) -> None:
    entries = [msgspec.Raw(msgspec.json.format(bytes(raw), indent=2)) for raw in sim.bundle.entries]
    report = verify_bundle(msgspec.structs.replace(sim.bundle, entries=entries))
    assert report.ok, report.first_failure


def test_settings_field_left_out_of_the_notice_text_is_caught_by_the_entry_check(
    sim: Simulation,
) -> None:
    # msgspec would fill in the default; a verifier reading the text sees no such field.
    text = entry_bytes(_notice(sim)).replace(b',"retention_years":3', b"", 1)
    assert text != entry_bytes(_notice(sim))
    entries = [msgspec.Raw(text), *sim.bundle.entries[1:]]
    report = verify_bundle(msgspec.structs.replace(sim.bundle, entries=entries))
    assert _first(report) == ("entries", 0)


def test_repeated_key_outside_the_entries_fails_the_bundle_check(sim: Simulation) -> None:
    data = encode_bundle(sim.bundle)
    start = b'{"format":"owner-vote-bundle",'
    assert data.startswith(start)
    tampered = start + b'"meeting":"another-meeting",' + data[len(start) :]
    report = verify_bundle(tampered)
    assert _first(report) == ("bundle", None)
    assert "'meeting' repeats" in _check(report, "bundle").findings[0].message


def test_receipt_with_a_repeated_key_is_refused(sim: Simulation) -> None:
    data = encode_receipt(sim.receipts[0])
    tampered = data.replace(b'"index":', b'"index":0,"index":', 1)
    with pytest.raises(ReceiptError, match="'index' repeats"):
        decode_receipt(tampered)


def test_receipt_with_upper_case_hex_fails_the_receipt_check(sim: Simulation) -> None:
    receipt = sim.receipts[0]
    shouting = msgspec.structs.replace(receipt, signature=receipt.signature.upper())
    report = verify_bundle(sim.bundle, receipts=[shouting])
    assert _first(report) == ("receipts", receipt.body.index)


# ------------------------------------------------------------------ format rules


def test_unsorted_roster_members_are_caught_by_the_roster_check(sim: Simulation) -> None:
    roster = _notice(sim).roster
    members = [roster.members[1], roster.members[0], *roster.members[2:]]
    swapped = msgspec.structs.replace(roster, members=members)
    entries = _with_notice(sim, roster=swapped, roster_root=roster_root(swapped))
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=0))
    assert _first(report) == ("roster", 0)
    assert "not sorted by id" in _check(report, "roster").findings[0].message


def test_unsorted_owner_tags_are_caught_by_the_roster_check(sim: Simulation) -> None:
    roster = _notice(sim).roster
    position, member = next(
        (i, m) for i, m in enumerate(roster.members) if len(m.units[0].owners) > 1
    )
    unit = msgspec.structs.replace(member.units[0], owners=member.units[0].owners[::-1])
    changed = msgspec.structs.replace(member, units=[unit, *member.units[1:]])
    members = list(roster.members)
    members[position] = changed
    tampered = msgspec.structs.replace(roster, members=members)
    entries = _with_notice(sim, roster=tampered, roster_root=roster_root(tampered))
    report = verify_bundle(with_officer(sim, entries))
    assert _first(report) == ("roster", 0)


def test_upper_case_hex_in_an_objection_is_caught_by_the_entry_check(sim: Simulation) -> None:
    objection = _one(sim, ObjectionEntry)
    assert isinstance(objection, ObjectionEntry)
    shouting = msgspec.structs.replace(objection, document=objection.document.upper())
    report = verify_bundle(rebuild(sim, _replaced(sim, shouting), unchanged_prefix=objection.index))
    assert _first(report) == ("entries", objection.index)


def test_upper_case_ballot_signature_is_caught_by_the_ballot_check(sim: Simulation) -> None:
    # bytes.fromhex reads either case, so the signature still verifies (check 10).
    ballot = _one(sim, BallotEntry)
    assert isinstance(ballot, BallotEntry)
    shouting = msgspec.structs.replace(ballot, signature=ballot.signature.upper())
    report = verify_bundle(rebuild(sim, _replaced(sim, shouting), unchanged_prefix=ballot.index))
    assert _check(report, "signatures").passed
    assert _first(report) == ("ballots", ballot.index)


@pytest.mark.parametrize(
    ("field", "value"),
    [("seats", 2), ("candidates", ["A", "B"]), ("scope", ["2栋", "1栋"])],
    ids=["seats", "candidates", "scope"],
)
def test_malformed_yes_no_motion_is_caught_by_the_entry_check(
    sim: Simulation, field: str, value: object
) -> None:
    notice = _notice(sim)
    position, motion = next((i, m) for i, m in enumerate(notice.agenda) if m.type == "yes-no")
    agenda = list(notice.agenda)
    agenda[position] = msgspec.structs.replace(motion, **{field: value})
    report = verify_bundle(with_officer(sim, _with_notice(sim, agenda=agenda)))
    assert _first(report) == ("entries", 0)


# ------------------------------------------------------------------ check 8


def test_removed_approval_cosignature_is_caught_by_the_approval_check(sim: Simulation) -> None:
    # The certification's cosigned checkpoint also covers the approval entry; it must not
    # stand in for the cosignature made when the officer approved.
    approval = _one(sim, ApprovalEntry)
    kept = [c for c in sim.bundle.checkpoints if int(c.note.split("\n")[1]) != approval.index + 1]
    assert len(kept) == len(sim.bundle.checkpoints) - 1
    report = verify_bundle(msgspec.structs.replace(sim.bundle, checkpoints=kept))
    assert _first(report) == ("approval", approval.index)


# ------------------------------------------------------------------ check 12


def test_short_notice_is_caught_by_the_voting_period_check(sim: Simulation) -> None:
    open_at = parse_time(_notice(sim).open_at)
    entries = _with_notice(sim, notice_at=format_time(open_at - timedelta(days=1)))
    report = verify_bundle(with_officer(sim, entries))
    assert _first(report) == ("voting-period", 0)
    assert "notice_days = 15" in _check(report, "voting-period").findings[0].message


def test_voting_period_longer_than_voting_max_days_is_caught(sim: Simulation) -> None:
    report = verify_bundle(with_officer(sim, _with_settings(sim, voting_max_days=10)))
    assert _first(report) == ("voting-period", 0)


def test_voting_period_shorter_than_voting_min_days_is_caught(sim: Simulation) -> None:
    report = verify_bundle(with_officer(sim, _with_settings(sim, voting_min_days=20)))
    assert _first(report) == ("voting-period", 0)


@pytest.mark.parametrize(
    "setting", ["objection_days", "notice_days", "voting_min_days", "voting_max_days"]
)
def test_day_count_beyond_a_century_is_caught_by_the_entry_check(
    sim: Simulation, setting: str
) -> None:
    # Adding 10**12 days to a time overflows the calendar: the format refuses it, so no
    # reader has to compute with it.
    report = verify_bundle(with_officer(sim, _with_settings(sim, **{setting: 10**12})))
    assert _first(report) == ("entries", 0)


def test_notice_without_its_schedule_rules_is_caught_by_the_voting_period_check(
    sim: Simulation,
) -> None:
    report = verify_bundle(with_officer(sim, _with_settings(sim, notice_days=None)))
    assert _first(report) == ("voting-period", 0)
    assert "notice_days" in _check(report, "voting-period").findings[0].message


@pytest.mark.parametrize(
    "shift", [-timedelta(days=30), timedelta(seconds=1)], ids=["early", "late"]
)
def test_paper_ballot_entered_outside_the_period_is_caught_by_the_voting_period_check(
    sim: Simulation, shift: timedelta
) -> None:
    # early: before voting opened; late: after the service logged it.
    paper = _one(sim, PaperBallotEntry)
    assert isinstance(paper, PaperBallotEntry)
    entered = format_time(parse_time(paper.time) + shift)
    changed = msgspec.structs.replace(paper, entered_at=entered)
    report = verify_bundle(with_officer(sim, _replaced(sim, changed)))
    assert _first(report) == ("voting-period", paper.index)


def test_open_meeting_is_reported_as_lacking_only_its_closing(sim: Simulation) -> None:
    closing = _one(sim, ClosingEntry)
    entries = list(sim.entries[: closing.index])
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=closing.index))
    period = _check(report, "voting-period")
    assert [f.message for f in period.findings] == [
        "the log has no closing entry: voting has not closed"
    ]


# ------------------------------------------------------------------ check 13


def _second_online_ballot(sim: Simulation) -> list[Entry]:
    """The log with a second online ballot, just before the closing, of the first online voter.

    The member signs it (the tamperer is the member and the server together); it repeats
    the first ballot's choices, so the count stays the same.
    """
    first = _one(sim, BallotEntry)
    assert isinstance(first, BallotEntry)
    member = next(m for m in _notice(sim).roster.members if m.key == first.ballot.member)
    closing = _one(sim, ClosingEntry)
    again = build_ballot(
        meeting=first.meeting,
        member=sim.member_keys[member.id].public_key,
        choices=first.ballot.choices,
        roster_root=first.ballot.roster_root,
    )
    second = ballot_entry(
        meeting=first.meeting,
        index=closing.index,
        time=parse_time(sim.entries[closing.index - 1].time),
        ballot=again,
        signature=sign_ballot(again, sim.member_keys[member.id]),
    )
    return [*sim.entries[: closing.index], second, *sim.entries[closing.index :]]


def test_second_ballot_under_one_vote_only_is_caught_by_the_effective_check() -> None:
    sim = simulate(members=12, motions=2, seed=5, policy=DuplicatePolicy.ONE_VOTE_ONLY)
    report = verify_bundle(with_officer(sim, _second_online_ballot(sim)))
    assert _first(report) == ("effective", None)


def test_second_online_ballot_under_online_prevails_is_caught_by_the_effective_check() -> None:
    sim = simulate(members=12, motions=2, seed=5, policy=DuplicatePolicy.ONLINE_PREVAILS)
    report = verify_bundle(with_officer(sim, _second_online_ballot(sim)))
    assert _first(report) == ("effective", None)
    assert "allows one per channel" in _check(report, "effective").findings[0].message


# ------------------------------------------------------------------ check 14


def _with_reason(
    tally: TallyEntry, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> TallyEntry:
    """The tally with the first motion's reason (why it did not pass) changed."""
    motions = list(tally.result["motions"])
    position = next(i for i, m in enumerate(motions) if m["reason"] is not None)
    motions[position] = {**motions[position], "reason": change(dict(motions[position]["reason"]))}
    return msgspec.structs.replace(tally, result={**tally.result, "motions": motions})


def _with_tally(sim: Simulation, change: dict[str, object]) -> list[Entry]:
    tally = _one(sim, TallyEntry)
    assert isinstance(tally, TallyEntry)
    return _replaced(sim, _with_reason(tally, lambda reason: {**reason, **change}))


def test_reworded_tally_message_passes_the_tally_check(sim: Simulation) -> None:
    report = verify_bundle(with_officer(sim, _with_tally(sim, {"en": "reworded for people"})))
    assert report.ok, report.first_failure


def test_changed_tally_reason_code_is_caught_by_the_tally_check(sim: Simulation) -> None:
    tally = _one(sim, TallyEntry)
    report = verify_bundle(with_officer(sim, _with_tally(sim, {"code": "quorum-not-met"})))
    assert _first(report) == ("tally", tally.index)


def test_tally_reason_without_its_message_is_caught_by_the_tally_check(sim: Simulation) -> None:
    tally = _one(sim, TallyEntry)
    assert isinstance(tally, TallyEntry)
    changed = _with_reason(tally, lambda reason: {k: v for k, v in reason.items() if k != "zh"})
    report = verify_bundle(with_officer(sim, _replaced(sim, changed)))
    assert _first(report) == ("tally", tally.index)


# ------------------------------------------------------------------ check 15


def test_certification_inside_the_objection_window_is_caught_by_the_certification_check(
    sim: Simulation,
) -> None:
    tally, cert = _one(sim, TallyEntry), _one(sim, CertificationEntry)
    days = _notice(sim).settings.objection_days
    early = format_time(parse_time(tally.time) + timedelta(days=days) - timedelta(seconds=1))
    report = verify_bundle(
        with_officer(sim, _replaced(sim, msgspec.structs.replace(cert, time=early)))
    )
    assert _first(report) == ("certification", cert.index)
    assert "objection window" in _check(report, "certification").findings[0].message


def test_publication_disclosing_other_than_the_settings_is_caught(sim: Simulation) -> None:
    publication = _one(sim, PublicationEntry)
    assert isinstance(publication, PublicationEntry)
    assert _notice(sim).settings.disclosure == "anonymous"
    changed = msgspec.structs.replace(publication, disclosure="open-roll")
    report = verify_bundle(
        rebuild(sim, _replaced(sim, changed), unchanged_prefix=publication.index)
    )
    assert _first(report) == ("certification", publication.index)


def test_certified_bundle_without_a_publication_passes(sim: Simulation) -> None:
    publication = _one(sim, PublicationEntry)
    entries = list(sim.entries[: publication.index])
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=publication.index))
    assert report.ok, report.first_failure


# ------------------------------------------------------------------ the runner


def test_checks_after_a_failed_one_still_run(sim: Simulation) -> None:
    tally = _one(sim, TallyEntry)
    report = verify_bundle(
        with_officer(sim, _with_tally(sim, {"code": "quorum-not-met"})), receipts=sim.receipts
    )
    assert _first(report) == ("tally", tally.index)
    assert [c.status for c in report.checks if c.spec.number != 14] == ["pass"] * 14


def test_renumbered_log_keeps_every_rule(sim: Simulation) -> None:
    # The helpers themselves: an untampered log, renumbered and re-signed, passes.
    assert verify_bundle(with_officer(sim, renumber(list(sim.entries), sim))).ok


def test_notice_period_counts_from_an_approval_later_than_notice_at(sim: Simulation) -> None:
    # The service posts the notice only once it is approved: an approval 14 days before
    # the opening leaves 14 days' notice, whatever notice_at says.
    approval = _one(sim, ApprovalEntry)
    open_at = parse_time(_notice(sim).open_at)
    late = format_time(open_at - timedelta(days=14))
    entries = _replaced(sim, msgspec.structs.replace(approval, time=late))
    later = [
        e
        for e in entries[approval.index + 1 :]
        if parse_time(e.time) < open_at - timedelta(days=14)
    ]
    for entry in later:  # the entries logged before the late approval's time follow it
        entries[entry.index] = msgspec.structs.replace(entry, time=late)
    report = verify_bundle(with_officer(sim, entries))
    assert _first(report) == ("voting-period", 0)
    assert f"after the approval {late}" in _check(report, "voting-period").findings[0].message
