"""The simulator: deterministic, complete, and its bundles verify."""

from __future__ import annotations

import pytest

from crypto.notes import CosignatureVerifier, open_note
from votes.model import DuplicatePolicy
from votes.record.bundle import encode_bundle
from votes.record.entries import (
    ApprovalEntry,
    BallotEntry,
    CertificationEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
)
from votes.record.simulate import Simulation, simulate
from votes.record.verify import verify_bundle


def test_same_seed_gives_the_same_bundle_bytes() -> None:
    one = simulate(members=15, motions=3, seed=5)
    two = simulate(members=15, motions=3, seed=5)
    assert encode_bundle(one.bundle) == encode_bundle(two.bundle)


def test_different_seeds_give_different_bundles() -> None:
    one = simulate(members=15, motions=3, seed=5)
    two = simulate(members=15, motions=3, seed=6)
    assert encode_bundle(one.bundle) != encode_bundle(two.bundle)


def test_roster_has_the_requested_members_and_the_special_cases(sim: Simulation) -> None:
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    members = notice.roster.members
    assert len(members) == 40
    assert sum(m.developer for m in members) == 1
    assert any(len(m.units) > 1 and not m.developer for m in members)  # multi-unit owner
    assert any(len(u.owners) > 1 for m in members for u in m.units)  # co-owned unit
    assert len(notice.agenda) == 5


def test_record_has_every_channel_and_credential_event(sim: Simulation) -> None:
    kinds = {type(e) for e in sim.entries}
    assert {
        BallotEntry,
        PaperBallotEntry,
        ProxyBallotEntry,
        CredentialRevokedEntry,
        CredentialReplacedEntry,
        ApprovalEntry,
        CertificationEntry,
    } <= kinds


def test_officer_cosigns_at_approval_and_certification(sim: Simulation) -> None:
    officer = CosignatureVerifier.from_key_string(sim.bundle.officers[0].key)
    cosigned = []
    for checkpoint in sim.bundle.checkpoints:
        note = open_note(checkpoint.note, [sim.service.verifier(), officer])
        if any(s.name == officer.name for s in note.signatures):
            cosigned.append(int(note.text.split("\n")[1]))
    approval = next(e for e in sim.entries if isinstance(e, ApprovalEntry))
    cert = next(e for e in sim.entries if isinstance(e, CertificationEntry))
    assert cosigned == [approval.index + 1, cert.checkpoint.size]
    assert len(sim.bundle.checkpoints) >= 3


@pytest.mark.parametrize("policy", list(DuplicatePolicy))
def test_simulated_bundles_verify_under_every_policy(policy: DuplicatePolicy) -> None:
    result = simulate(members=25, motions=4, seed=2, policy=policy)
    report = verify_bundle(result.bundle, receipts=result.receipts)
    assert report.ok, report.first_failure


def test_too_few_members_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        simulate(members=2, motions=1)
