"""An OPEN meeting with many members and their credential keys, and signed ballots for it.

Shared by bench/bench_ballots.py and tests/web/test_two_processes.py. The
meeting is seeded through the service (votes.service) the way a convener and
an officer would run it, on a clock set back so the notice period in its log
is the legal one, then opened on the real clock — so separately started app
processes (on the system clock) take its ballots.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from crypto.credentials import derive_signing_key, parse_secret
from crypto.notes import CosignatureSigner
from crypto.signing import Domain, SigningKey
from votes.enums import RegionLevel, StaffRole
from votes.record.ballot import ballot_bytes, build_ballot, sign_ballot
from votes.service import accounts, credentials, meetings, regions
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.demo import note_body, officer_approves, shifted, staff_actor
from votes.service.scheduler import run_due
from votes.service.schemas import (
    CertifyRequest,
    CreateEstateRequest,
    CreateMeetingRequest,
    CreateRegionRequest,
    CreateStaffRequest,
    MeetingSettings,
    MotionIn,
)
from votes.service.voting import open_meeting

__all__ = [
    "SeededMeeting",
    "ballot_request",
    "close_and_certify",
    "roster_csv",
    "seed_open_meeting",
]

OFFICER_KEY_NAME = "officer.bench"


@dataclass(frozen=True, slots=True)
class SeededMeeting:
    code: str
    meeting_id: str
    roster_root: str
    keys: dict[str, SigningKey]  # member id -> credential signing key (derived from its letter)
    officer: Actor
    officer_key: SigningKey
    close_at: datetime


def roster_csv(members: int) -> bytes:
    """A roster of ``members`` sold residential units, one owner each, 200 per building."""
    lines = ["unit,building,area,owner,co_owners,kind,status,area_source"]
    for i in range(members):
        building = i // 200 + 1
        area = 6000 + (i * 37) % 9000  # 60.00 .. 149.99 m², in 0.01 m²
        lines.append(
            f"{building}-{i:06d},{building},{area // 100}.{area % 100:02d},O{i:06d},,"
            "residential,sold,registry"
        )
    return ("\n".join(lines) + "\n").encode()


async def seed_open_meeting(
    ctx: ServiceContext, *, members: int, policy: str = "one-vote-only"
) -> SeededMeeting:
    """A new estate of ``members`` members with an OPEN meeting (two yes/no motions)."""
    tag = secrets.token_hex(4)
    start = ctx.now().replace(microsecond=0) - timedelta(days=ctx.settings.notice_days + 1)
    past = shifted(ctx, start)
    password = secrets.token_urlsafe(12)

    async def staff(name: str, role: StaffRole, **scopes: list[int]) -> Actor:
        request = CreateStaffRequest(
            username=f"{name}-{tag}", password=password, role=role, display_name=name, **scopes
        )
        return await staff_actor(past, request, actor=None)

    operator = await staff("operator", StaffRole.OPERATOR)
    parent: int | None = None
    for level in (RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.SUBDISTRICT):
        region = await regions.create_region(
            past,
            CreateRegionRequest(level=level, name=f"{level.value} {tag}", parent_id=parent),
            actor=operator,
        )
        parent = region.id
    assert parent is not None
    estate = await regions.create_estate(
        past, CreateEstateRequest(subdistrict_id=parent, name=f"Bench estate {tag}"), actor=operator
    )
    convener = await staff("convener", StaffRole.CONVENER, estate_ids=[estate.id])
    officer = await staff("officer", StaffRole.OFFICER, subdistrict_ids=[parent])
    officer_key = SigningKey.generate()
    await accounts.enrol_officer_key(
        past, officer_key.public_key.hex(), OFFICER_KEY_NAME, actor=officer
    )
    await regions.import_roster(past, estate.id, "roster.csv", roster_csv(members), actor=convener)

    open_at = start + timedelta(days=ctx.settings.notice_days, hours=1)
    close_at = open_at + timedelta(days=max(ctx.settings.voting_min_days, 14))
    draft = await meetings.create_draft(
        past,
        CreateMeetingRequest(
            estate_id=estate.id,
            title=f"Bench meeting {tag}",
            convener="Bench owners' committee",
            open_at=open_at,
            close_at=close_at,
            settings=MeetingSettings(duplicate_policy=policy),  # type: ignore[arg-type]
            motions=[
                MotionIn(id="M1", title="Parking fees", item=8),
                MotionIn(id="M2", title="Repair fund use", item=6),
            ],
        ),
        actor=convener,
    )
    code = draft.code
    letters = await credentials.issue_letters(past, code, actor=convener)
    await meetings.submit(past, code, actor=convener)
    await officer_approves(past, code, officer=officer, key=officer_key, key_name=OFFICER_KEY_NAME)
    await meetings.publish_notice(past, code, actor=convener)
    await open_meeting(ctx, code)
    meeting = await meetings.get_meeting(ctx, code, actor=convener)
    assert meeting.roster_root is not None
    keys = {
        letter.member_id: derive_signing_key(letters.meeting_id, parse_secret(letter.code))
        for letter in letters.letters
    }
    return SeededMeeting(
        code=code,
        meeting_id=letters.meeting_id,
        roster_root=meeting.roster_root,
        keys=keys,
        officer=officer,
        officer_key=officer_key,
        close_at=close_at,
    )


async def close_and_certify(ctx: ServiceContext, seeded: SeededMeeting) -> None:
    """Run the meeting to its end on clocks moved forward: close, tally, certify."""
    closing = shifted(ctx, seeded.close_at + timedelta(seconds=1))
    await run_due(closing)  # closes and tallies
    after = shifted(closing, closing.now() + timedelta(days=ctx.settings.objection_days, seconds=1))
    request = await meetings.certification_request(after, seeded.code, actor=seeded.officer)
    signer = CosignatureSigner(OFFICER_KEY_NAME, seeded.officer_key)
    key = seeded.officer_key
    await meetings.certify(
        after,
        seeded.code,
        CertifyRequest(
            public_key=key.public_key.hex(),
            checkpoint_size=request.checkpoint_size,
            signature=key.sign(Domain.CERTIFICATION, request.certification_body.encode()).hex(),
            cosignature=signer.cosign(note_body(request.checkpoint), int(after.now().timestamp())),
        ),
        actor=seeded.officer,
    )


def ballot_request(
    seeded: SeededMeeting, member_id: str, choices: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A member's freshly signed ballot: (canonical bytes, signature hex)."""
    key = seeded.keys[member_id]
    ballot = build_ballot(
        meeting=seeded.meeting_id,
        member=key.public_key,
        choices=choices or {"M1": "agree", "M2": "oppose"},
        roster_root=seeded.roster_root,
    )
    return ballot_bytes(ballot), sign_ballot(ballot, key).hex()
