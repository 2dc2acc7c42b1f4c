"""Benchmark: `votes verify` on a 100,000-member bundle vs the Ed25519 checks alone.

DESIGN §8 target: verifying a bundle of ~100,000 ballots takes < 1.5 x the time
of the Ed25519 verifications alone, measured in the same run.  Both are timed
in this process, interleaved over ``--rounds`` rounds (the best of each is
reported, to damp noise from other jobs on the machine), single-core and with
``--workers`` processes (the baseline then uses the same fork-based split).

    python bench/bench_verify.py                       # simulate + measure
    python bench/bench_verify.py --bundle b.ovb.json   # measure an existing bundle
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from votes.record.bundle import read_bundle
from votes.record.entries import BallotEntry, ProxyBallotEntry, decode_entry
from votes.record.verify import verify_bundle
from votes.record.wire import canonical

_ITEMS: list[tuple[bytes, bytes, bytes]] = []


def _ed25519(bounds: tuple[int, int]) -> int:
    """Bare pynacl verification of items[start:end]; returns the number that failed."""
    bad = 0
    for key, message, signature in _ITEMS[bounds[0] : bounds[1]]:
        try:
            nacl.signing.VerifyKey(key).verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            bad += 1
    return bad


def ed25519_alone(workers: int) -> float:
    """Seconds to verify every ballot signature, nothing else (items prepared beforehand)."""
    started = time.perf_counter()
    if workers == 1:
        bad = _ed25519((0, len(_ITEMS)))
    else:
        step = -(-len(_ITEMS) // workers)
        ranges = [(s, min(s + step, len(_ITEMS))) for s in range(0, len(_ITEMS), step)]
        with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
            bad = sum(pool.map(_ed25519, ranges))
    elapsed = time.perf_counter() - started
    assert bad == 0, f"{bad} signatures failed"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--motions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bundle", type=Path, help="use this bundle instead of simulating")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    bundle_path = args.bundle
    if bundle_path is None:
        bundle_path = workdir / "bench.ovb.json"
        command = [
            "votes", "simulate", "--members", str(args.members), "--motions",
            str(args.motions), "--seed", str(args.seed), "--out", str(bundle_path),
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True)
        print(f"simulate: {time.perf_counter() - started:.1f} s  ({' '.join(command)})")
    size = bundle_path.stat().st_size

    # The baseline's inputs: exactly the messages the verifier checks.
    bundle = read_bundle(bundle_path)
    prefix = b"owner-vote/ballot/v1\x00"
    for raw in bundle.entries:
        entry = decode_entry(bytes(raw))
        if isinstance(entry, BallotEntry | ProxyBallotEntry):
            _ITEMS.append(
                (
                    bytes.fromhex(entry.ballot.member),
                    prefix + canonical(entry.ballot),
                    bytes.fromhex(entry.signature),
                )
            )
    del bundle
    print(f"bundle: {size / 1e6:.1f} MB, {len(_ITEMS)} member-signed ballots")

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for workers in sorted({1, args.workers}):
            results.setdefault(f"ed25519-{workers}", []).append(ed25519_alone(workers))
            started = time.perf_counter()
            report = verify_bundle(bundle_path, workers=workers)
            results.setdefault(f"verify-{workers}", []).append(time.perf_counter() - started)
            assert report.ok, report.first_failure

    print(f"{'workers':>7} {'Ed25519 alone':>14} {'votes verify':>13} {'ratio':>6}")
    for workers in sorted({1, args.workers}):
        alone = min(results[f"ed25519-{workers}"])
        verify = min(results[f"verify-{workers}"])
        print(f"{workers:>7} {alone:>12.2f} s {verify:>11.2f} s {verify / alone:>6.2f}")

    started = time.perf_counter()
    subprocess.run(["votes", "verify", str(bundle_path)], check=True, stdout=subprocess.DEVNULL)
    print(f"CLI `votes verify` wall time (incl. start-up): {time.perf_counter() - started:.2f} s")
    print(f"load average: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
