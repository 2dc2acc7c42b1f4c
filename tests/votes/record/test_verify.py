"""The checklist engine: report shape, pinned keys, workers, and the documented check list."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from votes.cli.verify_cmd import render_report
from votes.record.ballot import ballot_bytes, sign_ballot
from votes.record.bundle import encode_bundle
from votes.record.entries import (
    ApprovalEntry,
    BallotEntry,
    CertificationEntry,
    CredentialReplacedEntry,
    NoticeEntry,
    approval_body,
    certification_body,
    credential_change_entry_body,
    entry_bytes,
    entry_hash,
    tally_rows,
)
from votes.record.simulate import Simulation, simulate
from votes.record.verify import CHECKS, CheckResult, Report, verify_bundle

from .tamper_support import rebuild


def test_checks_are_numbered_one_to_n_in_order() -> None:
    assert [c.number for c in CHECKS] == list(range(1, len(CHECKS) + 1))
    assert len({c.name for c in CHECKS}) == len(CHECKS)


def test_report_lists_every_check_in_order(sim: Simulation) -> None:
    report = verify_bundle(sim.bundle)
    assert [c.spec for c in report.checks] == list(CHECKS)
    assert report.ok
    assert report.first_failure is None


def test_pinned_keys_matching_the_bundle_pass(sim: Simulation) -> None:
    report = verify_bundle(
        sim.bundle,
        service_key=sim.service.verifier().key_string(),
        officer_keys=[sim.officer.verifier().key_string()],
    )
    assert report.ok


def test_bundle_given_as_bytes_or_path_verifies(sim: Simulation, tmp_path: Path) -> None:
    data = encode_bundle(sim.bundle)
    path = tmp_path / "b.ovb.json"
    path.write_bytes(data)
    assert verify_bundle(data).ok
    assert verify_bundle(path).ok


def test_unreadable_bundle_fails_check_one_and_skips_the_rest(tmp_path: Path) -> None:
    report = verify_bundle(b"{}")
    assert report.checks[0].status == "fail"
    assert {c.status for c in report.checks[1:]} == {"skip"}


def test_unparseable_entry_fails_the_entries_check_with_its_index(sim: Simulation) -> None:
    data = msgspec.json.decode(encode_bundle(sim.bundle))
    data["entries"][4]["time"] = "yesterday"
    report = verify_bundle(msgspec.json.encode(data))
    failure = report.first_failure
    assert failure is not None
    assert (failure.spec.name, failure.entry) == ("entries", 4)


def test_report_as_dict_names_the_first_failure(sim: Simulation) -> None:
    data = msgspec.json.decode(encode_bundle(sim.bundle))
    data["entries"][4]["time"] = "yesterday"
    report = verify_bundle(msgspec.json.encode(data)).to_dict()
    assert report["ok"] is False
    assert report["first_failure"] == {"number": 2, "name": "entries", "entry": 4}
    assert len(report["checks"]) == len(CHECKS)


def test_parallel_signature_checking_finds_the_same_bad_signatures() -> None:
    # Enough entries for verify_bundle to fork its worker pool when given 2 workers.
    result = simulate(members=2700, motions=1, seed=3)
    entries = list(result.entries)
    broken = []
    for entry in result.entries:
        if isinstance(entry, BallotEntry):
            broken.append(entry.index)
            if entry.index % 500 == 0:
                entries[entry.index] = msgspec.structs.replace(entry, signature=bytes(64).hex())
    assert len(broken) >= 2000
    expected = sorted(i for i in broken if i % 500 == 0)
    bundle = rebuild(result, entries, unchanged_prefix=0)
    for workers in (1, 2):
        signatures = _check(verify_bundle(bundle, workers=workers), "signatures")
        assert [f.entry for f in signatures.findings] == expected


def test_documented_check_list_matches_the_verifier(repo_root: Path) -> None:
    text = (repo_root / "docs" / "verification.md").read_text(encoding="utf-8")
    section = text.split("\n## Checks", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`([a-z-]+)`\s*\|", section, flags=re.MULTILINE)
    assert [(int(n), name) for n, name in rows] == [(c.number, c.name) for c in CHECKS]


def _doc_examples(text: str) -> dict[str, str]:
    found = re.findall(r"<!-- example: ([a-z-]+) -->\n```text\n(.*?)\n```", text, flags=re.DOTALL)
    return dict(found)


def test_worked_example_in_the_doc_matches_the_code(repo_root: Path) -> None:
    text = (repo_root / "docs" / "verification.md").read_text(encoding="utf-8")
    examples = _doc_examples(text)
    result = simulate(members=3, motions=2, seed=1)
    ballot, approval, cert = result.entries[7], result.entries[1], result.entries[15]
    assert isinstance(ballot, BallotEntry)
    assert isinstance(approval, ApprovalEntry)
    assert isinstance(cert, CertificationEntry)
    replaced = result.entries[3]
    assert isinstance(replaced, CredentialReplacedEntry)
    expected = {
        "ballot-bytes": ballot_bytes(ballot.ballot).decode(),
        "ballot-entry": entry_bytes(ballot).decode(),
        "ballot-entry-hash": entry_hash(ballot).hex(),
        "approval-body": approval_body(
            meeting=approval.meeting, notice=approval.notice, roster_root=approval.roster_root
        ).decode(),
        "approval-checkpoint": result.bundle.checkpoints[0].note.rstrip("\n"),
        "credential-change-body": credential_change_entry_body(replaced).decode(),
        "certification-body": certification_body(
            meeting=cert.meeting,
            tally=cert.tally,
            size=cert.checkpoint.size,
            root=cert.checkpoint.root,
        ).decode(),
        "verify-output": render_report(verify_bundle(result.bundle)),
    }
    assert examples == expected


def _check(report: Report, name: str) -> CheckResult:
    return next(c for c in report.checks if c.spec.name == name)


def test_member_signature_verifies_when_choices_hold_entry_keys(sim: Simulation) -> None:
    # The verifier takes a ballot's signed bytes from inside its entry's bytes;
    # motion ids that look like the entry's own keys must not confuse it.
    target = next(e for e in sim.entries if isinstance(e, BallotEntry))
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    member = next(m.id for m in notice.roster.members if m.key == target.ballot.member)
    choices = {**target.ballot.choices, "A": "agree", "index": "agree", 'x,"index":1': "agree"}
    ballot = msgspec.structs.replace(target.ballot, choices=choices)
    signature = sign_ballot(ballot, sim.member_keys[member]).hex()
    entries = list(sim.entries)
    entries[target.index] = msgspec.structs.replace(target, ballot=ballot, signature=signature)
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    assert _check(report, "signatures").status == "pass"
    assert _check(report, "ballots").entry == target.index  # unknown motions


def test_roster_root_is_found_when_notice_texts_hold_roster_keys(sim: Simulation) -> None:
    # The verifier hashes the roster's bytes inside the notice's bytes.
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    tricky = ',"roster":{"members":[]},"roster_root":"' + "0" * 64 + '"'
    changed = msgspec.structs.replace(notice, title=tricky, convener=tricky, estate='\\"')
    entries = [changed, *sim.entries[1:]]
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=0))
    assert _check(report, "roster").status == "pass"
    assert _check(report, "approval").status == "fail"  # the officer approved another notice


def test_upper_case_hex_in_one_ballot_is_still_reported_for_that_ballot(sim: Simulation) -> None:
    target = [e for e in sim.entries if isinstance(e, BallotEntry)][2]
    ballot = msgspec.structs.replace(target.ballot, nonce=target.ballot.nonce.upper())
    entries = list(sim.entries)
    entries[target.index] = msgspec.structs.replace(target, ballot=ballot)
    ballots = _check(verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index)), "ballots")
    assert [f.entry for f in ballots.findings] == [target.index]
    assert "malformed" in ballots.findings[0].message


def test_impossible_ballot_date_stops_the_effective_ballot_check(sim: Simulation) -> None:
    target = [e for e in sim.entries if isinstance(e, BallotEntry)][2]
    entries = list(sim.entries)
    entries[target.index] = msgspec.structs.replace(target, time="2025-02-30T10:00:00Z")
    report = verify_bundle(rebuild(sim, entries, unchanged_prefix=target.index))
    effective = _check(report, "effective")
    assert effective.status == "fail"
    assert "cannot check: ValueError" in effective.findings[-1].message


def test_recount_of_members_whose_ballots_agree_on_some_motions_only(sim: Simulation) -> None:
    # The recount files a member's agreeing rows on a motion without resolving
    # them; the rows that disagree go through the duplicate policy.
    choices: dict[tuple[str, str], list[str]] = {}
    for row in tally_rows(sim.entries):
        choices.setdefault((row.member_id, row.motion_id), []).append(row.choice)
    agreeing = {m for (m, _), texts in choices.items() if len(texts) > 1 and len(set(texts)) == 1}
    disagreeing = {m for (m, _), texts in choices.items() if len(set(texts)) > 1}
    assert agreeing & disagreeing  # the fixture holds such members
    tally = _check(verify_bundle(sim.bundle), "tally")
    assert tally.status == "pass", tally.findings
