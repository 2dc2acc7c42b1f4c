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

__all__ = [
    "DemoAccount",
    "DemoInfo",
    "demo_file",
    "note_body",
    "officer_approves",
    "seed_demo",
    "shifted",
    "staff_actor",
]

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


def shifted(ctx: ServiceContext, start: datetime) -> ServiceContext:
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
    past = shifted(ctx, start)
    passwords = {role: secrets.token_urlsafe(9) for role in StaffRole}

    def account(role: StaffRole, display_name: str, **scopes: list[int]) -> CreateStaffRequest:
        return CreateStaffRequest(
            username=role.value,
            password=passwords[role],
            role=role,
            display_name=display_name,
            **scopes,
        )

    operator = await staff_actor(
        past, account(StaffRole.OPERATOR, "平台管理员 Operator"), actor=None
    )
    city = await regions.create_region(
        past, CreateRegionRequest(level=RegionLevel.CITY, name="示范市 Demo City"), actor=operator
    )
    district = await regions.create_region(
        past,
        CreateRegionRequest(
            level=RegionLevel.DISTRICT, name="示范区 Demo District", parent_id=city.id
        ),
        actor=operator,
    )
    subdistrict = await regions.create_region(
        past,
        CreateRegionRequest(
            level=RegionLevel.SUBDISTRICT, name="示范街道 Demo Subdistrict", parent_id=district.id
        ),
        actor=operator,
    )
    estate = await regions.create_estate(
        past, CreateEstateRequest(subdistrict_id=subdistrict.id, name=DEMO_ESTATE), actor=operator
    )
    convener = await staff_actor(
        past,
        account(StaffRole.CONVENER, "业委会 Convener", estate_ids=[estate.id]),
        actor=operator,
    )
    officer = await staff_actor(
        past,
        account(StaffRole.OFFICER, "街道办 Officer", subdistrict_ids=[subdistrict.id]),
        actor=operator,
    )
    officer_key = SigningKey.generate()
    await accounts.enrol_officer_key(
        past, officer_key.public_key.hex(), OFFICER_KEY_NAME, actor=officer
    )

    await regions.import_roster(
        past, estate.id, "roster.csv", demo_file("roster.csv"), actor=convener
    )
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
        CreateMeetingRequest(
            estate_id=estate.id,
            title="华府小区2025年第一次业主大会会议",
            convener="华府小区第一届业主委员会",
            open_at=open_at,
            close_at=close_at,
            settings=MeetingSettings(),
            motions=motions,
        ),
        actor=convener,
    )
    code = draft.code
    issued = await credentials.issue_letters(past, code, actor=convener)
    await meetings.submit(past, code, actor=convener)
    signer = await officer_approves(
        past, code, officer=officer, key=officer_key, key_name=OFFICER_KEY_NAME
    )
    await meetings.publish_notice(past, code, actor=convener)
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


async def staff_actor(
    ctx: ServiceContext, request: CreateStaffRequest, *, actor: Actor | None
) -> Actor:
    """Create the staff account ``request`` and return it as the actor it acts as."""
    out = await accounts.create_staff(ctx, request, actor=actor)
    return Actor(
        staff_id=out.id,
        username=request.username,
        role=request.role,
        estate_ids=frozenset(request.estate_ids),
        subdistrict_ids=frozenset(request.subdistrict_ids),
    )


def note_body(note: str) -> str:
    """The checkpoint body (text) of a signed note."""
    return note.split("\n\n", 1)[0] + "\n"


async def officer_approves(
    ctx: ServiceContext, code: str, *, officer: Actor, key: SigningKey, key_name: str
) -> CosignatureSigner:
    """The officer's part of approving a submitted meeting, as their device would do it.

    The approval signature and the cosignature of the submitted checkpoint, then
    the cosignature of the checkpoint that includes the approval, which the notice
    needs before it can be published. Returns the officer's cosignature signer.
    """
    from votes.service.record import latest_checkpoint  # noqa: PLC0415

    request = await meetings.approval_request(ctx, code, actor=officer)
    signer = CosignatureSigner(key_name, key)
    timestamp = int(ctx.now().timestamp())
    await meetings.approve(
        ctx,
        code,
        ApproveRequest(
            public_key=key.public_key.hex(),
            signature=key.sign(Domain.APPROVAL, request.approval_body.encode()).hex(),
            cosignature=signer.cosign(note_body(request.checkpoint), timestamp),
        ),
        actor=officer,
    )
    latest = await latest_checkpoint(ctx, code)
    await meetings.cosign_checkpoint(
        ctx,
        code,
        public_key=key.public_key.hex(),
        size=latest.size,
        cosignature=signer.cosign(note_body(latest.note), timestamp),
        actor=officer,
    )
    return signer


def _motions() -> list[DomainMotion]:
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "motions.json"
        path.write_bytes(demo_file("motions.json"))
        return list(read_motions(path))


_ = (NoteSigner, sign_note)
