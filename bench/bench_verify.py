"""Benchmark: `votes verify` on a 100,000-member bundle vs the Ed25519 checks alone.

docs/design.md §8 target: verifying a bundle of ~100,000 ballots takes < 1.5 x the time
of the Ed25519 verifications alone, measured in the same run.  Both are timed
in this process, interleaved over ``--rounds`` rounds (median and best of each
are reported: other jobs on the machine add noise), single-core and with
``--workers`` processes (the baseline then uses the same number of forked
processes); with workers it also prints their verify time over the
single-core baseline ("use both cores if it helps").  The baseline verifies
with bare pynacl exactly the ballot signatures `votes verify` checks: every
online and proxy ballot's member signature and every paper ballot's service
signature, over the signed messages prepared beforehand.

    python bench/bench_verify.py                       # simulate + measure
    python bench/bench_verify.py --bundle b.ovb.json   # measure an existing bundle
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import nacl.exceptions
import nacl.signing

from crypto.notes import NoteVerifier
from crypto.signing import Domain, signed_message
from votes.record.bundle import read_bundle
from votes.record.entries import (
    BallotEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    decode_entry,
    signed_entry_body,
)
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.bundle is not None:
        measure(args.bundle, args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as workdir:
        bundle_path = Path(workdir) / "bench.ovb.json"
        command = [
            "votes", "simulate", "--members", str(args.members), "--motions",
            str(args.motions), "--seed", str(args.seed), "--out", str(bundle_path),
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True)
        print(f"simulate: {time.perf_counter() - started:.1f} s  ({' '.join(command)})")
        measure(bundle_path, args)


def measure(bundle_path: Path, args: argparse.Namespace) -> None:
    """Interleaved rounds of the baseline and of verify_bundle; print the table."""
    size = bundle_path.stat().st_size

    # The baseline's inputs: exactly the signed messages the verifier checks.
    bundle = read_bundle(bundle_path)
    service = NoteVerifier.from_key_string(bundle.service_key).public_key.raw
    members = paper = 0
    for raw in bundle.entries:
        entry = decode_entry(bytes(raw))
        if isinstance(entry, BallotEntry | ProxyBallotEntry):
            members += 1
            key = bytes.fromhex(entry.ballot.member)
            message = signed_message(Domain.BALLOT, canonical(entry.ballot))
        elif isinstance(entry, PaperBallotEntry):
            paper += 1
            key = service
            message = signed_message(Domain.PAPER_BALLOT, signed_entry_body(entry))
        else:
            continue
        _ITEMS.append((key, message, bytes.fromhex(entry.signature)))
    del bundle
    print(
        f"bundle: {size / 1e6:.1f} MB; baseline: {len(_ITEMS)} Ed25519 signatures "
        f"({members} member-signed ballots, {paper} paper ballots)"
    )

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for workers in sorted({1, args.workers}):
            results.setdefault(f"ed25519-{workers}", []).append(ed25519_alone(workers))
            started = time.perf_counter()
            report = verify_bundle(bundle_path, workers=workers)
            results.setdefault(f"verify-{workers}", []).append(time.perf_counter() - started)
            assert report.ok, report.first_failure

    rounds = args.rounds
    print(f"wall seconds over {rounds} interleaved rounds (median / best):")
    print(f"{'workers':>7} {'Ed25519 alone':>16} {'votes verify':>16} {'ratio':>12}")
    for workers in sorted({1, args.workers}):
        alone = results[f"ed25519-{workers}"]
        verify = results[f"verify-{workers}"]
        ratios = [v / a for v, a in zip(verify, alone, strict=True)]
        print(
            f"{workers:>7} {statistics.median(alone):>7.2f} / {min(alone):<6.2f}"
            f" {statistics.median(verify):>7.2f} / {min(verify):<6.2f}"
            f" {statistics.median(ratios):>5.2f} / {min(ratios):<5.2f}"
        )
    print("(ratio: each round's verify over the same round's Ed25519 alone)")
    if args.workers > 1:
        # "Use both cores if it helps": verify with workers against one core's Ed25519 work.
        ratios = [
            v / a
            for v, a in zip(results[f"verify-{args.workers}"], results["ed25519-1"], strict=True)
        ]
        print(
            f"{args.workers} workers' verify over single-core Ed25519 alone: "
            f"{statistics.median(ratios):.2f} / {min(ratios):.2f} (median / best)"
        )

    started = time.perf_counter()
    subprocess.run(["votes", "verify", str(bundle_path)], check=True, stdout=subprocess.DEVNULL)
    print(f"CLI `votes verify` wall time (incl. start-up): {time.perf_counter() - started:.2f} s")
    print("load average: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
