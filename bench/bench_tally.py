"""Benchmark: tally of 100,000 voting members x 5 motions (target < 1 s, docs/design.md §8).

A random estate (seeded): multi-unit owners, parking spaces, co-owned units,
one developer member; five motions (three yes/no, one of them scoped to 10
buildings; an election of 5 of 9; a choose-one of 3); about 85 % turnout per
motion (members of the scoped motion's buildings only, plus a few stray
rows) plus about 5 % duplicate rows (half of them disagreeing). Reports the median
of several runs of ``group_members`` and of ``tally`` alone.

Run: ``python bench/bench_tally.py`` (options: ``--members N --runs N --seed N``).
Reports wall-clock and CPU time (``time.process_time``); on a shared machine the
CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from votes.model import (
    BallotRow,
    Channel,
    Motion,
    MotionType,
    Roster,
    TallySettings,
    Unit,
    UnitKind,
    UnitStatus,
)
from votes.roster import group_members
from votes.tally import tally

CANDIDATES = tuple(f"候选人{i}" for i in range(9))
OPTIONS = ("甲物业", "乙物业", "丙物业")
BUILDINGS = [str(b) for b in range(1, 101)]


def make_units(members: int, rng: random.Random) -> list[Unit]:
    units: list[Unit] = []
    n = 0

    def add(owners: frozenset[str], **kw: object) -> None:
        nonlocal n
        n += 1
        units.append(
            Unit(
                number=f"U{n:07d}",
                building=rng.choice(BUILDINGS),
                area=rng.randint(3000, 20000),
                owners=owners,
                **kw,  # type: ignore[arg-type]
            )
        )

    # one developer member holding 300 unsold/undelivered units
    for i in range(300):
        status = UnitStatus.UNSOLD if i % 3 else UnitStatus.UNDELIVERED
        add(frozenset({"DEV"}), status=status)
    for m in range(members - 1):
        owners = frozenset({f"O{m}", f"C{m}"}) if m % 10 == 0 else frozenset({f"O{m}"})
        add(owners)
        if m % 7 == 0:  # multi-unit owner
            add(owners)
        if m % 5 == 0:  # parking space
            add(owners, kind=UnitKind.PARKING)
    return units


def make_motions() -> list[Motion]:
    return [
        Motion("M1", "划定停车位", 8),
        Motion("M2", "选聘物业", 4, MotionType.CHOOSE_ONE, 1, OPTIONS),
        Motion("M3", "选举业委会", 3, MotionType.ELECTION, 5, CANDIDATES),
        Motion("M4", "电梯维修", 5, scope=frozenset(BUILDINGS[:10])),
        Motion("M5", "调整物业费", 9),
    ]


def make_ballots(roster: Roster, motions: list[Motion], rng: random.Random) -> list[BallotRow]:
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    rows: list[BallotRow] = []
    seq = 0
    yes_no = ["agree"] * 6 + ["oppose"] * 3 + ["abstain", "invalid"]
    lift = motions[3].scope or frozenset()
    for member in roster.members:
        in_lift_scope = any(u.building in lift for u in member.units)
        for motion in motions:
            if rng.random() > 0.85:
                continue
            # the ballots file refuses rows outside a motion's scope; keep a few to be noted
            if motion.scope is not None and not in_lift_scope and rng.random() > 0.001:
                continue
            if motion.type == MotionType.ELECTION:
                choice = ";".join(rng.sample(CANDIDATES, 5))
            elif motion.type == MotionType.CHOOSE_ONE:
                choice = rng.choice(OPTIONS)
            else:
                choice = rng.choice(yes_no)
            copies = 2 if rng.random() < 0.05 else 1
            for _ in range(copies):
                seq += 1
                rows.append(
                    BallotRow(
                        member.id,
                        motion.id,
                        choice if copies == 1 or rng.random() < 0.5 else rng.choice(yes_no),
                        rng.choice((Channel.ONLINE, Channel.PAPER)),
                        t0 + timedelta(seconds=seq),
                        seq,
                    )
                )
    rng.shuffle(rows)
    return rows


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``runs`` calls.

    Each call starts after a full garbage collection: otherwise a call may
    also pay for a full collection of the whole heap (the benchmark's million
    objects, about 0.25 s here) run on behalf of the calls before it.
    """
    walls, cpus = [], []
    for _ in range(runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def calibration() -> float:
    """Seconds for 10 million ``x += i`` steps: shows how busy the machine was."""
    start = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return time.perf_counter() - start


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    units = make_units(args.members, rng)
    grouping = median_time(lambda: group_members(units), args.runs)
    roster = group_members(units)
    motions = make_motions()
    ballots = make_ballots(roster, motions, rng)
    settings = TallySettings()

    result = tally(roster=roster, motions=motions, ballots=ballots, settings=settings)
    counting = median_time(
        lambda: tally(roster=roster, motions=motions, ballots=ballots, settings=settings),
        args.runs,
    )
    print(f"units {len(units):,}, members {len(roster.members):,}, ballot rows {len(ballots):,}")
    print(f"conflicts {len(result.conflicts):,}")
    for m in result.motions:
        print(f"  {m.motion.id}: participating {m.participating.heads:,} passed={m.passed}")
    runs = args.runs
    print(
        f"group_members: median {grouping[0] * 1000:.0f} ms wall, {grouping[1] * 1000:.0f} ms CPU"
    )
    print(
        f"tally:         median {counting[0] * 1000:.0f} ms wall, {counting[1] * 1000:.0f} ms CPU"
    )
    print(f"({runs} runs each; calibration loop {calibration():.2f} s, load average {load()})")


if __name__ == "__main__":
    main()
