"""A whole meeting through the service; its bundle must pass the independent verifier."""

from __future__ import annotations

import hashlib

import msgspec

from crypto.credentials import derive_signing_key, parse_secret
from tests.votes.service.conftest import World, signed_ballot
from votes.record.bundle import decode_bundle
from votes.record.verify import verify_bundle
from votes.service import ballots, meetings, objections, record, scheduler
from votes.service.schemas import (
    AnswerObjectionRequest,
    MeetingSettings,
    PaperBallotRequest,
    ProxyBallotRequest,
    StaffObjectionRequest,
)


async def test_full_meeting_bundle_passes_the_verifier(world: World) -> None:
    settings = MeetingSettings(duplicate_policy="latest-wins", max_changes=2, proxy_cap=2)  # type: ignore[arg-type]
    code = await world.opened(settings=settings)
    ctx = world.ctx
    receipts = []
    # Online ballots, one changed vote, a paper ballot and a proxy ballot.
    for member, choice in (
        ("member:1-101", "agree"),
        ("member:1-102", "oppose"),
        ("member:2-101", "agree"),
    ):
        raw, sig = signed_ballot(world, code, member, {"M1": choice, "M2": "甲物业"})
        receipts.append(await ballots.cast_ballot(ctx, code, raw, sig))
        world.clock.advance(minutes=5)
    raw, sig = signed_ballot(world, code, "member:1-101", {"M1": "oppose", "M2": "乙物业"})
    receipts.append(await ballots.cast_ballot(ctx, code, raw, sig))
    await ballots.enter_paper_ballot(
        ctx,
        code,
        PaperBallotRequest(
            member_id="member:2-102",
            choices={"M1": "agree", "M3": "agree"},
            sheet_sha256=hashlib.sha256(b"scan of sheet 1").hexdigest(),
        ),
        actor=world.convener_a,
    )
    raw, sig = signed_ballot(world, code, "developer", {"M1": "abstain", "M3": "oppose"})
    receipts.append(
        await ballots.enter_proxy_ballot(
            ctx,
            code,
            ProxyBallotRequest(
                ballot=raw.decode(),
                signature=sig,
                authorisation_sha256=hashlib.sha256(b"authorisation").hexdigest(),
                holder="王某 110101199001011234",
            ),
            actor=world.convener_a,
        )
    )
    # A lost letter replaced mid-vote; the new key votes.
    letter = await world.replace_credential(code, "member:1-103")

    new_key = derive_signing_key(world.letters[code].meeting_id, parse_secret(letter.code))
    raw, sig = signed_ballot(world, code, "member:1-103", {"M1": "agree"}, key=new_key)
    receipts.append(await ballots.cast_ballot(ctx, code, raw, sig))
    # An objection during voting, answered by the officer.
    lodged = await objections.file_staff_objection(
        ctx, code, StaffObjectionRequest(subject="procedure", text="异议"), actor=world.convener_a
    )
    await objections.answer_objection(
        ctx,
        code,
        lodged.id,
        AnswerObjectionRequest(decision="rejected", text="答复"),
        actor=world.officer_a.actor,
    )
    # The scheduler closes and tallies at the deadline.
    await world.to_close(code)
    done = await scheduler.run_due(ctx)
    assert done == [f"close:{code}", f"tally:{code}"]
    # An objection to the tally inside the window, answered; then certification.
    world.clock.advance(days=1)
    lodged = await objections.file_staff_objection(
        ctx,
        code,
        StaffObjectionRequest(subject="tally", text="计票异议"),
        actor=world.officer_a.actor,
    )
    await objections.answer_objection(
        ctx,
        code,
        lodged.id,
        AnswerObjectionRequest(decision="upheld", text="已核实"),
        actor=world.officer_a.actor,
    )
    world.clock.advance(days=settings.objection_days)
    await world.certify(code)
    await meetings.publish_result(ctx, code, actor=world.convener_a)

    data = await record.bundle(ctx, code)
    report = verify_bundle(data, receipts=receipts)
    failures = [
        (c.spec.name, [f.message for f in c.findings]) for c in report.checks if not c.passed
    ]
    assert report.ok, failures


async def test_tampered_bundle_fails_the_verifier(world: World) -> None:
    """The verifier is not trivially passing: one changed ballot choice is caught."""
    code = await world.opened()
    raw, sig = signed_ballot(world, code, "member:1-101", {"M1": "agree"})
    await ballots.cast_ballot(world.ctx, code, raw, sig)
    await world.to_close(code)
    await scheduler.run_due(world.ctx)
    data = await record.bundle(world.ctx, code)
    document = msgspec.json.decode(data)
    tampered = [
        e.replace(b'"agree"', b'"oppose"') if b'"ballot"' in e else e
        for e in (msgspec.json.encode(x) for x in document["entries"])
    ]
    document["entries"] = [msgspec.json.decode(e) for e in tampered]
    report = verify_bundle(msgspec.json.encode(document))
    assert not report.ok
    assert decode_bundle(data).meeting == world.letters[code].meeting_id
