"""Running the checklist: :func:`verify_bundle` runs every check and returns the report.

The checks run in the order of ``_RUN_ORDER`` (the per-ballot work overlaps the
checks that need neither the Merkle tree nor the signatures) and are reported
in number order.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from votes.record.bundle import Bundle, BundleError, decode_bundle
from votes.record.receipt import Receipt
from votes.record.verify.checks import Checks
from votes.record.verify.checks.base import SkipError, VerifyOptions, VerifyState
from votes.record.verify.report import CHECKS, CheckResult, CheckSpec, Finding, Report, Status


def verify_bundle(
    source: Bundle | bytes | Path | str,
    *,
    service_key: str | None = None,
    officer_keys: Sequence[str] = (),
    receipts: Sequence[Receipt] = (),
    workers: int = 1,
) -> Report:
    """Run the checklist on a bundle (object, bytes, or path).

    ``service_key`` / ``officer_keys`` pin the C2SP key strings the verifier
    trusts (obtained out of band, e.g. from the subdistrict's notice board);
    without them the bundle's own keys are used.  ``receipts`` are voters'
    receipts to look up in the log.  ``workers`` > 1 checks Ed25519 signatures
    in that many processes.
    """
    # Verifying builds millions of small acyclic objects; the cyclic garbage
    # collector would rescan the growing heap many times over for nothing
    # (about a third of the time on a 100,000-ballot bundle).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _verify(
            source,
            VerifyOptions(
                service_key=service_key,
                officer_keys=tuple(officer_keys),
                receipts=tuple(receipts),
                workers=workers,
            ),
        )
    finally:
        if paused:
            gc.enable()


def _verify(source: Bundle | bytes | Path | str, options: VerifyOptions) -> Report:
    state = VerifyState()
    runner = Checks(state, options)
    results: list[CheckResult] = []
    try:
        state.bundle = source if isinstance(source, Bundle) else _load(source)
    except BundleError as exc:
        results.append(CheckResult(CHECKS[0], "fail", "", (Finding(None, str(exc)),)))
        results.extend(CheckResult(spec, "skip", "bundle unreadable") for spec in CHECKS[1:])
        return Report(meeting=None, checks=tuple(results))
    steps: dict[str, Callable[[list[Finding]], str]] = {
        "bundle": runner.bundle_check,
        "entries": runner.entries,
        "sequence": runner.sequence,
        "checkpoint": runner.checkpoint,
        "history": runner.history,
        "receipts": runner.receipts_check,
        "roster": runner.roster,
        "approval": runner.approval,
        "credentials": runner.credentials,
        "signatures": runner.signatures,
        "ballots": runner.ballots,
        "voting-period": runner.voting_period,
        "effective": runner.effective,
        "tally": runner.tally,
        "certification": runner.certification,
    }
    # The per-ballot work (leaf hashes, signatures) starts with check 2, in
    # worker processes when ``workers`` > 1, while the checks that need
    # neither run; the checks that need the Merkle tree or the signatures come
    # after. The results are reported in number order.
    order = [CHECKS[n - 1] for n in _RUN_ORDER]
    try:
        results.extend(_run(order, steps))
    finally:
        runner.close()
    results.sort(key=lambda result: result.spec.number)
    return Report(meeting=state.bundle.meeting, checks=tuple(results))


# Check numbers in the order they run (see _verify).
_RUN_ORDER = (1, 2, 3, 7, 9, 11, 12, 13, 14, 4, 5, 6, 8, 15, 10)


def _run(
    order: Sequence[CheckSpec], steps: Mapping[str, Callable[[list[Finding]], str]]
) -> list[CheckResult]:
    results: list[CheckResult] = []
    fatal = False
    for spec in order:
        if fatal:
            results.append(
                CheckResult(spec, "skip", "skipped: the bundle or its entries are unreadable")
            )
            continue
        findings: list[Finding] = []
        try:
            summary = steps[spec.name](findings)
        except SkipError as exc:
            results.append(CheckResult(spec, "skip", str(exc)))
            continue
        except Exception as exc:
            findings.append(Finding(None, f"cannot check: {type(exc).__name__}: {exc}"))
            summary = ""
        status: Status = "fail" if findings else "pass"
        results.append(CheckResult(spec, status, summary, tuple(findings)))
        if findings and spec.name in ("bundle", "entries"):
            fatal = True
    return results


def _load(source: bytes | Path | str) -> Bundle:
    if isinstance(source, bytes):
        return decode_bundle(source)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read bundle {source}: {exc}") from None
    return decode_bundle(data)
