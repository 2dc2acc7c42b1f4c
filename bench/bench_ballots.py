"""Benchmark: casting ballots end to end on PostgreSQL with two app processes (docs/design.md §8).

    python bench/bench_ballots.py                 # defaults below; needs wrk (apt-get install wrk)

1. Creates a schema of its own in the PostgreSQL database (``--pg-url``), migrates it,
   and seeds through the service an OPEN meeting (one-vote-only) with ``--ballots`` +
   ``--warmup`` members whose credential keys are derived from their letters.
2. Pre-signs one ballot per member and writes the request bodies to files.
3. Starts TWO processes of the real app (bench/serve_app.py ``votes``: web.app.create_app,
   one uvicorn worker each, uvloop + httptools, in-process stores — no Redis) sharing one
   loopback port with SO_REUSEPORT, and TWO processes of the bare baseline
   (bench/bare_app.py: verify the Ed25519 signature, insert one row) on another port.
4. Drives each with ``wrk`` (one thread, ``--connections`` connections; C, so the load
   generator takes little of the 2 cores it shares with PostgreSQL and the apps): a short
   warm-up run, then the measured run, each body sent once and never resent. The measured
   runs last ``--duration`` seconds, or less if the warm-ups' rate says the ``--ballots``
   bodies would not last that long (both measured runs get the same duration); a run that
   still runs out of bodies is reported as such (its rate is then a lower bound).
5. Checks the meeting's log holds every acknowledged ballot exactly once (the log entries
   decoded and matched against the bodies sent) and runs ``votes verify`` on the bundle.
6. Prints ballots/s, p50/p99 latency, the ratio real/bare, and CPU seconds per 1,000
   ballots for each component (from /proc), and drops its schema.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ballot_world import (  # noqa: E402
    SeededMeeting,
    ballot_request,
    close_and_certify,
    seed_open_meeting,
)
from bench.bare_app import create_bare_table  # noqa: E402
from votes.record.ballot import ballot_bytes  # noqa: E402
from votes.record.entries import BallotEntry, decode_entry  # noqa: E402
from votes.service import record  # noqa: E402
from votes.service.context import build_context  # noqa: E402
from votes.settings import Settings  # noqa: E402
from votes.storage import create_engine, get_entries, upgrade  # noqa: E402
from votes.storage.models import MeetingCode  # noqa: E402

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A measured run may be this much faster than its warm-up before its bodies run out.
_RATE_MARGIN = 1.4


@dataclass
class Run:
    name: str
    result: dict[str, Any]
    cpu: dict[str, float]
    ballots: int

    @property
    def rate(self) -> float:
        """Acknowledged (2xx) ballots per second; refusals are counted apart."""
        return float(self.result["ok_2xx"]) / (float(self.result["duration_us"]) / 1e6)


def _cpu_by_pid() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of every process: pid -> (command, seconds)."""
    seen: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seen[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS)
    return seen


def _cpu_delta(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    app_pids: dict[str, list[int]],
) -> dict[str, float]:
    """CPU seconds used between two snapshots, by group: each app, postgres, wrk, other."""
    owner = {pid: name for name, pids in app_pids.items() for pid in pids}
    groups: dict[str, float] = {}
    for pid, (comm, seconds) in after.items():
        used = seconds - before.get(pid, (comm, 0.0))[1]
        if pid in owner:
            group = owner[pid]
        elif comm.startswith("postgres"):
            group = "postgres"
        elif comm == "wrk":
            group = "wrk"
        else:
            group = "other (not this benchmark)"
        groups[group] = groups.get(group, 0.0) + used
    return dict(groups)


def _wrk(url: str, bodies: Path, path: str, *, connections: int, duration: int) -> dict[str, Any]:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(REPO / "bench" / "ballots.lua"),
        url,
        "--",
        str(bodies),
        path,
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["command"] = " ".join(command)
    return result


def _load(
    name: str,
    url: str,
    bodies: Path,
    path: str,
    *,
    count: int,
    pids: dict[str, list[int]],
    args: argparse.Namespace,
) -> Run:
    before = _cpu_by_pid()
    duration = args.warmup_duration if name.startswith("warm") else args.measured_duration
    result = _wrk(url, bodies, path, connections=args.connections, duration=duration)
    cpu = _cpu_delta(before, _cpu_by_pid(), pids)
    return Run(name, result, cpu, count)


def _size_duration(warmups: list[Run], args: argparse.Namespace) -> None:
    """Measured runs as long as ``--duration``, unless the bodies would not last that long at
    the warm-ups' best rate (with a margin): a run that runs out of bodies measures nothing
    after that, and resending them would measure duplicates, not ballots."""
    fastest = max(run.result["requests"] / (run.result["duration_us"] / 1e6) for run in warmups)
    if any(run.result["exhausted"] for run in warmups):
        print("WARNING: a warm-up ran out of bodies (give more --warmup): its rate is too low")
    lasts = int(args.ballots / (fastest * _RATE_MARGIN))
    args.measured_duration = max(1, min(args.duration, lasts))
    if args.measured_duration < args.duration:
        print(
            f"{args.ballots} bodies last ~{args.ballots / fastest:.0f} s at the warm-ups' "
            f"{fastest:.0f}/s: measured runs cut to {args.measured_duration} s "
            "(give more --ballots for longer runs)",
            flush=True,
        )


def _start(
    app: str, port: int, *, schema: str, env: dict[str, str], pg_url: str
) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "bench.serve_app",
        app,
        "--port",
        str(port),
        "--search-path",
        schema,
    ]
    if app == "bare":
        command += ["--database-url", pg_url]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_ready(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"app process {process.pid} did not start (exit {process.poll()})")


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _bodies(seeded: SeededMeeting, members: list[str], path: Path) -> list[bytes]:
    hashes = []
    with path.open("w") as out:
        for member in members:
            raw, signature = ballot_request(seeded, member)
            out.write(json.dumps({"ballot": raw.decode(), "signature": signature}) + "\n")
            hashes.append(hashlib.sha256(raw).digest())
    return hashes


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _check_log(ctx: Any, seeded: SeededMeeting, sent: list[bytes], acknowledged: int) -> str:
    """Every acknowledged ballot in the log exactly once; returns a one-line account."""
    async with ctx.sessions() as session:
        where = await session.get(MeetingCode, seeded.code)
        assert where is not None
        raw_entries = await get_entries(
            session, estate_id=where.estate_id, meeting_id=where.meeting_id
        )
    in_log: Counter[bytes] = Counter()
    for raw in raw_entries:
        entry = decode_entry(raw)
        if isinstance(entry, BallotEntry):
            in_log[hashlib.sha256(ballot_bytes(entry.ballot)).digest()] += 1
    twice = [h for h, n in in_log.items() if n != 1]
    sent_set = set(sent)
    strangers = [h for h in in_log if h not in sent_set]
    found = sum(1 for h in sent if in_log.get(h) == 1)
    if twice or strangers or found < acknowledged:
        raise SystemExit(
            f"LOG CHECK FAILED: {len(twice)} hashes more than once, {len(strangers)} unknown, "
            f"{found} of the sent ballots logged once but {acknowledged} acknowledged"
        )
    return (
        f"log: {len(raw_entries)} entries, {sum(in_log.values())} ballots, each exactly once; "
        f"{found} of {len(sent)} sent ballots logged (acknowledged: {acknowledged})"
    )


def _report(runs: list[Run], args: argparse.Namespace) -> None:
    print()
    print(
        f"{'run':<16} {'ballots':>8} {'ballots/s':>10} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'non-2xx':>8} {'duration':>9}  bodies"
    )
    for run in runs:
        r = run.result
        bodies = "RAN OUT (rate is a lower bound)" if r["exhausted"] else f"{run.ballots} enough"
        print(
            f"{run.name:<16} {r['ok_2xx']:>8} {run.rate:>10.0f} {r['p50_us'] / 1000:>8.1f} "
            f"{r['p90_us'] / 1000:>8.1f} {r['p99_us'] / 1000:>8.1f} {r['max_us'] / 1000:>8.1f} "
            f"{r['non_2xx']:>8} {r['duration_us'] / 1e6:>8.1f}s  {bodies}"
        )
    print()
    print("CPU seconds per 1,000 ballots (measured runs):")
    for run in runs:
        if run.name.startswith("warm"):
            continue
        per = {k: v * 1000 / max(run.result["ok_2xx"], 1) for k, v in run.cpu.items() if v > 0.01}
        wall = run.result["duration_us"] / 1e6
        total = sum(run.cpu.values())
        shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
        print(
            f"  {run.name}: {shown}  (all: {total:.1f} CPU-s in {wall:.1f} s wall "
            f"= {total / wall:.2f} cores busy)"
        )


async def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    schema = f"bench_ballots_{secrets.token_hex(4)}"
    folder = Path(tempfile.mkdtemp(prefix="bench-ballots-"))
    log_key = folder / "log-key"
    log_key.write_text(secrets.token_bytes(32).hex() + "\n")
    log_key.chmod(0o600)
    env = {
        **os.environ,
        "VOTES_DATABASE_URL": args.pg_url,
        "VOTES_SECRET_KEY": secrets.token_urlsafe(40),
        "VOTES_LOG_KEY_FILE": str(log_key),
        "VOTES_DATA_DIR": str(folder),
        "VOTES_DEMO": "0",
        "VOTES_DB_POOL_SIZE": str(args.pool),
        "VOTES_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("VOTES_")})
    admin = create_engine(settings)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(settings, connect_args={"server_settings": {"search_path": schema}})
    processes: list[subprocess.Popen[str]] = []
    try:
        await upgrade(engine)
        await create_bare_table(engine)
        ctx = await build_context(settings, engine=engine)
        started = time.perf_counter()
        seeded = await seed_open_meeting(ctx, members=args.ballots + args.warmup)
        print(
            f"seeded meeting {seeded.code}: {len(seeded.keys)} members "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        # This PostgreSQL runs with autovacuum off: without statistics the planner scans a
        # meeting's credentials and ballots for every batch. Production tables are analysed
        # by autovacuum (the roster and credentials exist days before voting opens).
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        members = sorted(seeded.keys)
        warm_file, main_file = folder / "warmup.jsonl", folder / "ballots.jsonl"
        sent = _bodies(seeded, members[: args.warmup], warm_file)
        sent += _bodies(seeded, members[args.warmup :], main_file)

        votes_port, bare_port = _free_port(), _free_port()
        votes = [
            _start("votes", votes_port, schema=schema, env=env, pg_url=args.pg_url)
            for _ in range(2)
        ]
        bare = [
            _start("bare", bare_port, schema=schema, env=env, pg_url=args.pg_url) for _ in range(2)
        ]
        processes = votes + bare
        _wait_ready(processes)
        pids = {"votes apps": [p.pid for p in votes], "bare apps": [p.pid for p in bare]}
        votes_url, bare_url = f"http://127.0.0.1:{votes_port}", f"http://127.0.0.1:{bare_port}"
        ballots_path = f"/api/v1/meetings/{seeded.code}/ballots"
        warmups = [
            _load(
                "warm-up votes",
                votes_url,
                warm_file,
                ballots_path,
                count=args.warmup,
                pids=pids,
                args=args,
            ),
            _load(
                "warm-up bare",
                bare_url,
                warm_file,
                "/bare/ballots",
                count=args.warmup,
                pids=pids,
                args=args,
            ),
        ]
        _size_duration(warmups, args)
        runs = [
            *warmups,
            _load(
                "votes",
                votes_url,
                main_file,
                ballots_path,
                count=args.ballots,
                pids=pids,
                args=args,
            ),
            _load(
                "bare",
                bare_url,
                main_file,
                "/bare/ballots",
                count=args.ballots,
                pids=pids,
                args=args,
            ),
        ]
        _stop(processes)
        processes = []
        _report(runs, args)
        real, baseline = runs[2], runs[3]
        print(f"\nratio votes / bare: {real.rate / baseline.rate:.2f}")
        print(f"wrk command (votes run): {real.result['command']}")
        r = real.result
        clean = not any(
            r[k]
            for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
        )
        # Each body is sent once, never again: every 2xx is one distinct acknowledged ballot.
        warm = runs[0].result
        acknowledged = warm["ok_2xx"] + r["ok_2xx"]
        if not clean or warm["status_errors"]:
            acknowledged = 0
        if not clean:
            print("WARNING: the votes run had errors; only checking the log for duplicates")
        print(await _check_log(ctx, seeded, sent, acknowledged))
        await close_and_certify(ctx, seeded)  # so the bundle is a whole meeting's record
        bundle = folder / "meeting.ovb.json"
        bundle.write_bytes(await record.bundle(ctx, seeded.code))
        verified = subprocess.run(
            ["votes", "verify", str(bundle)],
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"votes verify {bundle.name}: exit {verified.returncode}")
        print("\n".join(verified.stdout.splitlines()[-12:]))
        await ctx.close()
    finally:
        _stop(processes)
        await engine.dispose()
        if not args.keep:
            async with admin.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            shutil.rmtree(folder, ignore_errors=True)
        await admin.dispose()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ballots/s end to end vs a bare endpoint")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--ballots", type=int, default=40000, help="bodies for the measured runs (upper bound)"
    )
    parser.add_argument("--warmup", type=int, default=2000, help="bodies for the warm-ups")
    # 1 s: the warm-up bodies must not run out, or the rate that sizes the measured runs is low.
    parser.add_argument("--warmup-duration", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=20, help="length of a measured run (s)")
    parser.add_argument("--pool", type=int, default=5, help="VOTES_DB_POOL_SIZE per process")
    parser.add_argument("--keep", action="store_true", help="keep the schema and files")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
