"""A demo estate and meeting for the embedded default (``votes serve`` on an empty database).

The meeting is already OPEN with letters issued: the earlier steps run on a
clock set back in time, so the notice period in its log is the legal one.
The demo officer's private key is generated here and printed — in a real
installation an officer's key never exists on the server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select

from crypto.notes import CosignatureSigner, NoteSigner, sign_note
from crypto.signing import Domain, SigningKey
from votes.enums import RegionLevel, StaffRole
from votes.inputs.motions_file import read_motions
from votes.model import Motion as DomainMotion
from votes.service import accounts, credentials, meetings, regions
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.schemas import (
    ApproveRequest,
    CreateEstateRequest,
    CreateMeetingRequest,
    CreateRegionRequest,
    CreateStaffRequest,
    LetterOut,
    MeetingSettings,
    MotionIn,
)
from votes.storage.models import StaffAccount

__all__ = ["DemoAccount", "DemoInfo", "demo_file", "seed_demo"]

DEMO_ESTATE = "华府小区 Huafu Estate"
OFFICER_KEY_NAME = "officer.demo-jiedao"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    role: StaffRole


@dataclass(frozen=True, slots=True)
class DemoInfo:
    base_url: str
    meeting_code: str
    ballot_url: str  # the ballot page (a credential code goes in the #k= fragment)
    accounts: tuple[DemoAccount, ...]
    letters: tuple[LetterOut, ...]  # a few demo credentials (member, code, url)
    officer_private_key: str  # C2SP signer key string of the demo officer (demo only!)
    opened_at: datetime
    close_at: datetime
    notes: tuple[str, ...] = field(default=())


def demo_file(name: str) -> bytes:
    """A file of the demo data shipped inside the package (votes/service/demo_data/)."""
    return resources.files("votes.service").joinpath("demo_data", name).read_bytes()


async def _is_empty(ctx: ServiceContext) -> bool:
    async with ctx.readers() as session:
        return not await session.scalar(select(func.count()).select_from(StaffAccount))


def _shifted(ctx: ServiceContext, start: datetime) -> ServiceContext:
    """The context on a clock that runs from ``start`` (in the past) at real speed."""
    offset = ctx.now() - start

    def clock() -> datetime:
        return ctx.now() - offset

    return replace(ctx, clock=clock)


async def seed_demo(ctx: ServiceContext, *, letters_shown: int = 5) -> DemoInfo | None:
    """Create the demo when the database has no staff account yet; None otherwise."""
    if not await _is_empty(ctx):
        return None
    now = ctx.now().replace(microsecond=0)
    start = now - timedelta(days=ctx.settings.notice_days + 1)
    past = _shifted(ctx, start)
    passwords = {role: secrets.token_urlsafe(9) for role in StaffRole}

    operator_out = await accounts.create_staff(
        past,
        None,
        CreateStaffRequest(
            username="operator",
            password=passwords[StaffRole.OPERATOR],
            role=StaffRole.OPERATOR,
            display_name="平台管理员 Operator",
        ),
    )
    operator = Actor(staff_id=operator_out.id, username="operator", role=StaffRole.OPERATOR)
    city = await regions.create_region(
        past, operator, CreateRegionRequest(level=RegionLevel.CITY, name="示范市 Demo City")
    )
    district = await regions.create_region(
        past,
        operator,
        CreateRegionRequest(
            level=RegionLevel.DISTRICT, name="示范区 Demo District", parent_id=city.id
        ),
    )
    subdistrict = await regions.create_region(
        past,
        operator,
        CreateRegionRequest(
            level=RegionLevel.SUBDISTRICT, name="示范街道 Demo Subdistrict", parent_id=district.id
        ),
    )
    estate = await regions.create_estate(
        past, operator, CreateEstateRequest(subdistrict_id=subdistrict.id, name=DEMO_ESTATE)
    )
    convener_out = await accounts.create_staff(
        past,
        operator,
        CreateStaffRequest(
            username="convener",
            password=passwords[StaffRole.CONVENER],
            role=StaffRole.CONVENER,
            display_name="业委会 Convener",
            estate_ids=[estate.id],
        ),
    )
    officer_out = await accounts.create_staff(
        past,
        operator,
        CreateStaffRequest(
            username="officer",
            password=passwords[StaffRole.OFFICER],
            role=StaffRole.OFFICER,
            display_name="街道办 Officer",
            subdistrict_ids=[subdistrict.id],
        ),
    )
    convener = Actor(
        staff_id=convener_out.id,
        username="convener",
        role=StaffRole.CONVENER,
        estate_ids=frozenset({estate.id}),
    )
    officer = Actor(
        staff_id=officer_out.id,
        username="officer",
        role=StaffRole.OFFICER,
        subdistrict_ids=frozenset({subdistrict.id}),
    )
    officer_key = SigningKey.generate()
    await accounts.enrol_officer_key(past, officer, officer_key.public_key.hex(), OFFICER_KEY_NAME)

    await regions.import_roster(past, convener, estate.id, "roster.csv", demo_file("roster.csv"))
    motions = [
        MotionIn(
            id=m.id,
            title=m.title,
            item=m.item,
            type=m.type,
            seats=m.seats,
            candidates=list(m.candidates),
            scope=None if m.scope is None else sorted(m.scope),
        )
        for m in _motions()
    ]
    open_at = start + timedelta(days=ctx.settings.notice_days, hours=1)
    close_at = open_at + timedelta(days=max(ctx.settings.voting_min_days, 14))
    if close_at - open_at > timedelta(days=ctx.settings.voting_max_days):
        close_at = open_at + timedelta(days=ctx.settings.voting_max_days)
    draft = await meetings.create_draft(
        past,
        convener,
        CreateMeetingRequest(
            estate_id=estate.id,
            title="华府小区2025年第一次业主大会会议",
            convener="华府小区第一届业主委员会",
            open_at=open_at,
            close_at=close_at,
            settings=MeetingSettings(),
            motions=motions,
        ),
    )
    code = draft.code
    issued = await credentials.issue_letters(past, convener, code)
    await meetings.submit(past, convener, code)
    request = await meetings.approval_request(past, officer, code)
    signer = CosignatureSigner(OFFICER_KEY_NAME, officer_key)
    timestamp = int(past.now().timestamp())
    await meetings.approve(
        past,
        officer,
        code,
        ApproveRequest(
            public_key=officer_key.public_key.hex(),
            signature=officer_key.sign(Domain.APPROVAL, request.approval_body.encode()).hex(),
            cosignature=signer.cosign(_body(request.checkpoint), timestamp),
        ),
    )
    latest = await _checkpoint(past, code)
    await meetings.cosign_checkpoint(
        past,
        officer,
        code,
        public_key=officer_key.public_key.hex(),
        size=latest[0],
        cosignature=signer.cosign(latest[1], timestamp),
    )
    await meetings.publish_notice(past, convener, code)
    opened = await meetings.open_meeting(ctx, code)
    base = str(ctx.settings.base_url)
    return DemoInfo(
        base_url=base,
        meeting_code=code,
        ballot_url=f"{base}/b/{code}",
        accounts=tuple(
            DemoAccount(username=name, password=passwords[role], role=role)
            for name, role in (
                ("operator", StaffRole.OPERATOR),
                ("convener", StaffRole.CONVENER),
                ("officer", StaffRole.OFFICER),
            )
        ),
        letters=tuple(issued.letters[:letters_shown]),
        officer_private_key=signer.key_string(),
        opened_at=now,
        close_at=close_at,
        notes=(f"meeting state after seeding: {opened.state.value}",),
    )


def _body(note: str) -> str:
    """The checkpoint body (text) of a signed note."""
    return note.split("\n\n", 1)[0] + "\n"


async def _checkpoint(ctx: ServiceContext, code: str) -> tuple[int, str]:
    from votes.service.record import latest_checkpoint  # noqa: PLC0415

    checkpoint = await latest_checkpoint(ctx, code)
    return checkpoint.size, _body(checkpoint.note)


def _motions() -> list[DomainMotion]:
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "motions.json"
        path.write_bytes(demo_file("motions.json"))
        return list(read_motions(path))


_ = (NoteSigner, sign_note)
