"""Two real server processes take concurrent ballots for ONE meeting (issue 4).

Each backend (PostgreSQL in a schema of its own; the embedded SQLite file)
gets an OPEN meeting seeded through the service, then two ``uvicorn``
processes (bench/serve_app.py, each on its own loopback port) serve it while
concurrent clients send, split across both: one ballot per member, identical
resends of some of them to the *other* process (idempotent retries), and a
second, different ballot of some members (one-vote-only: refused). Afterwards
the bundle must pass ``votes verify``, and every receipted ballot must be in
the log exactly once with an inclusion proof that verifies against the
signed checkpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.ballot_world import (
    SeededMeeting,
    ballot_request,
    close_and_certify,
    seed_open_meeting,
)
from crypto.merkle import verify_inclusion
from crypto.notes import Checkpoint
from tests.databases import create_schema, drop_schema, service_unavailable
from votes.record.ballot import ballot_bytes
from votes.record.entries import BallotEntry, decode_entry
from votes.service import record
from votes.service.context import ServiceContext, build_context
from votes.settings import Settings
from votes.storage import create_engine, get_entries, upgrade
from votes.storage.models import MeetingCode

REPO = Path(__file__).resolve().parents[2]
MEMBERS = 160
RETRIES = 40  # members whose ballot is also sent, identically, to the other process
SECOND_BALLOTS = 40  # members who also send a different ballot (must be refused)


@dataclass
class Setup:
    ctx: ServiceContext
    env: dict[str, str]
    search_path: str | None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=["postgresql", "sqlite"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    log_key = tmp_path / "log-key"
    log_key.write_text(secrets.token_bytes(32).hex() + "\n")
    log_key.chmod(0o600)
    env = {
        "VOTES_DATA_DIR": str(tmp_path / "data"),
        "VOTES_SECRET_KEY": "two-processes-" + secrets.token_urlsafe(32),
        "VOTES_LOG_KEY_FILE": str(log_key),
        "VOTES_DEMO": "0",
        "VOTES_LOG_LEVEL": "WARNING",
        "VOTES_DB_POOL_SIZE": "4",
    }
    schema: str | None = None
    if request.param == "postgresql":
        env["VOTES_DATABASE_URL"] = request.getfixturevalue("postgres_url")
        schema = f"two_proc_{uuid.uuid4().hex[:12]}"
    settings = Settings.from_env(env)
    if schema is not None:
        problem = await create_schema(settings, schema)
        if problem is not None:
            service_unavailable("PostgreSQL", str(settings.database_url), problem)
    connect_args = {} if schema is None else {"server_settings": {"search_path": schema}}
    engine = create_engine(settings, connect_args=connect_args)
    try:
        await upgrade(engine)
        ctx = await build_context(settings, engine=engine)
        yield Setup(ctx=ctx, env=env, search_path=schema)
    finally:
        await engine.dispose()
        if schema is not None:
            await drop_schema(settings, schema)


@contextmanager
def _servers(setup: Setup, count: int = 2) -> Iterator[list[str]]:
    """``count`` app processes, each on its own port; yields their base URLs."""
    ports = [_free_port() for _ in range(count)]
    env = {**os.environ, **setup.env, "PYTHONPATH": str(REPO)}
    processes = []
    try:
        for port in ports:
            command = [sys.executable, "-m", "bench.serve_app", "votes", "--port", str(port)]
            command += ["--no-scheduler"]
            if setup.search_path is not None:
                command += ["--search-path", setup.search_path]
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "READY", "a server did not start"
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _body(raw: bytes, signature: str) -> dict[str, str]:
    return {"ballot": raw.decode(), "signature": signature}


async def _send_all(
    urls: list[str], code: str, sends: list[tuple[int, dict[str, str]]]
) -> list[httpx.Response]:
    """POST every (server number, body) concurrently, 32 at a time."""
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(timeout=60) as client:

        async def send(server: int, body: dict[str, str]) -> httpx.Response:
            async with limit:
                return await client.post(
                    f"{urls[server]}/api/v1/meetings/{code}/ballots", json=body
                )

        return await asyncio.gather(*(send(server, body) for server, body in sends))


async def _logged_ballots(ctx: ServiceContext, code: str) -> Counter[str]:
    """How many times each ballot hash (hex) appears among the log's ballot entries."""
    async with ctx.sessions() as session:
        where = await session.get(MeetingCode, code)
        assert where is not None
        raw = await get_entries(session, estate_id=where.estate_id, meeting_id=where.meeting_id)
    counts: Counter[str] = Counter()
    for data in raw:
        entry = decode_entry(data)
        if isinstance(entry, BallotEntry):
            counts[hashlib.sha256(ballot_bytes(entry.ballot)).hexdigest()] += 1
    return counts


def _plan(seeded: SeededMeeting) -> tuple[list[tuple[int, dict[str, str]]], dict[str, Any]]:
    """What to send where: firsts, identical resends to the other server, second ballots."""
    members = sorted(seeded.keys)[:MEMBERS]
    sends: list[tuple[int, dict[str, str]]] = []
    firsts: dict[str, str] = {}  # member -> ballot hash
    seconds: dict[str, str] = {}
    for i, member in enumerate(members):
        raw, signature = ballot_request(seeded, member)
        firsts[member] = hashlib.sha256(raw).hexdigest()
        sends.append((i % 2, _body(raw, signature)))
        if i < RETRIES:
            sends.append(((i + 1) % 2, _body(raw, signature)))
        elif i < RETRIES + SECOND_BALLOTS:
            other, other_signature = ballot_request(seeded, member, {"M1": "oppose"})
            seconds[member] = hashlib.sha256(other).hexdigest()
            sends.append(((i + 1) % 2, _body(other, other_signature)))
    # Interleave so retries and second ballots race their first ballot.
    rng = secrets.SystemRandom()
    rng.shuffle(sends)
    return sends, {"firsts": firsts, "seconds": seconds}


async def test_two_processes_take_one_meetings_ballots_into_one_verified_log(
    setup: Setup, tmp_path: Path
) -> None:
    seeded = await seed_open_meeting(setup.ctx, members=MEMBERS)
    sends, plan = _plan(seeded)
    with _servers(setup) as urls:
        responses = await _send_all(urls, seeded.code, sends)
        receipts: dict[str, list[dict[str, Any]]] = {}
        refused: Counter[str] = Counter()
        for response in responses:
            if response.status_code == 201:
                receipt = response.json()
                receipts.setdefault(receipt["body"]["ballot"], []).append(receipt)
            else:
                assert response.status_code == 409, response.text
                refused[response.json()["code"]] += 1
        async with httpx.AsyncClient(base_url=urls[1], timeout=60) as client:
            checkpoint = (await client.get(f"/api/v1/meetings/{seeded.code}/checkpoint")).json()
            proofs = [
                (
                    await client.get(
                        f"/api/v1/meetings/{seeded.code}/proof/inclusion",
                        params={"hash": ballot_hash, "size": checkpoint["size"]},
                    )
                ).json()
                for ballot_hash in receipts
            ]

    # Idempotent retries got the very same receipt from either process.
    assert all(
        len({json.dumps(r, sort_keys=True) for r in same}) == 1 for same in receipts.values()
    )
    # One-vote-only: of each member's two different ballots exactly one was taken.
    for member, second in plan["seconds"].items():
        assert (plan["firsts"][member] in receipts) != (second in receipts), member
    assert refused == Counter({"already_voted": SECOND_BALLOTS})
    assert len(receipts) == MEMBERS

    # Every receipted ballot is in the log exactly once, and nothing else is.
    logged = await _logged_ballots(setup.ctx, seeded.code)
    assert logged == Counter(dict.fromkeys(receipts, 1))
    indexes = sorted(same[0]["body"]["index"] for same in receipts.values())
    assert len(set(indexes)) == MEMBERS

    # Each receipt's entry is proven included in the signed checkpoint.
    body = Checkpoint.parse(checkpoint["note"].split("\n\n", 1)[0] + "\n")
    assert body.size == checkpoint["size"]
    for proof, (ballot_hash, same) in zip(proofs, receipts.items(), strict=True):
        receipt = same[0]["body"]
        assert (proof["index"], proof["leaf_hash"]) == (receipt["index"], receipt["entry"])
        verify_inclusion(
            leaf_hash=bytes.fromhex(receipt["entry"]),
            index=receipt["index"],
            size=body.size,
            proof=[bytes.fromhex(h) for h in proof["proof"]],
            root=body.root_hash,
        )
        assert ballot_hash == receipt["ballot"]

    # The meeting run to its end (closed, tallied, certified), its bundle verifies offline.
    await close_and_certify(setup.ctx, seeded)
    path = tmp_path / "meeting.ovb.json"
    path.write_bytes(await record.bundle(setup.ctx, seeded.code))
    verified = subprocess.run(
        [sys.executable, "-c", "from votes.cli import main; main()", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
