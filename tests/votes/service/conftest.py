"""Fixtures for the service tests: a migrated database on SQLite and on PostgreSQL, a
service context on a fake clock, and a small world of regions, estates and staff.

Migrations run once per test session and backend (a template SQLite file copied
per test; one PostgreSQL schema truncated between tests), so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from crypto.credentials import derive_signing_key, parse_secret
from crypto.notes import CosignatureSigner
from crypto.signing import Domain, SigningKey
from tests.databases import (
    DATABASES,
    FAST_ARGON2,
    Backend,
    copy_template,
    create_schema,
    drop_schema,
    empty_tables,
    migrate,
    postgres_url,
    schema_backend,
    service_unavailable,
    sqlite_template,
)
from votes.enums import RegionLevel, StaffRole
from votes.model import MotionType
from votes.record.ballot import ballot_bytes, build_ballot, sign_ballot
from votes.service import accounts, credentials, meetings, regions
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.record import latest_checkpoint
from votes.service.schemas import (
    ApproveRequest,
    CertifyRequest,
    CreateEstateRequest,
    CreateMeetingRequest,
    CreateRegionRequest,
    CreateStaffRequest,
    CredentialRequestOut,
    LetterOut,
    LettersOut,
    MeetingSettings,
    MotionIn,
    PendingReplacementOut,
    ReplaceCredentialRequest,
    SignCredentialChangeRequest,
)
from votes.settings import Settings
from votes.storage import create_session_factory
from votes.storage.models import Base

START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)

# A small estate (hand-checkable): building 1 and 2, a co-owned unit, one
# owner of two units (one member), a parking space, two unsold units (developer).
ROSTER_CSV = b"""unit,building,area,owner,co_owners,kind,status,area_source
1-101,1,100.00,A,,residential,sold,registry
1-102,1,80.50,B,C,residential,sold,registry
1-103,1,90.00,D,,residential,sold,registry
1-104,1,90.00,D,,residential,sold,registry
2-101,2,120.00,E,,residential,sold,registry
2-102,2,60.00,F,,residential,sold,registry
2-103,2,75.25,DEV,,residential,unsold,registry
2-104,2,75.25,DEV,,residential,unsold,registry
P-01,1,12.00,G,,parking,sold,registry
"""


class FakeClock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


def fast_settings(**kw: Any) -> Settings:
    return Settings(**FAST_ARGON2, **kw)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sqlite_template(fast_settings(data_dir=tmp_path_factory.mktemp("service-template")))


@pytest.fixture(scope="session")
def _pg_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend | str]:
    """One migrated schema per test session (and xdist worker); a str when unreachable."""
    folder = tmp_path_factory.mktemp("service-pg")
    settings = fast_settings(
        database_url=postgres_url(),
        data_dir=folder,
        secret_key="service-test-secret-" + "x" * 32,
        log_key_file=folder / "log-key",
    )
    schema = f"svc_test_{uuid.uuid4().hex[:12]}"
    # Test data need not survive a crash: commits without waiting for the disk.
    backend = schema_backend(settings, schema, synchronous_commit="off")
    problem = asyncio.run(create_schema(settings, schema))
    if problem is not None:
        yield problem
        return
    migrate(backend.settings, backend.connect_args)
    yield backend
    asyncio.run(drop_schema(settings, schema))


def _fast_tmp(tmp_path: Path) -> Path:
    """A folder in memory (/dev/shm) when there is one: SQLite's fsyncs are then free."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="votes-svc-", dir=shm))
    return tmp_path


@pytest.fixture(params=DATABASES)
async def backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _pg_schema: Backend | str,
) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        base = _fast_tmp(tmp_path)
        settings = fast_settings(data_dir=base / "data")
        copy_template(_sqlite_template, settings)
        try:
            yield Backend(name="sqlite", settings=settings)
        finally:
            if base != tmp_path:
                shutil.rmtree(base, ignore_errors=True)
        return
    pg = _pg_schema
    if isinstance(pg, str):
        service_unavailable("PostgreSQL", postgres_url(), pg)
    await empty_tables(pg)
    yield pg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_context(
    backend: Backend, clock: FakeClock, *, log_seed: bytes = b"\x07" * 32
) -> ServiceContext:
    engine = backend.engine()
    return ServiceContext(
        settings=backend.settings,
        sessions=create_session_factory(engine),
        read_sessions=create_session_factory(engine, read_only=True),
        log_key=SigningKey.from_seed(log_seed),
        clock=clock,
        engine=engine,
    )


@pytest.fixture
async def ctx(backend: Backend, clock: FakeClock) -> AsyncIterator[ServiceContext]:
    context = make_context(backend, clock)
    try:
        yield context
    finally:
        await context.close()


# ---------------------------------------------------------------------- the world


@dataclass
class Officer:
    actor: Actor
    key: SigningKey
    name: str

    @property
    def signer(self) -> CosignatureSigner:
        return CosignatureSigner(self.name, self.key)

    @property
    def public_hex(self) -> str:
        return self.key.public_key.hex()


def checkpoint_body(note: str) -> str:
    return note.split("\n\n", 1)[0] + "\n"


@dataclass
class World:
    """Two subdistricts with one estate each, and staff scoped to them."""

    ctx: ServiceContext
    clock: FakeClock
    operator: Actor
    estate_a: int
    estate_b: int
    subdistrict_a: int
    subdistrict_b: int
    convener_a: Actor
    convener_b: Actor
    officer_a: Officer
    officer_b: Officer
    letters: dict[str, LettersOut] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)

    # -- meeting helpers -------------------------------------------------------

    def motions(self) -> list[MotionIn]:
        return [
            MotionIn(id="M1", title="划定停车位", item=8),
            MotionIn(
                id="M2",
                title="选聘物业",
                item=4,
                type=MotionType.CHOOSE_ONE,
                candidates=["甲物业", "乙物业"],
            ),
            MotionIn(id="M3", title="2号楼电梯维修", item=5, scope=["2"]),
        ]

    async def draft(self, *, settings: MeetingSettings | None = None, **kw: Any) -> str:
        now = self.clock.now
        request = CreateMeetingRequest(
            estate_id=kw.pop("estate_id", self.estate_a),
            title="业主大会会议",
            convener="第一届业主委员会",
            open_at=kw.pop("open_at", now + timedelta(days=16)),
            close_at=kw.pop("close_at", now + timedelta(days=26)),
            settings=settings or MeetingSettings(),
            motions=kw.pop("motions", self.motions()),
            **kw,
        )
        out = await meetings.create_draft(self.ctx, request, actor=self.convener_a)
        return out.code

    async def submitted(self, **kw: Any) -> str:
        code = await self.draft(**kw)
        self.letters[code] = await credentials.issue_letters(self.ctx, code, actor=self.convener_a)
        await meetings.submit(self.ctx, code, actor=self.convener_a)
        meeting = await meetings.get_meeting(self.ctx, code, actor=self.convener_a)
        assert meeting.roster_root is not None
        self.roots[code] = meeting.roster_root
        return code

    async def approve(self, code: str, officer: Officer | None = None) -> None:
        if officer is None:
            meeting = await meetings.get_meeting(self.ctx, code, actor=self.operator)
            officer = self.officer_a if meeting.estate_id == self.estate_a else self.officer_b
        request = await meetings.approval_request(self.ctx, code, actor=officer.actor)
        await meetings.approve(
            self.ctx,
            code,
            approve_request(officer, request.approval_body, request.checkpoint, self.clock.now),
            actor=officer.actor,
        )

        latest = await latest_checkpoint(self.ctx, code)
        await meetings.cosign_checkpoint(
            self.ctx,
            code,
            public_key=officer.public_hex,
            size=latest.size,
            cosignature=officer.signer.cosign(checkpoint_body(latest.note), _ts(self.clock.now)),
            actor=officer.actor,
        )

    async def approved(self, **kw: Any) -> str:
        code = await self.submitted(**kw)
        await self.approve(code)
        return code

    async def noticed(self, **kw: Any) -> str:
        code = await self.approved(**kw)
        await meetings.publish_notice(self.ctx, code, actor=self.convener_a)
        return code

    async def opened(self, **kw: Any) -> str:
        code = await self.noticed(**kw)
        meeting = await meetings.get_meeting(self.ctx, code, actor=self.convener_a)
        assert meeting.open_at is not None
        self.clock.set(meeting.open_at)
        await meetings.open_meeting(self.ctx, code)
        return code

    async def to_close(self, code: str) -> None:
        meeting = await meetings.get_meeting(self.ctx, code, actor=self.convener_a)
        assert meeting.close_at is not None
        self.clock.set(meeting.close_at)

    def letter(self, code: str, member_id: str) -> tuple[str, SigningKey]:
        """(meeting id, the member's credential signing key) from the issued letters."""

        letters = self.letters[code]
        for letter in letters.letters:
            if letter.member_id == member_id:
                return letters.meeting_id, derive_signing_key(
                    letters.meeting_id, parse_secret(letter.code)
                )
        raise KeyError(member_id)

    async def request_replacement(self, code: str, member_id: str) -> PendingReplacementOut:
        """The convener's request for a new letter (pending until the officer signs)."""
        return await credentials.request_replacement(
            self.ctx,
            code,
            ReplaceCredentialRequest(
                member_id=member_id,
                reason="遗失 lost",
                request_sha256=hashlib.sha256(f"request for {member_id}".encode()).hexdigest(),
            ),
            actor=self.convener_a,
        )

    async def sign_change(
        self, code: str, request: CredentialRequestOut, officer: Officer | None = None
    ) -> CredentialRequestOut:
        """The officer signs a pending credential change on their device; it is logged."""
        officer = officer or self.officer_a
        return await credentials.approve_change(
            self.ctx,
            code,
            request.id,
            SignCredentialChangeRequest(
                public_key=officer.public_hex,
                signature=officer.key.sign(Domain.CREDENTIAL_CHANGE, request.body.encode()).hex(),
            ),
            actor=officer.actor,
        )

    async def replace_credential(self, code: str, member_id: str) -> LetterOut:
        """A lost letter replaced: requested by the convener, signed by the officer."""
        pending = await self.request_replacement(code, member_id)
        await self.sign_change(code, pending.request)
        return pending.letter

    async def revoke_credential(self, code: str, member_id: str) -> CredentialRequestOut:
        """A credential revoked without replacement: requested, then signed by the officer."""
        request = await credentials.request_revocation(
            self.ctx,
            code,
            ReplaceCredentialRequest(
                member_id=member_id,
                reason="撤销 revoked",
                request_sha256=hashlib.sha256(f"revoke {member_id}".encode()).hexdigest(),
            ),
            actor=self.convener_a,
        )
        return await self.sign_change(code, request)

    async def certify(self, code: str, officer: Officer | None = None) -> None:
        officer = officer or self.officer_a
        request = await meetings.certification_request(self.ctx, code, actor=officer.actor)
        await meetings.certify(
            self.ctx,
            code,
            CertifyRequest(
                public_key=officer.public_hex,
                checkpoint_size=request.checkpoint_size,
                signature=officer.key.sign(
                    Domain.CERTIFICATION, request.certification_body.encode()
                ).hex(),
                cosignature=officer.signer.cosign(
                    checkpoint_body(request.checkpoint), _ts(self.clock.now)
                ),
            ),
            actor=officer.actor,
        )


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def approve_request(
    officer: Officer, approval_body: str, checkpoint: str, now: datetime
) -> ApproveRequest:
    return ApproveRequest(
        public_key=officer.public_hex,
        signature=officer.key.sign(Domain.APPROVAL, approval_body.encode()).hex(),
        cosignature=officer.signer.cosign(checkpoint_body(checkpoint), _ts(now)),
    )


async def _staff(
    ctx: ServiceContext, operator: Actor | None, username: str, role: StaffRole, **scopes: list[int]
) -> Actor:
    out = await accounts.create_staff(
        ctx,
        CreateStaffRequest(
            username=username,
            password=f"pw-{username}-123",
            role=role,
            display_name=username,
            **scopes,
        ),
        actor=operator,
    )
    return await accounts.load_actor(ctx, out.id)


async def build_world(ctx: ServiceContext, clock: FakeClock) -> World:
    operator = await _staff(ctx, None, "operator", StaffRole.OPERATOR)
    city = await regions.create_region(
        ctx, CreateRegionRequest(level=RegionLevel.CITY, name="市"), actor=operator
    )
    district = await regions.create_region(
        ctx,
        CreateRegionRequest(level=RegionLevel.DISTRICT, name="区", parent_id=city.id),
        actor=operator,
    )
    sub_a = await regions.create_region(
        ctx,
        CreateRegionRequest(level=RegionLevel.SUBDISTRICT, name="甲街道", parent_id=district.id),
        actor=operator,
    )
    sub_b = await regions.create_region(
        ctx,
        CreateRegionRequest(level=RegionLevel.SUBDISTRICT, name="乙街道", parent_id=district.id),
        actor=operator,
    )
    estate_a = await regions.create_estate(
        ctx, CreateEstateRequest(subdistrict_id=sub_a.id, name="甲小区"), actor=operator
    )
    estate_b = await regions.create_estate(
        ctx, CreateEstateRequest(subdistrict_id=sub_b.id, name="乙小区"), actor=operator
    )
    convener_a = await _staff(
        ctx, operator, "convener-a", StaffRole.CONVENER, estate_ids=[estate_a.id]
    )
    convener_b = await _staff(
        ctx, operator, "convener-b", StaffRole.CONVENER, estate_ids=[estate_b.id]
    )
    officer_a = await _staff(
        ctx, operator, "officer-a", StaffRole.OFFICER, subdistrict_ids=[sub_a.id]
    )
    officer_b = await _staff(
        ctx, operator, "officer-b", StaffRole.OFFICER, subdistrict_ids=[sub_b.id]
    )
    key_a, key_b = SigningKey.from_seed(b"\x0a" * 32), SigningKey.from_seed(b"\x0b" * 32)
    await accounts.enrol_officer_key(ctx, key_a.public_key.hex(), "officer.a", actor=officer_a)
    await accounts.enrol_officer_key(ctx, key_b.public_key.hex(), "officer.b", actor=officer_b)
    await regions.import_roster(ctx, estate_a.id, "roster.csv", ROSTER_CSV, actor=convener_a)
    await regions.import_roster(ctx, estate_b.id, "roster.csv", ROSTER_CSV, actor=convener_b)
    return World(
        ctx=ctx,
        clock=clock,
        operator=operator,
        estate_a=estate_a.id,
        estate_b=estate_b.id,
        subdistrict_a=sub_a.id,
        subdistrict_b=sub_b.id,
        convener_a=convener_a,
        convener_b=convener_b,
        officer_a=Officer(officer_a, key_a, "officer.a"),
        officer_b=Officer(officer_b, key_b, "officer.b"),
    )


@dataclass(frozen=True)
class _Snapshot:
    """The rows of a freshly built world, and the world's ids, built once per session."""

    rows: dict[str, list[dict[str, Any]]]
    world: World


@pytest.fixture(scope="session")
def _world_snapshot(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> _Snapshot:
    backend = Backend(
        name="sqlite", settings=fast_settings(data_dir=tmp_path_factory.mktemp("service-world"))
    )
    copy_template(_sqlite_template, backend.settings)

    async def build() -> _Snapshot:
        clock = FakeClock()
        context = make_context(backend, clock)
        try:
            world = await build_world(context, clock)
            rows: dict[str, list[dict[str, Any]]] = {}
            async with context.sessions() as session:
                for table in Base.metadata.sorted_tables:
                    result = await session.execute(table.select())
                    rows[table.name] = [dict(row._mapping) for row in result]
            return _Snapshot(rows=rows, world=world)
        finally:
            await context.close()

    return asyncio.run(build())


async def _restore(ctx: ServiceContext, snapshot: _Snapshot) -> None:
    async with ctx.sessions.begin() as session:
        for table in Base.metadata.sorted_tables:
            rows = snapshot.rows[table.name]
            if rows:
                await session.execute(table.insert(), rows)
        if session.get_bind().dialect.name == "postgresql":
            # Explicit ids were inserted: move the id sequences past them.
            for name in ("regions", "estates"):
                await session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )


@pytest.fixture
async def world(ctx: ServiceContext, clock: FakeClock, _world_snapshot: _Snapshot) -> World:
    """The world of :func:`build_world`, restored from rows (much faster than rebuilding)."""
    await _restore(ctx, _world_snapshot)
    return dataclasses.replace(_world_snapshot.world, ctx=ctx, clock=clock, letters={}, roots={})


def signed_ballot(
    world: World,
    code: str,
    member_id: str,
    choices: dict[str, Any],
    *,
    roster_root: str | None = None,
    meeting: str | None = None,
    key: SigningKey | None = None,
) -> tuple[bytes, str]:
    """The canonical bytes and signature hex of a member's ballot, as a phone makes them."""

    meeting_id, member_key = world.letter(code, member_id)
    key = key or member_key
    root = roster_root
    if root is None:
        root = world.roots[code]
    ballot = build_ballot(
        meeting=meeting or meeting_id, member=key.public_key, choices=choices, roster_root=root
    )
    return ballot_bytes(ballot), sign_ballot(ballot, key).hex()
