"""Benchmark the database Merkle log (votes.storage.log_repo) on SQLite and PostgreSQL.

1. Appends: TASKS concurrent tasks, each appending in its own transaction
   (lock head, insert entry and nodes, update head, commit), to ONE meeting.
2. Proofs: a meeting pre-filled with ENTRIES entries (tree computed in memory
   with crypto.merkle and bulk-inserted), then inclusion proofs for random
   leaves through the repository (one query each), timed per proof.

    python bench/bench_log_repo.py --backend postgresql --entries 1000000
    python bench/bench_log_repo.py --backend sqlite
PostgreSQL: VOTES_TEST_POSTGRES_URL (default the local `test` database); a
throw-away schema is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crypto.merkle import MemoryNodeStore, MerkleLog, leaf_hash, verify_inclusion
from votes.enums import RegionLevel
from votes.settings import Settings
from votes.storage import (
    append_entry,
    create_engine,
    create_session_factory,
    get_root,
    inclusion_proof,
    upgrade,
)
from votes.storage.models import Estate, LogEntry, LogHead, LogNode, Meeting, Region

PG = os.environ.get("VOTES_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def _meeting(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, uuid.UUID]:
    async with sessions.begin() as session:
        region = Region(level=RegionLevel.SUBDISTRICT, name=uuid.uuid4().hex)
        session.add(region)
        await session.flush()
        estate = Estate(subdistrict_id=region.id, name="bench")
        session.add(estate)
        await session.flush()
        meeting = Meeting(estate_id=estate.id, code=uuid.uuid4().hex[:10], title="bench")
        session.add(meeting)
        await session.flush()
        return estate.id, meeting.id


def _entry(task: int, seq: int, index: int) -> bytes:
    return f"{index}|{task}|{seq}|{'x' * 80}".encode()


async def bench_appends(sessions: async_sessionmaker[AsyncSession], tasks: int, each: int) -> None:
    estate_id, meeting_id = await _meeting(sessions)
    latencies: list[float] = []

    async def worker(n: int) -> None:
        for seq in range(each):
            start = time.perf_counter()
            async with sessions.begin() as session:
                await append_entry(
                    session,
                    estate_id=estate_id,
                    meeting_id=meeting_id,
                    build=functools.partial(_entry, n, seq),
                )
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(tasks)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    total = tasks * each
    print(
        f"appends: {total} in {elapsed:.2f} s = {total / elapsed:,.0f}/s with {tasks} tasks; "
        f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )


async def bench_proofs(
    sessions: async_sessionmaker[AsyncSession], entries: int, proofs: int, seed: int
) -> None:
    estate_id, meeting_id = await _meeting(sessions)
    store = MemoryNodeStore()
    log = MerkleLog(store)
    data = [f"entry {i} {'y' * 80}".encode() for i in range(entries)]
    log.extend(data)
    start = time.perf_counter()
    batch = 20_000
    async with sessions.begin() as session:
        for lo in range(0, entries, batch):
            await session.execute(
                insert(LogEntry),
                [
                    {
                        "estate_id": estate_id,
                        "meeting_id": meeting_id,
                        "idx": i,
                        "entry": data[i],
                        "leaf_hash": leaf_hash(data[i]),
                    }
                    for i in range(lo, min(lo + batch, entries))
                ],
            )
        nodes = list(store._nodes.items())
        for lo in range(0, len(nodes), batch):
            await session.execute(
                insert(LogNode),
                [
                    {
                        "estate_id": estate_id,
                        "meeting_id": meeting_id,
                        "level": level,
                        "idx": index,
                        "hash": value,
                    }
                    for (level, index), value in nodes[lo : lo + batch]
                ],
            )
        await session.execute(
            insert(LogHead).values(
                estate_id=estate_id,
                meeting_id=meeting_id,
                size=entries,
                frontier=b"".join(log.frontier.hashes),
                root=log.root(),
            )
        )
    fill = time.perf_counter() - start
    print(f"filled {entries:,} entries and {len(nodes):,} nodes in {fill:.1f} s")

    rng = random.Random(seed)
    root = log.root()
    times: list[float] = []
    async with sessions() as session:
        assert (
            await get_root(session, estate_id=estate_id, meeting_id=meeting_id, size=entries)
            == root
        )
        for _ in range(proofs):
            index = rng.randrange(entries)
            start = time.perf_counter()
            proof = await inclusion_proof(
                session, estate_id=estate_id, meeting_id=meeting_id, index=index, size=entries
            )
            times.append(time.perf_counter() - start)
            verify_inclusion(
                leaf_hash=leaf_hash(data[index]), index=index, size=entries, proof=proof, root=root
            )
    times.sort()
    print(
        f"inclusion proof, {entries:,}-entry log, {proofs} random leaves: "
        f"mean {statistics.fmean(times) * 1000:.2f} ms, "
        f"p50 {times[len(times) // 2] * 1000:.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--appends", type=int, default=250, help="per task")
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        schema = f"votes_bench_{uuid.uuid4().hex[:8]}"
        connect_args = {}
        if args.backend == "sqlite":
            settings = Settings(data_dir=Path(tmp))
        else:
            settings = Settings(
                database_url=PG,
                data_dir=Path(tmp),
                secret_key="b" * 40,
                log_key_file=Path(tmp) / "k",
            )
            connect_args = {"server_settings": {"search_path": schema}}
            admin = create_engine(settings)
            async with admin.begin() as conn:
                await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = create_engine(settings, connect_args=connect_args)
        try:
            await upgrade(engine)
            sessions = create_session_factory(engine)
            print(f"backend: {args.backend}")
            await bench_appends(sessions, args.tasks, args.appends)
            await bench_proofs(sessions, args.entries, args.proofs, args.seed)
        finally:
            await engine.dispose()
            if args.backend == "postgresql":
                async with admin.begin() as conn:
                    await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
