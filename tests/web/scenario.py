"""A meeting driven through its whole lifecycle over the HTTP API, step by step.

Each test runs the steps it needs (``await s.until("open")``) and then checks
one behaviour; the officer signs on "their own device" here with crypto/.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from crypto.notes import CosignatureSigner
from crypto.signing import Domain, SigningKey
from tests.web.conftest import PASSWORD, FakeClock, Snapshots, StaffFactory
from tests.web.support import signed_ballot
from votes.enums import StaffRole
from votes.service.schemas import LetterOut

REPO: Final = Path(__file__).resolve().parents[2]
ROSTER: Final = REPO / "examples" / "huafu" / "roster.csv"
STEPS: Final = (
    "estate",
    "roster",
    "draft",
    "letters",
    "submitted",
    "approved",
    "notice",
    "open",
    "voted",
    "closed",
    "tallied",
    "certified",
    "published",
    "archived",
)

MOTIONS: Final = [
    {"id": "M1", "title": "在小区内部道路划定停车位", "item": 8, "type": "yes-no"},
    {
        "id": "M2",
        "title": "选聘物业服务企业",
        "item": 4,
        "type": "choose-one",
        "candidates": ["安居物业", "恒信物业"],
    },
]


def note_body(note: str) -> str:
    return note.split("\n\n", 1)[0] + "\n"


@dataclass(frozen=True)
class _Saved:
    """The scenario's own state at a snapshot (the database is saved beside it)."""

    done: tuple[str, ...]
    now: datetime
    officer_seed: bytes
    estate_id: int
    subdistrict_id: int
    code: str
    letters: tuple[LetterOut, ...]
    meeting: dict[str, Any]
    user: str | None


class Scenario:
    def __init__(
        self,
        client: AsyncTestClient[Litestar],
        clock: FakeClock,
        make_staff: StaffFactory,
        *,
        snapshots: Snapshots | None = None,
        engine: AsyncEngine | None = None,
        database: Path | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.make_staff = make_staff
        self.snapshots = snapshots
        self.engine = engine
        self.database = database
        self.done: list[str] = []
        self.user: str | None = None
        self.officer_key = SigningKey.generate()
        self.signer = CosignatureSigner("officer.test", self.officer_key)
        self.estate_id = 0
        self.subdistrict_id = 0
        self.code = ""
        self.letters: list[LetterOut] = []
        self.meeting: dict[str, Any] = {}

    # -------------------------------------------------------------- plumbing

    async def as_user(self, username: str) -> None:
        if self.user == username:
            return
        response = await self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.client.headers["X-CSRFToken"] = response.headers["x-csrftoken"]
        self.user = username

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"/api/v1{path}", **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    @property
    def m(self) -> str:
        return f"/meetings/{self.code}"

    async def until(self, step: str) -> None:
        wanted = STEPS[: STEPS.index(step) + 1]
        if self._can_snapshot() and not self.done:
            saved = [name for name in wanted if f"scenario:{name}" in self.snapshots]  # type: ignore[operator]
            if saved:
                await self._restore(saved[-1])
        for name in wanted:
            if name not in self.done:
                await getattr(self, f"_{name}")()
                self.done.append(name)
                if self._can_snapshot() and f"scenario:{name}" not in self.snapshots:  # type: ignore[operator]
                    await self._save(name)

    def _can_snapshot(self) -> bool:
        return self.snapshots is not None and self.engine is not None and self.database is not None

    async def _save(self, name: str) -> None:
        assert self.snapshots is not None
        assert self.engine is not None
        assert self.database is not None
        state = _Saved(
            done=tuple(self.done),
            now=self.clock.now,
            officer_seed=self.officer_key.seed,
            estate_id=self.estate_id,
            subdistrict_id=self.subdistrict_id,
            code=self.code,
            letters=tuple(self.letters),
            meeting=dict(self.meeting),
            user=self.user,
        )
        await self.snapshots.save(f"scenario:{name}", self.engine, self.database, state)

    async def _restore(self, name: str) -> None:
        assert self.snapshots is not None
        assert self.engine is not None
        assert self.database is not None
        state: _Saved = await self.snapshots.restore(f"scenario:{name}", self.engine, self.database)
        self.done = list(state.done)
        self.clock.now = state.now
        self.officer_key = SigningKey.from_seed(state.officer_seed)
        self.signer = CosignatureSigner("officer.test", self.officer_key)
        self.estate_id, self.subdistrict_id = state.estate_id, state.subdistrict_id
        self.code = state.code
        self.letters = list(state.letters)
        self.meeting = dict(state.meeting)
        self.user = None
        self.client.cookies.clear()
        if state.user is not None:
            await self.as_user(state.user)  # continue as whoever did the last step

    # ----------------------------------------------------------------- steps

    async def _estate(self) -> None:
        await self.make_staff("op", StaffRole.OPERATOR)
        await self.as_user("op")
        city = await self.call(
            "POST", "/regions", json={"level": "city", "name": "示范市"}, expect=201
        )
        district = await self.call(
            "POST",
            "/regions",
            json={"level": "district", "name": "示范区", "parent_id": city["id"]},
            expect=201,
        )
        sub = await self.call(
            "POST",
            "/regions",
            json={"level": "subdistrict", "name": "示范街道", "parent_id": district["id"]},
            expect=201,
        )
        other = await self.call(
            "POST",
            "/regions",
            json={"level": "subdistrict", "name": "别的街道", "parent_id": district["id"]},
            expect=201,
        )
        estate = await self.call(
            "POST", "/estates", json={"subdistrict_id": sub["id"], "name": "华府小区"}, expect=201
        )
        self.estate_id, self.subdistrict_id = estate["id"], sub["id"]
        for body in (
            {"username": "conv", "role": "convener", "estate_ids": [estate["id"]]},
            {"username": "officer", "role": "officer", "subdistrict_ids": [sub["id"]]},
            {"username": "stranger", "role": "officer", "subdistrict_ids": [other["id"]]},
        ):
            await self.call(
                "POST",
                "/staff",
                json={**body, "password": PASSWORD, "display_name": body["username"]},
                expect=201,
            )

    async def _roster(self) -> None:
        await self.as_user("conv")
        result = await self.call(
            "POST",
            f"/estates/{self.estate_id}/roster",
            files={"file": ("roster.csv", ROSTER.read_bytes(), "text/csv")},
            expect=201,
        )
        assert result["units"] == 100

    async def _draft(self) -> None:
        await self.as_user("conv")
        open_at = self.clock.now + timedelta(days=16)
        created = await self.call(
            "POST",
            "/meetings",
            json={
                "estate_id": self.estate_id,
                "title": "华府小区业主大会会议",
                "convener": "华府小区业主委员会",
                "open_at": open_at.isoformat(),
                "close_at": (open_at + timedelta(days=7)).isoformat(),
                "motions": MOTIONS,
            },
            expect=201,
        )
        self.code = created["code"]

    async def _letters(self) -> None:
        await self.as_user("conv")
        issued = await self.call("POST", f"{self.m}/letters", expect=201)
        self.letters = [LetterOut(**letter) for letter in issued["letters"]]

    async def _submitted(self) -> None:
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/submit")

    def cosign(self, note: str) -> str:
        """The officer's cosignature of the checkpoint ``note``, timed now."""
        return self.signer.cosign(note_body(note), int(self.clock.now.timestamp()))

    async def approval_body(self) -> dict[str, Any]:
        await self.as_user("officer")
        keys = await self.call("GET", "/officer-keys")
        if not keys:
            await self.call(
                "POST",
                "/officer-keys",
                json={"public_key": self.officer_key.public_key.hex(), "name": "officer.test"},
                expect=201,
            )
        request: dict[str, Any] = await self.call("GET", f"{self.m}/approval")
        return {
            "public_key": self.officer_key.public_key.hex(),
            "signature": self.officer_key.sign(
                Domain.APPROVAL, request["approval_body"].encode()
            ).hex(),
            "cosignature": self.cosign(request["checkpoint"]),
        }

    async def _approved(self) -> None:
        body = await self.approval_body()
        await self.call("POST", f"{self.m}/approve", json=body)
        checkpoint = await self.call("GET", f"{self.m}/checkpoint")
        await self.call(
            "POST",
            f"{self.m}/cosignatures",
            json={
                "public_key": self.officer_key.public_key.hex(),
                "size": checkpoint["size"],
                "cosignature": self.cosign(checkpoint["note"]),
            },
            expect=201,
        )

    async def _notice(self) -> None:
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/notice")

    async def _open(self) -> None:
        self.clock.advance(days=16, minutes=1)
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/open")
        self.meeting = await self.call("GET", self.m)

    async def _voted(self) -> None:
        for letter in self.letters[:3]:
            await self.call(
                "POST", f"{self.m}/ballots", json=signed_ballot(self.meeting, letter), expect=201
            )

    async def _closed(self) -> None:
        self.clock.advance(days=7, minutes=1)
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/close")

    async def _tallied(self) -> None:
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/tally")

    async def certification_body(self) -> dict[str, Any]:
        await self.as_user("officer")
        request = await self.call("GET", f"{self.m}/certification")
        return {
            "public_key": self.officer_key.public_key.hex(),
            "checkpoint_size": request["checkpoint_size"],
            "signature": self.officer_key.sign(
                Domain.CERTIFICATION, request["certification_body"].encode()
            ).hex(),
            "cosignature": self.cosign(request["checkpoint"]),
        }

    async def _certified(self) -> None:
        self.clock.advance(days=8)
        body = await self.certification_body()
        await self.call("POST", f"{self.m}/certify", json=body)

    async def _published(self) -> None:
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/publish")

    async def _archived(self) -> None:
        await self.as_user("conv")
        await self.call("POST", f"{self.m}/archive")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
