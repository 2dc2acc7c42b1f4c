"""Proof tool: `votes verify` gives the same reports before and after a change to the verifier.

Builds a corpus of bundles and writes, for each, the report as canonical JSON
(``Report.to_dict()`` through :func:`crypto.canonical.canonical_json`) and as
the text `votes verify` prints, verified with 1 and with 2 workers.  Run it on
two checkouts and compare the two output folders:

    PYTHONPATH=. python bench/verify_corpus.py /tmp/after                  # build + verify
    PYTHONPATH=. python bench/verify_corpus.py /tmp/after --corpus /tmp/before/corpus
    python bench/verify_corpus.py --compare /tmp/before /tmp/after

The corpus (``OUT/corpus``, one pickle of the verifier's arguments per bundle):

- simulations (:mod:`votes.record.simulate`) under every duplicate policy,
  invalid-ballot setting and non-voter rule, with and without the paper and
  proxy ballots (removed, the log re-signed and the tally recounted), at
  several sizes and seeds, and two large ones that take the worker pool, one
  with broken member signatures;
- every bundle the tests verify (``--tests``; by default the record tests,
  the verify command's tests and the service tests that call
  ``verify_bundle``), captured by wrapping ``verify_bundle`` while pytest runs
  them: every tampered variant of tests/votes/record, and the bundles the
  service records.  The service tests need the test database
  (VOTES_TEST_POSTGRES_URL) and are not deterministic: build the corpus once
  and verify that same corpus with both checkouts (``--corpus``).

``--compare`` prints "identical" and exits 0, or lists the reports that differ
(and the corpus files, if both folders hold a corpus) and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import pickle
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from crypto.canonical import canonical_json
from votes.model import DuplicatePolicy, InvalidBallots, NonVoterRule
from votes.record import simulate as simulate_module
from votes.record.bundle import Bundle
from votes.record.entries import (
    BallotEntry,
    Entry,
    MeetingSettings,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    TallyEntry,
    motion_from_wire,
    roster_from_wire,
    tally_rows,
)
from votes.record.simulate import Simulation, simulate
from votes.tally import tally
from votes.tally_json import result_to_dict

DEFAULT_TESTS = (
    "tests/votes/record",
    "tests/votes/cli/test_verify_cmd.py",
    "tests/votes/service/test_demo.py",
    "tests/votes/service/test_schedule_rules.py",
    "tests/votes/service/test_end_to_end.py",
    "tests/votes/service/test_credentials.py",
    "tests/votes/service/test_ballots.py",
)
SIZES = ((3, 1, 1), (12, 3, 2), (25, 2, 7), (40, 5, 11), (60, 4, 23))  # (members, motions, seed)
LARGE = (2500, 2, 5)  # more than 2,000 entries: verify forks its worker pool
WORKERS = (1, 2)


# ---------------------------------------------------------------------- corpus


@contextlib.contextmanager
def _settings(invalid: InvalidBallots, non_voters: NonVoterRule) -> Iterator[None]:
    """Simulate with these tally settings (simulate itself fixes the other settings)."""
    settings = functools.partial(MeetingSettings, invalid_ballots=invalid, non_voters=non_voters)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulate_module, "MeetingSettings", settings)
        yield


def _without_paper_and_proxy(sim: Simulation) -> Bundle:
    """The simulated log without its paper and proxy ballots, recounted and re-signed."""
    from tests.votes.record.tamper_support import with_officer  # noqa: PLC0415

    kept: list[Entry] = [
        entry for entry in sim.entries if not isinstance(entry, PaperBallotEntry | ProxyBallotEntry)
    ]
    notice = kept[0]
    assert isinstance(notice, NoticeEntry)
    result = tally(
        roster=roster_from_wire(notice.roster),
        motions=[motion_from_wire(motion) for motion in notice.agenda],
        ballots=tally_rows(kept),
        settings=notice.settings.tally_settings(),
    )
    recounted = [
        msgspec.structs.replace(entry, result=result_to_dict(result))
        if isinstance(entry, TallyEntry)
        else entry
        for entry in kept
    ]
    return with_officer(sim, recounted)


def _broken_signatures(sim: Simulation) -> Bundle:
    """Every 500th online ballot with a zero signature (the log re-signed around it)."""
    from tests.votes.record.tamper_support import rebuild  # noqa: PLC0415

    entries = [
        msgspec.structs.replace(entry, signature=bytes(64).hex())
        if isinstance(entry, BallotEntry) and entry.index % 500 == 0
        else entry
        for entry in sim.entries
    ]
    return rebuild(sim, entries, unchanged_prefix=0)


def simulations() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, verify_bundle arguments) of every simulated bundle."""
    for policy in DuplicatePolicy:
        for invalid in InvalidBallots:
            for non_voters in NonVoterRule:
                for members, motions, seed in SIZES:
                    with _settings(invalid, non_voters):
                        sim = simulate(members=members, motions=motions, seed=seed, policy=policy)
                    name = f"sim-{policy}-{invalid}-{non_voters}-{members}x{motions}-s{seed}"
                    yield name, {"source": sim.bundle, "receipts": sim.receipts}
                    yield (
                        f"{name}-pinned",
                        {
                            "source": sim.bundle,
                            "receipts": sim.receipts,
                            "service_key": sim.service.verifier().key_string(),
                            "officer_keys": [sim.officer.verifier().key_string()],
                        },
                    )
                    yield f"{name}-online-only", {"source": _without_paper_and_proxy(sim)}
    members, motions, seed = LARGE
    sim = simulate(members=members, motions=motions, seed=seed)
    yield f"sim-large-{members}x{motions}-s{seed}", {"source": sim.bundle, "receipts": sim.receipts}
    yield (
        f"sim-large-{members}x{motions}-s{seed}-bad-signatures",
        {"source": _broken_signatures(sim)},
    )


class _Recorder:
    """A pytest plugin that records the arguments of every verify_bundle call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._test = "?"

    def pytest_collection_finish(self, session: Any) -> None:
        import votes.cli.verify_cmd  # noqa: PLC0415
        import votes.record.verify  # noqa: PLC0415

        real = votes.record.verify.verify_bundle
        recorder = self

        @functools.wraps(real)
        def recording(source: Any, **kwargs: Any) -> Any:
            recorder.record(source, kwargs)
            return real(source, **kwargs)

        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if (name.startswith("tests.") or name == "votes.cli.verify_cmd") and getattr(
                module, "verify_bundle", None
            ) is real:
                module.verify_bundle = recording  # type: ignore[attr-defined]

    def pytest_runtest_setup(self, item: Any) -> None:
        self._test = item.nodeid

    def record(self, source: Any, kwargs: dict[str, Any]) -> None:
        if isinstance(source, Path | str):
            path = Path(source)
            with contextlib.suppress(OSError):
                source = path.read_bytes()
        arguments = {key: value for key, value in kwargs.items() if key != "workers"}
        arguments["source"] = source
        for key in ("officer_keys", "receipts"):
            if key in arguments:
                arguments[key] = list(arguments[key])
        self.calls.append((self._test, arguments))


def captured(tests: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(test id, verify_bundle arguments) of every call the tests make."""
    recorder = _Recorder()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[recorder])
    if code != 0:
        raise SystemExit(f"the tests failed (pytest exit code {code}): the corpus is incomplete")
    return recorder.calls


def build(corpus: Path, tests: Sequence[str]) -> int:
    """Write the corpus, one pickle per distinct bundle and arguments; returns the count."""
    corpus.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    index: list[str] = []
    items = [*simulations(), *(captured(tests) if tests else [])]
    for label, arguments in items:
        data = pickle.dumps(arguments, protocol=5)
        digest = hashlib.sha256(data).hexdigest()[:16]
        if digest in seen:
            continue
        seen.add(digest)
        name = f"{len(index):04d}-{digest}"
        (corpus / f"{name}.pickle").write_bytes(data)
        index.append(f"{name}\t{label}")
    (corpus / "index.tsv").write_text("\n".join(index) + "\n", encoding="utf-8")
    return len(index)


# ---------------------------------------------------------------------- reports


def report_all(corpus: Path, reports: Path) -> int:
    """Verify every corpus bundle with 1 and 2 workers; returns the number of reports."""
    from votes.cli.verify_cmd import render_report  # noqa: PLC0415
    from votes.record.verify import verify_bundle  # noqa: PLC0415

    reports.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(corpus.glob("*.pickle")):
        arguments = pickle.loads(path.read_bytes())  # our own corpus, written by build()
        for workers in WORKERS:
            report = verify_bundle(**arguments, workers=workers)
            stem = f"{path.stem}.w{workers}"
            (reports / f"{stem}.json").write_bytes(canonical_json(report.to_dict()) + b"\n")
            (reports / f"{stem}.txt").write_text(render_report(report) + "\n", encoding="utf-8")
            count += 1
    return count


def compare(first: Path, second: Path) -> int:
    """Print "identical" or the differing files; the exit status."""
    differences: list[str] = []
    compared = 0
    for folder in ("reports", "corpus"):
        a, b = first / folder, second / folder
        if not (a.is_dir() and b.is_dir()):
            if folder == "reports":
                differences.append(f"{a} or {b} is missing")
            continue
        names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
        for name in names:
            left, right = a / name, b / name
            if not left.exists() or not right.exists():
                differences.append(f"{folder}/{name}: only in {first if left.exists() else second}")
            elif left.read_bytes() != right.read_bytes():
                differences.append(f"{folder}/{name}: differs")
            compared += 1
    if differences:
        print("\n".join(differences))
        print(f"{len(differences)} of {compared} files differ")
        return 1
    print(f"identical ({compared} files)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", type=Path, help="output folder")
    parser.add_argument("--corpus", type=Path, help="verify this corpus instead of building one")
    parser.add_argument(
        "--tests", nargs="*", default=list(DEFAULT_TESTS), help="tests whose bundles to capture"
    )
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("an output folder or --compare is needed")
    corpus = args.corpus
    if corpus is None:
        corpus = args.out / "corpus"
        print(f"{build(corpus, args.tests)} bundles in {corpus}")
    print(f"{report_all(corpus, args.out / 'reports')} reports in {args.out / 'reports'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
