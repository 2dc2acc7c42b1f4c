"""The demo seed: an open meeting on the Huafu roster whose letters work, once only."""

from __future__ import annotations

import base64
from pathlib import Path

from crypto.credentials import derive_signing_key, parse_secret
from crypto.notes import CosignatureSigner
from crypto.signing import Domain, SigningKey
from tests.votes.service.conftest import FakeClock, checkpoint_body
from votes.inputs.roster import import_roster_table
from votes.inputs.tabular import parse_csv
from votes.record.ballot import ballot_bytes, build_ballot, sign_ballot
from votes.record.verify import verify_bundle
from votes.service import accounts, ballots, demo, meetings, record, scheduler
from votes.service.context import ServiceContext
from votes.service.schemas import CertifyRequest


async def test_seed_creates_an_open_meeting_whose_letters_vote(
    ctx: ServiceContext, clock: FakeClock
) -> None:
    info = await demo.seed_demo(ctx)
    assert info is not None
    meeting = await meetings.get_meeting(ctx, info.meeting_code)
    assert meeting.state == "open"
    expected = import_roster_table(parse_csv(demo.demo_file("roster.csv").decode()))
    assert meeting.roster_members == len(expected.roster.members)
    assert {a.username for a in info.accounts} == {"operator", "convener", "officer"}
    letter = info.letters[0]
    assert letter.url.startswith(f"{info.ballot_url}#k=")
    key = derive_signing_key(str(meeting.id), parse_secret(letter.code))
    assert meeting.roster_root is not None
    ballot = build_ballot(
        meeting=str(meeting.id),
        member=key.public_key,
        choices={"M1": "agree"},
        roster_root=meeting.roster_root,
    )
    receipt = await ballots.cast_ballot(
        ctx, info.meeting_code, ballot_bytes(ballot), sign_ballot(ballot, key).hex()
    )
    assert receipt.body.meeting == str(meeting.id)


async def test_seed_does_nothing_on_a_database_with_data(ctx: ServiceContext) -> None:
    assert await demo.seed_demo(ctx) is not None
    assert await demo.seed_demo(ctx) is None


def test_demo_roster_is_the_example_roster(repo_root: object) -> None:

    assert isinstance(repo_root, Path)
    assert (
        demo.demo_file("roster.csv")
        == (repo_root / "examples" / "huafu" / "roster.csv").read_bytes()
    )


async def test_demo_meeting_runs_to_a_verified_certified_result(
    ctx: ServiceContext, clock: FakeClock
) -> None:
    """The Huafu demo to the end: ballots, scheduler, officer certification, verified bundle."""
    info = await demo.seed_demo(ctx)
    assert info is not None
    meeting = await meetings.get_meeting(ctx, info.meeting_code)
    assert meeting.roster_root is not None
    receipts = []
    for letter in info.letters:
        key = derive_signing_key(str(meeting.id), parse_secret(letter.code))
        ballot = build_ballot(
            meeting=str(meeting.id),
            member=key.public_key,
            choices={"M1": "agree", "M2": "恒信物业", "M3": ["张*明", "李*华"], "M5": "oppose"},
            roster_root=meeting.roster_root,
        )
        receipts.append(
            await ballots.cast_ballot(
                ctx, info.meeting_code, ballot_bytes(ballot), sign_ballot(ballot, key).hex()
            )
        )
    clock.set(info.close_at)
    assert await scheduler.run_due(ctx) == [
        f"close:{info.meeting_code}",
        f"tally:{info.meeting_code}",
    ]
    clock.advance(days=ctx.settings.objection_days)
    signer = CosignatureSigner.from_key_string(info.officer_private_key)
    officer = await accounts.authenticate(ctx, "officer", _password(info, "officer"))
    request = await meetings.certification_request(ctx, info.meeting_code, actor=officer)
    await meetings.certify(
        ctx,
        info.meeting_code,
        CertifyRequest(
            public_key=signer.verifier().public_key.hex(),
            checkpoint_size=request.checkpoint_size,
            signature=signer_key(info)
            .sign(Domain.CERTIFICATION, request.certification_body.encode())
            .hex(),
            cosignature=signer.cosign(checkpoint_body(request.checkpoint), 1),
        ),
        actor=officer,
    )
    report = verify_bundle(await record.bundle(ctx, info.meeting_code), receipts=receipts)
    assert report.ok, [(c.spec.name, c.findings) for c in report.checks if not c.passed]


def _password(info: demo.DemoInfo, username: str) -> str:
    return next(a.password for a in info.accounts if a.username == username)


def signer_key(info: demo.DemoInfo) -> SigningKey:
    """The demo officer's Ed25519 key from its printed C2SP private key string."""
    seed = base64.b64decode(info.officer_private_key.split("+", 4)[4])[1:]
    return SigningKey.from_seed(seed)
