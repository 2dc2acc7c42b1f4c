"""Benchmark: inclusion and consistency proofs on a 1,000,000-entry RFC 9162 log.

Builds the log once into an in-memory node store, copies every perfect node into
a SQLite file (table keyed by (level, idx), as the server keeps them in SQL),
then times proofs for random indices against both stores.  Each proof is one
plan (no I/O), ONE batched node read, and assembly; every proof is verified
(verification time is reported separately and not included in proof time).
The SQLite file is read through the OS page cache (warm), as on a server whose
node table fits in memory.

    python bench/bench_merkle.py                 # 1,000,000 entries, 2,000 proofs
    python bench/bench_merkle.py --entries 100000 --proofs 500
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.merkle import (
    MemoryNodeStore,
    MerkleLog,
    NodeId,
    NodeStore,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


class SqliteNodeStore:
    """A NodeStore in a SQLite file: one row per perfect node, keyed by (level, idx)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS nodes ("
            " level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
            " PRIMARY KEY (level, idx)) WITHOUT ROWID"
        )
        self.reads = 0
        self.queries = 0

    def get_many(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        if not ids:
            return {}
        self.reads += len(ids)
        self.queries += 1
        values = ",".join("(?,?)" for _ in ids)
        params = [number for node in ids for number in node]
        # A join on a VALUES list uses the primary key; SQLite plans the row-value
        # form "(level, idx) IN (VALUES ...)" as a full table scan.
        rows = self.connection.execute(
            f"SELECT n.level, n.idx, n.hash FROM (VALUES {values}) AS w"
            " JOIN nodes AS n ON n.level = w.column1 AND n.idx = w.column2",
            params,
        )
        return {(level, idx): bytes(value) for level, idx, value in rows}

    def put_many(self, items: Iterable[tuple[NodeId, bytes]]) -> None:
        self.connection.execute("BEGIN")
        self.connection.executemany(
            "INSERT OR IGNORE INTO nodes (level, idx, hash) VALUES (?, ?, ?)",
            ((level, idx, value) for (level, idx), value in items),
        )
        self.connection.execute("COMMIT")

    def count(self) -> int:
        (rows,) = self.connection.execute("SELECT count(*) FROM nodes").fetchone()
        return int(rows)


def _summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"mean {statistics.fmean(ordered):7.3f} ms  p50 {p50:7.3f} ms  "
        f"p99 {p99:7.3f} ms  max {ordered[-1]:7.3f} ms"
    )


def run(entries: int, proofs: int, seed: int, workdir: Path) -> None:
    rng = random.Random(seed)
    print(f"entries {entries:,}  proofs per kind {proofs:,}  seed {seed}")

    memory = MemoryNodeStore()
    log = MerkleLog(memory)
    start = time.perf_counter()
    chunk = 50_000
    for first in range(0, entries, chunk):
        log.extend(
            f"entry {i:09d} ballot-sized payload ".encode() * 3
            for i in range(first, min(entries, first + chunk))
        )
    build_s = time.perf_counter() - start
    print(f"build in memory: {build_s:.1f} s ({len(memory):,} nodes)")

    sqlite_path = workdir / "merkle-bench.sqlite3"
    database = SqliteNodeStore(sqlite_path)
    start = time.perf_counter()
    database.put_many(memory._nodes.items())  # bench-only peek: copy everything at once
    copy_s = time.perf_counter() - start
    size_mb = sqlite_path.stat().st_size / 1e6
    print(f"copy to SQLite: {copy_s:.1f} s ({database.count():,} rows, {size_mb:.0f} MB)")

    # Two million live node objects in the in-memory store make CPython's cyclic GC
    # pause for tens of ms; the server holds no such dict, so keep them out of the GC.
    gc.collect()
    gc.freeze()

    size = log.size
    root = log.root()
    frontier = log.frontier
    stores: dict[str, NodeStore] = {"memory": memory, "sqlite": database}
    for name, store in stores.items():
        view = MerkleLog(store, frontier)
        indices = [rng.randrange(size) for _ in range(proofs)]
        times: list[float] = []
        verify_times: list[float] = []
        reads: list[int] = []
        for index in indices:
            start = time.perf_counter()
            proof = view.inclusion_proof(index, size)
            times.append((time.perf_counter() - start) * 1000)
            reads.append(len(inclusion_plan(index, size).nodes))
            leaf = leaf_hash(f"entry {index:09d} ballot-sized payload ".encode() * 3)
            start = time.perf_counter()
            verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=proof, root=root)
            verify_times.append((time.perf_counter() - start) * 1000)
        print(
            f"[{name}] inclusion:   {_summary(times)}  node reads/proof "
            f"mean {statistics.fmean(reads):.1f} max {max(reads)}"
        )
        print(f"[{name}] verify incl: {_summary(verify_times)}")

        times, reads = [], []
        for _ in range(proofs):
            old = rng.randrange(1, size)
            start = time.perf_counter()
            proof = view.consistency_proof(old, size)
            times.append((time.perf_counter() - start) * 1000)
            reads.append(len(consistency_plan(old, size).nodes))
            verify_consistency(size1=old, size2=size, proof=proof, root1=view.root(old), root2=root)
        print(
            f"[{name}] consistency: {_summary(times)}  node reads/proof "
            f"mean {statistics.fmean(reads):.1f} max {max(reads)}"
        )
    print(f"[sqlite] queries: {database.queries:,} for {database.reads:,} node reads")
    database.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workdir", type=Path, default=None, help="for the SQLite file")
    args = parser.parse_args()
    version = sys.version.split()[0]
    print(f"python {version}, sqlite {sqlite3.sqlite_version}, cpus {os.cpu_count()}")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args.entries, args.proofs, args.seed, args.workdir)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            run(args.entries, args.proofs, args.seed, Path(workdir))


if __name__ == "__main__":
    main()
