"""The numbered verification checklist for a meeting bundle (docs/verification.md §Checks).

:func:`verify_bundle` runs every check in :data:`CHECKS` order and returns a
:class:`Report`; nothing here trusts the server.  The order is chosen so that
each kind of tampering is reported by the check designed for it, even when a
malicious server re-signs its own checkpoints and tally (it cannot forge
member or officer signatures).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import operator
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec
import nacl.bindings
import nacl.exceptions

from crypto.canonical import CanonicalError
from crypto.merkle import NodeId, ProofError, leaf_hash, node_hash, root_plan, verify_consistency
from crypto.notes import (
    Checkpoint,
    CosignatureVerifier,
    NoteError,
    NoteVerifier,
    open_note,
)
from crypto.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Domain, PublicKey, is_valid_point
from votes.duplicates import ByChoice, Conflict, Duplicate, resolve_by_choice
from votes.model import BallotRow, DuplicatePolicy, Motion, Roster, Unit
from votes.record.ballot import (
    BallotContext,
    BallotError,
    BallotErrorCode,
    ChoiceValue,
    check_ballot,
    check_choices,
    choice_text,
    hex_fields_ok,
)
from votes.record.bundle import Bundle, BundleError, decode_bundle
from votes.record.entries import (
    ApprovalEntry,
    BallotEntry,
    CertificationEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    EntryError,
    KeyBook,
    KeyBookError,
    NoticeEntry,
    ObjectionAnswerEntry,
    ObjectionEntry,
    OpenEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    PublicationEntry,
    ReturnEntry,
    RosterWire,
    TallyEntry,
    approval_body,
    certification_body,
    credential_change_entry_body,
    decode_entry,
    entry_bytes,
    entry_rows,
    motion_from_wire,
    objection_body,
    roster_from_wire,
    roster_root,
    signed_entry_body,
)
from votes.record.receipt import Receipt, ReceiptError, verify_receipt
from votes.record.wire import (
    FORMAT_VERSION,
    RepeatedKeyError,
    all_calendar_times,
    all_hex,
    all_times,
    canonical,
    format_time,
    is_hex,
    is_time,
    parse_time,
    plain_json,
    sha256_hex,
    strict_canonical,
)
from votes.roster import member_groups
from votes.rules import format_area
from votes.tally import tally_grouped
from votes.tally_json import result_to_dict

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "Finding",
    "Report",
    "SignatureJob",
    "verify_bundle",
    "verify_signatures",
]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    number: int
    name: str
    zh: str
    en: str


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(1, "bundle", "数据包格式与密钥", "bundle format and keys"),
    CheckSpec(2, "entries", "日志条目格式", "entry format"),
    CheckSpec(3, "sequence", "条目顺序与会议流程", "entry order and lifecycle"),
    CheckSpec(4, "checkpoint", "最新检查点与日志一致", "latest checkpoint matches the log"),
    CheckSpec(5, "history", "日志延续早期检查点", "log extends every earlier checkpoint"),
    CheckSpec(6, "receipts", "投票回执在日志中", "receipts are in the log"),
    CheckSpec(7, "roster", "业主名册与归并", "roster root and member grouping"),
    CheckSpec(8, "approval", "街道办审核签名", "officer approval"),
    CheckSpec(9, "credentials", "凭证作废与补发", "credential revocations and replacements"),
    CheckSpec(10, "signatures", "选票与异议签名", "ballot and objection signatures"),
    CheckSpec(11, "ballots", "选票内容与凭证", "ballot contents and credentials"),
    CheckSpec(12, "voting-period", "投票期", "voting period"),
    CheckSpec(13, "effective", "有效票（每户一票）", "effective ballots (one per member)"),
    CheckSpec(14, "tally", "计票结果重算一致", "tally recomputed and equal"),
    CheckSpec(15, "certification", "街道办确认签名", "officer certification"),
)

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a check; ``entry`` is the log index concerned, if any."""

    entry: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    spec: CheckSpec
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def entry(self) -> int | None:
        """The log index of the first finding that names one."""
        return next((f.entry for f in self.findings if f.entry is not None), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.spec.number,
            "name": self.spec.name,
            "title_zh": self.spec.zh,
            "title_en": self.spec.en,
            "status": self.status,
            "summary": self.summary,
            "entry": self.entry,
            "findings": [{"entry": f.entry, "message": f.message} for f in self.findings[:100]],
            "findings_total": len(self.findings),
        }


@dataclass(frozen=True, slots=True)
class Report:
    meeting: str | None
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status == "fail"), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "ok": self.ok,
            "meeting": self.meeting,
            "first_failure": None
            if first is None
            else {"number": first.spec.number, "name": first.spec.name, "entry": first.entry},
            "checks": [check.to_dict() for check in self.checks],
        }


class _SkipError(Exception):
    """A check cannot run because something it needs failed earlier."""


_BALLOT_KINDS = (BallotEntry, PaperBallotEntry, ProxyBallotEntry)
_MEMBER_SIGNED = (BallotEntry, ProxyBallotEntry)
_CREDENTIAL_CHANGES = (CredentialRevokedEntry, CredentialReplacedEntry)
_BallotKind = BallotEntry | PaperBallotEntry | ProxyBallotEntry
_VOTING = (
    BallotEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    CredentialRevokedEntry,
    CredentialReplacedEntry,
    ObjectionEntry,
    ObjectionAnswerEntry,
)
_BEFORE_OPEN = (
    CredentialRevokedEntry,
    CredentialReplacedEntry,
    ObjectionEntry,
    ObjectionAnswerEntry,
)
_AFTER_TALLY = (ObjectionEntry, ObjectionAnswerEntry)


@dataclass(slots=True)
class _Fixed:
    """A KeyLookup frozen at one point of the log (the key state when a ballot was logged)."""

    key: str
    member: str | None
    revoked: bool

    def member_for_key(self, key: str) -> str | None:
        return self.member if key == self.key else None

    def is_revoked(self, key: str) -> bool:
        return self.revoked if key == self.key else False


@dataclass(slots=True)
class _Cosigned:
    size: int
    root: bytes
    officers: set[str]


@dataclass(slots=True)
class _State:
    bundle: Bundle | None = None
    service: NoteVerifier | None = None
    officers: dict[str, CosignatureVerifier] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    nodes: Mapping[NodeId, bytes] = field(default_factory=dict)
    notice: NoticeEntry | None = None
    roster: Roster | None = None
    motions: dict[str, Motion] = field(default_factory=dict)
    verified: list[_Cosigned] = field(default_factory=list)
    key_state: dict[int, tuple[str | None, bool]] = field(default_factory=dict)
    bad_signatures: set[int] = field(default_factory=set)
    valid: dict[int, str] = field(default_factory=dict)  # ballot entry index -> member id
    # (member, entry, _ENCODE of its choices) of each counted ballot entry
    counted: list[tuple[str, _BallotKind, bytes]] = field(default_factory=list)


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
            service_key=service_key,
            officer_keys=officer_keys,
            receipts=receipts,
            workers=workers,
        )
    finally:
        if paused:
            gc.enable()


def _verify(
    source: Bundle | bytes | Path | str,
    *,
    service_key: str | None,
    officer_keys: Sequence[str],
    receipts: Sequence[Receipt],
    workers: int,
) -> Report:
    state = _State()
    runner = _Checks(
        state,
        service_key=service_key,
        officer_keys=tuple(officer_keys),
        receipts=tuple(receipts),
        workers=workers,
    )
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
        except _SkipError as exc:
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


def _hex(data: str) -> bytes:
    return bytes.fromhex(data)


class _Checks:
    def __init__(
        self,
        state: _State,
        *,
        service_key: str | None,
        officer_keys: tuple[str, ...],
        receipts: tuple[Receipt, ...],
        workers: int,
    ) -> None:
        self.s = state
        self.service_pin = service_key
        self.officer_pins = officer_keys
        self.receipt_list = receipts
        self.workers = workers
        self.ballot_job: _BallotJob | None = None
        self.ballot_work: _BallotWork | None = None
        self._by_type: dict[type, list[Entry]] | None = None
        self._ballots: list[_BallotKind] = []  # the ballot entries, in log order
        self._choice_keys: list[bytes] | None = None  # see _keys
        # id(tally entry) -> (the entry, its builtins as checked strictly by check 2)
        self._tally_data: dict[int, tuple[TallyEntry, dict[str, Any]]] = {}
        # id(notice entry) -> (the entry, its canonical bytes)
        self._notice_bytes: dict[int, tuple[NoticeEntry, bytes]] = {}

    # ------------------------------------------------------------------ helpers

    def _root(self, size: int) -> bytes:
        """Merkle root (RFC 9162) of the first ``size`` entries."""
        self._finish_ballot_work()
        return root_plan(size).assemble(self.s.nodes)

    def _leaves(self) -> list[bytes]:
        """Every entry's leaf hash, in log order."""
        self._finish_ballot_work()
        return self.s.leaves

    def _finish_ballot_work(self) -> _BallotWork:
        """Wait for (or do) the per-ballot work; complete the leaves and the Merkle nodes."""
        if self.ballot_work is None:
            job = self.ballot_job
            if job is None:
                raise _SkipError("skipped: entries unreadable")
            work = self.ballot_work = job.result()
            leaves = self.s.leaves
            for position, leaf in zip(work.positions, work.leaves, strict=True):
                leaves[position] = leaf
            self.s.nodes = _PerfectNodes(leaves)
        return self.ballot_work

    def close(self) -> None:
        if self.ballot_job is not None:
            self.ballot_job.close()

    def _of(self, kind: type[Any]) -> list[Any]:
        """The entries of one type, in log order (entry types have no subclasses)."""
        if self._by_type is None:
            self._by_type = {}
            for entry in self.s.entries:
                self._by_type.setdefault(type(entry), []).append(entry)
        return self._by_type.get(kind, [])

    def _keys(self) -> list[bytes]:
        """Each ballot entry's choices as _ENCODE gives them: checks 11 and 13 and the recount
        use them to tell apart the few thousand distinct choices among 100,000 ballots."""
        if self._choice_keys is None:
            encode = _ENCODE
            self._choice_keys = [encode(_choices(entry)) for entry in self._ballots]
        return self._choice_keys

    def _need_notice(self) -> NoticeEntry:
        if self.s.notice is None:
            raise _SkipError("skipped: the log has no notice entry at index 0")
        return self.s.notice

    # ------------------------------------------------------------------ 1

    def bundle_check(self, findings: list[Finding]) -> str:
        b = self.s.bundle
        assert b is not None
        if not b.meeting:
            findings.append(Finding(None, "bundle names no meeting"))
        if not b.origin or "\n" in b.origin:
            findings.append(Finding(None, f"bad log origin {b.origin!r}"))
        try:
            self.s.service = NoteVerifier.from_key_string(b.service_key)
        except NoteError as exc:
            findings.append(Finding(None, f"service key: {exc}"))
        if self.service_pin is not None and b.service_key != self.service_pin:
            findings.append(
                Finding(
                    None, f"service key {b.service_key!r} is not the trusted {self.service_pin!r}"
                )
            )
        for officer in b.officers:
            try:
                verifier = CosignatureVerifier.from_key_string(officer.key)
            except NoteError as exc:
                findings.append(Finding(None, f"officer {officer.name!r}: {exc}"))
                continue
            if verifier.name != officer.name:
                findings.append(
                    Finding(None, f"officer {officer.name!r} has a key named {verifier.name!r}")
                )
            if officer.name in self.s.officers:
                findings.append(Finding(None, f"officer {officer.name!r} is listed twice"))
            if self.officer_pins and officer.key not in self.officer_pins:
                findings.append(
                    Finding(None, f"officer key {officer.key!r} is not among the trusted keys")
                )
            self.s.officers[officer.name] = verifier
        pinned = "pinned" if self.service_pin else "from the bundle (not pinned)"
        return (
            f"meeting {b.meeting}, {len(b.entries)} entries, service key {pinned}, "
            f"{len(b.officers)} officer key(s)"
        )

    # ------------------------------------------------------------------ 2

    def entries(self, findings: list[Finding]) -> str:
        b = self.s.bundle
        assert b is not None
        service = self.s.service
        self.ballot_job = _BallotJob(
            b.entries,
            paper_key=None if service is None else service.public_key,
            workers=self.workers,
        )
        entries: list[Entry] = []
        leaves: list[bytes] = []
        times: list[str] = []
        raw_of = msgspec.Raw
        for position, raw in enumerate(b.entries):
            try:
                entry = decode_entry(raw)
                # Ballot entries' leaves come from the ballot work (their bytes cannot fail).
                if isinstance(entry, _BALLOT_KINDS):
                    leaf = b""
                    data = canonical(entry)
                elif isinstance(entry, TallyEntry):
                    # entry_bytes' strict form, kept: the tally check signs the same data.
                    builtins = msgspec.to_builtins(entry)
                    data = strict_canonical(builtins)
                    leaf = leaf_hash(data)
                    self._tally_data[id(entry)] = (entry, builtins)
                elif isinstance(entry, NoticeEntry):
                    # Kept: the roster check hashes the roster's bytes inside them.
                    data = entry_bytes(entry)
                    leaf = leaf_hash(data)
                    self._notice_bytes[id(entry)] = (entry, data)
                else:
                    data = entry_bytes(entry)
                    leaf = leaf_hash(data)
            except (EntryError, ValueError) as exc:
                findings.append(Finding(position, f"entry {position}: {exc}"))
                continue
            # Canonical text (what the reference writer embeds) is the data it encodes;
            # other text is read again, exactly, to refuse repeated keys and left-out fields.
            if raw != raw_of(data):
                problem = _text_problem(raw, data)
                if problem is not None:
                    findings.append(Finding(position, f"entry {position}: {problem}"))
            if entry.meeting != b.meeting:
                findings.append(
                    Finding(position, f"entry {position} is for meeting {entry.meeting!r}")
                )
            if not isinstance(entry, _BALLOT_KINDS):
                findings.extend(
                    Finding(position, f"entry {position}: {problem}")
                    for problem in _format_problems(entry)
                )
            times.append(entry.time)
            if isinstance(entry, _MORE_TIMES):
                times.extend(getattr(entry, name) for name in _time_fields(entry)[1:])
            entries.append(entry)
            leaves.append(leaf)
        if not b.entries:
            findings.append(Finding(None, "the bundle has no entries"))
        if not all_times(times):  # one regex pass; find the culprit only when needed
            for entry in entries:
                for name in _time_fields(entry):
                    value = getattr(entry, name)
                    if not is_time(value):
                        findings.append(
                            Finding(
                                entry.index,
                                f"entry {entry.index}: {name} {value!r} is not "
                                "YYYY-MM-DDTHH:MM:SSZ",
                            )
                        )
        self.s.entries = entries
        self.s.leaves = leaves
        self._ballots = [entry for entry in entries if isinstance(entry, _BALLOT_KINDS)]
        self.ballot_job.use(entries)
        if entries and isinstance(entries[0], NoticeEntry):
            self.s.notice = entries[0]
            self.s.motions = {m.id: motion_from_wire(m) for m in entries[0].agenda}
        counts = Counter(map(type, entries))
        ballots = counts[BallotEntry] + counts[PaperBallotEntry] + counts[ProxyBallotEntry]
        return f"{len(entries)} entries parsed, {ballots} ballots"

    # ------------------------------------------------------------------ 3

    def sequence(self, findings: list[Finding]) -> str:
        entries = self.s.entries
        times = [entry.time for entry in entries]
        # Usually the indices count up and the times never go back (then no
        # time is before the latest earlier one): two C-level comparisons.
        if [entry.index for entry in entries] != list(range(len(entries))) or not all(
            map(operator.le, times, times[1:])
        ):
            previous = ""
            for position, entry in enumerate(entries):
                if entry.index != position:
                    findings.append(
                        Finding(position, f"entry at position {position} says index {entry.index}")
                    )
                if entry.time < previous:
                    findings.append(
                        Finding(
                            position, f"entry {position} time {entry.time} is before {previous}"
                        )
                    )
                previous = max(previous, entry.time)
        phase = "start"
        objections: dict[int, bool] = {}
        # _transition depends on the phase and the entry's type only.
        steps: dict[tuple[str, type], tuple[bool, str]] = {}
        for position, entry in enumerate(entries):
            kind = type(entry)
            step = steps.get((phase, kind))
            if step is None:
                step = steps[phase, kind] = _transition(phase, entry)
            allowed, phase_after = step
            if not allowed:
                findings.append(
                    Finding(
                        position, f"entry {position} ({_tag(kind)}) is not allowed after {phase}"
                    )
                )
            else:
                phase = phase_after
            if kind is ObjectionEntry:
                objections[position] = False
            elif isinstance(entry, ObjectionAnswerEntry):
                if objections.get(entry.objection) is not False:
                    findings.append(
                        Finding(
                            position,
                            f"answer {position} refers to {entry.objection}, "
                            "which is not an earlier unanswered objection",
                        )
                    )
                else:
                    objections[entry.objection] = True
        counts = Counter(map(type, entries))
        return f"lifecycle reached '{phase}'; " + ", ".join(
            f"{k} {v}" for k, v in sorted((_tag(kind), n) for kind, n in counts.items())
        )

    # ------------------------------------------------------------------ 4

    def _open(self, note: str) -> tuple[Checkpoint, set[str]]:
        """Verify a checkpoint note: service signature required, officer cosignatures checked."""
        assert self.s.service is not None
        verifiers: list[NoteVerifier] = [self.s.service, *self.s.officers.values()]
        opened = open_note(note, verifiers)
        names = {sig.name for sig in opened.signatures}
        if self.s.service.name not in names:
            raise NoteError("the checkpoint lacks the service's signature")
        checkpoint = Checkpoint.parse(opened.text)
        bundle = self.s.bundle
        assert bundle is not None
        if checkpoint.origin != bundle.origin:
            raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {bundle.origin!r}")
        return checkpoint, names - {self.s.service.name}

    def checkpoint(self, findings: list[Finding]) -> str:
        if self.s.service is None:
            raise _SkipError("skipped: no usable service key")
        b = self.s.bundle
        assert b is not None
        try:
            checkpoint, officers = self._open(b.checkpoint)
        except NoteError as exc:
            findings.append(Finding(None, f"latest checkpoint: {exc}"))
            return ""
        size = len(self.s.entries)
        if checkpoint.size != size:
            findings.append(
                Finding(None, f"latest checkpoint has size {checkpoint.size}, the log {size}")
            )
        elif checkpoint.root_hash != self._root(size):
            findings.append(
                Finding(
                    None,
                    f"latest checkpoint root {checkpoint.root_hash.hex()} differs from the "
                    f"log's Merkle root {self._root(size).hex()}",
                )
            )
        else:
            self.s.verified.append(_Cosigned(size, checkpoint.root_hash, officers))
        return f"size {checkpoint.size}, root {checkpoint.root_hash.hex()[:16]}…"

    # ------------------------------------------------------------------ 5

    def history(self, findings: list[Finding]) -> str:
        if self.s.service is None:
            raise _SkipError("skipped: no usable service key")
        b = self.s.bundle
        assert b is not None
        size2 = len(self.s.entries)
        root2 = self._root(size2) if size2 else b""
        try:
            latest_root = Checkpoint.parse(b.checkpoint.split("\n\n", 1)[0] + "\n").root_hash
        except (NoteError, ValueError):
            latest_root = root2
        for number, earlier in enumerate(b.checkpoints):
            try:
                checkpoint, officers = self._open(earlier.note)
            except NoteError as exc:
                findings.append(Finding(None, f"checkpoint #{number}: {exc}"))
                continue
            size1 = checkpoint.size
            if not 0 < size1 <= size2:
                findings.append(
                    Finding(None, f"checkpoint #{number} has size {size1}; the log has {size2}")
                )
                continue
            if checkpoint.root_hash != self._root(size1):
                findings.append(
                    Finding(
                        size1 - 1,
                        f"checkpoint #{number} (size {size1}) root "
                        f"{checkpoint.root_hash.hex()} is not the root of the log's first "
                        f"{size1} entries: the log is not an extension of it",
                    )
                )
                continue
            try:
                verify_consistency(
                    size1=size1,
                    size2=size2,
                    proof=[_hex(h) for h in earlier.consistency],
                    root1=checkpoint.root_hash,
                    root2=latest_root,
                )
            except (ProofError, ValueError) as exc:
                findings.append(
                    Finding(None, f"checkpoint #{number} (size {size1}) consistency proof: {exc}")
                )
                continue
            self.s.verified.append(_Cosigned(size1, checkpoint.root_hash, officers))
        return f"{len(b.checkpoints)} earlier checkpoint(s) consistent with the log"

    # ------------------------------------------------------------------ 6

    def receipts_check(self, findings: list[Finding]) -> str:
        if not self.receipt_list:
            return "no receipts given (use --receipt to check yours)"
        if self.s.service is None:
            raise _SkipError("skipped: no usable service key")
        b = self.s.bundle
        assert b is not None
        size = len(self.s.entries)
        for number, receipt in enumerate(self.receipt_list):
            body = receipt.body
            try:
                checkpoint = verify_receipt(receipt, service=self.s.service, origin=b.origin)
            except ReceiptError as exc:
                findings.append(Finding(body.index, f"receipt #{number}: {exc}"))
                continue
            if body.meeting != b.meeting:
                findings.append(Finding(None, f"receipt #{number} is for meeting {body.meeting}"))
                continue
            if body.index >= size or self._leaves()[body.index].hex() != body.entry:
                findings.append(
                    Finding(
                        body.index,
                        f"receipt #{number} ({receipt.tracking_code}): the log has no such "
                        f"entry at index {body.index} — the ballot is missing or moved",
                    )
                )
                continue
            if checkpoint is not None and (
                checkpoint.size > size or self._root(checkpoint.size) != checkpoint.root_hash
            ):
                findings.append(
                    Finding(
                        None,
                        f"receipt #{number}: the log does not extend the receipt's checkpoint "
                        f"of size {checkpoint.size}",
                    )
                )
        return f"{len(self.receipt_list)} receipt(s) found in the log"

    # ------------------------------------------------------------------ 7

    def roster(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        wire = notice.roster
        kept = self._notice_bytes.get(id(notice))
        if kept is not None and kept[0] is notice:
            computed = sha256_hex(_roster_slice(kept[1]))
        else:
            computed = roster_root(wire)
        if computed != notice.roster_root:
            findings.append(
                Finding(0, f"roster hashes to {computed}, but the notice says {notice.roster_root}")
            )
        ids = [member.id for member in wire.members]
        keys = [member.key for member in wire.members]
        if len(set(ids)) != len(ids) or len(set(keys)) != len(keys):
            seen_ids: set[str] = set()
            seen_keys: set[str] = set()
            for member in wire.members:
                if member.id in seen_ids:
                    findings.append(Finding(0, f"member id {member.id!r} repeats"))
                if member.key in seen_keys:
                    findings.append(Finding(0, f"credential key {member.key} is listed twice"))
                seen_ids.add(member.id)
                seen_keys.add(member.key)
        findings.extend(Finding(0, problem) for problem in _roster_format_problems(wire))
        roster = roster_from_wire(wire)
        self.s.roster = roster
        units = [u for m in roster.members for u in m.units]
        try:
            regrouped = member_groups(units)
        except ValueError as exc:
            findings.append(Finding(0, f"roster units: {exc}"))
            return ""
        # Units are listed sorted by number, as the grouping sorts them. Both
        # hold the same Unit objects, whose numbers are unique (else the
        # grouping refused them): equal unit tuples are equal numbers.
        if {m.id: (m.is_developer, m.units) for m in roster.members} == regrouped:
            return self._roster_summary(roster, units)
        listed = {m.id: (m.is_developer, [u.number for u in m.units]) for m in roster.members}
        expected = {
            member_id: (developer, [u.number for u in units])
            for member_id, (developer, units) in regrouped.items()
        }
        for member_id in sorted(set(listed) | set(expected)):
            if listed.get(member_id) != expected.get(member_id):
                want = expected.get(member_id)
                got = listed.get(member_id)
                findings.append(
                    Finding(
                        0,
                        f"member {member_id!r}: roster lists {_describe(got)}, but grouping "
                        f"the units by owner tags gives {_describe(want)}",
                    )
                )
                break
        return self._roster_summary(roster, units)

    @staticmethod
    def _roster_summary(roster: Roster, units: list[Unit]) -> str:
        """``units``: every member's units."""
        area = sum(map(_AREA, units))
        return f"{len(roster.members)} members (heads), {len(units)} units, {format_area(area)} m²"

    # ------------------------------------------------------------------ 8

    def approval(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        approvals = self._of(ApprovalEntry)
        if not approvals:
            findings.append(Finding(None, "the log has no approval entry"))
            return ""
        entry: ApprovalEntry = approvals[0]
        if not self._officer_signed(
            findings,
            entry,
            Domain.APPROVAL,
            approval_body(
                meeting=entry.meeting, notice=entry.notice, roster_root=entry.roster_root
            ),
        ):
            return ""
        if entry.notice != self._leaves()[0].hex():
            findings.append(Finding(entry.index, "approval names a different notice entry hash"))
        if entry.roster_root != notice.roster_root:
            findings.append(Finding(entry.index, "approval names a different roster root"))
        # The cosignature that approves is the one made before voting opened: a later one
        # (at certification, say) would let a server drop the approval's cosignature.
        opens = self._of(OpenEntry)
        limit = opens[0].index if opens else len(self.s.entries)
        if not any(
            entry.index < c.size <= limit and entry.officer in c.officers for c in self.s.verified
        ):
            findings.append(
                Finding(
                    entry.index,
                    f"no checkpoint covering the approval and made before voting opened "
                    f"(size {entry.index + 1} to {limit}) is cosigned by {entry.officer!r}",
                )
            )
        return f"approved by {entry.officer} at {entry.time}"

    def _officer_signed(
        self,
        findings: list[Finding],
        entry: ApprovalEntry
        | CertificationEntry
        | ReturnEntry
        | CredentialRevokedEntry
        | CredentialReplacedEntry,
        domain: Domain,
        body: bytes,
    ) -> bool:
        verifier = self.s.officers.get(entry.officer)
        if verifier is None:
            findings.append(Finding(entry.index, f"officer {entry.officer!r} is not in the bundle"))
            return False
        if verifier.key_id.hex() != entry.key_id:
            findings.append(Finding(entry.index, f"officer key id {entry.key_id} does not match"))
            return False
        if not verifier.public_key.verify(domain, body, _hex(entry.signature)):
            findings.append(
                Finding(
                    entry.index,
                    f"the {entry.officer!r} signature on entry {entry.index} is invalid",
                )
            )
            return False
        return True

    # ------------------------------------------------------------------ 9

    def credentials(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        try:
            book = KeyBook.from_roster(notice.roster)
        except KeyBookError as exc:
            findings.append(Finding(0, str(exc)))
            return ""
        entries = self.s.entries
        changes = [(p, e) for p, e in enumerate(entries) if isinstance(e, _CREDENTIAL_CHANGES)]
        # Between two credential changes the keys stand still: the ballots in
        # between are looked up together.
        start = 0
        for position, change in changes:
            self._key_states(entries[start:position], book)
            # The service cannot make this signature: without it a server could
            # swap in a key of its own for a member who has not voted yet.
            self._officer_signed(
                findings, change, Domain.CREDENTIAL_CHANGE, credential_change_entry_body(change)
            )
            if isinstance(change, CredentialReplacedEntry) and not is_valid_point(
                _hex(change.new_key)
            ):
                findings.append(
                    Finding(change.index, f"new key {change.new_key} is not a valid Ed25519 point")
                )
            try:
                book.apply(change)
            except KeyBookError as exc:
                findings.append(Finding(change.index, str(exc)))
            start = position + 1
        self._key_states(entries[start:], book)
        return f"{len(changes)} revocation/replacement entries consistent and officer-signed"

    def _key_states(self, entries: list[Entry], book: KeyBook) -> None:
        """Record the key state of the member-signed ballots among ``entries`` (in log order)."""
        signed = [entry for entry in entries if isinstance(entry, _MEMBER_SIGNED)]
        keys = [entry.ballot.member for entry in signed]
        self.s.key_state.update(
            zip(
                [entry.index for entry in signed],
                zip(map(book.active.get, keys), map(book.owner.__contains__, keys), strict=True),
                strict=True,
            )
        )

    # ------------------------------------------------------------------ 10

    def signatures(self, findings: list[Finding]) -> str:
        work = self._finish_ballot_work()
        if work.paper_errors:
            # A paper ballot's signature that is not hex cannot be checked at all.
            raise ValueError(min(work.paper_errors)[1])
        bad = set(work.bad)
        for index in sorted(bad):
            findings.append(
                Finding(index, f"the signature on ballot entry {index} does not verify")
            )
        self.s.bad_signatures = bad
        summary = (
            f"{work.member_signatures} member signatures and {work.paper_signatures} "
            "paper-ballot service signatures valid"
        )
        objections = self._of(ObjectionEntry)
        if objections:
            signed = self._objection_signatures(findings, objections)
            summary += (
                f"; {signed} owner objection signature(s) valid, "
                f"{len(objections) - signed} objection(s) recorded by staff"
            )
        return summary

    def _objection_signatures(
        self, findings: list[Finding], objections: list[ObjectionEntry]
    ) -> int:
        """Check 10 for objections (docs/verification.md §objection): each is either
        recorded by named staff or signed by the owner; an owner's signature
        verifies over the objection body rebuilt from the entry, by the key that
        was the named member's active key at that position; no member's nonce
        repeats (a replayed request). Returns how many owner signatures verified."""
        notice = self._need_notice()
        members = {m.id for m in notice.roster.members}
        try:
            book: KeyBook | None = KeyBook.from_roster(notice.roster)
        except KeyBookError:
            book = None  # check 9 reports it; keys cannot be placed in time
        # Objections and credential changes are few: take them in log order,
        # moving the key book past each change (an inconsistent change is
        # check 9's finding), and note who held each objection's key then.
        key_holder: dict[int, str | None] = {}
        if book is not None:
            changes: list[Entry] = [*self._of(CredentialRevokedEntry)]
            changes += self._of(CredentialReplacedEntry)
            events = sorted([*changes, *objections], key=lambda e: e.index)
            for entry in events:
                if isinstance(entry, _CREDENTIAL_CHANGES):
                    with contextlib.suppress(KeyBookError):
                        book.apply(entry)
                elif isinstance(entry, ObjectionEntry) and entry.key is not None:
                    key_holder[entry.index] = book.active.get(entry.key)
        nonces: set[tuple[str, str]] = set()
        signed = 0
        for entry in objections:
            at = entry.index
            owner = (entry.key, entry.nonce, entry.signature)
            if entry.staff is not None:
                if owner != (None, None, None):
                    findings.append(
                        Finding(at, f"objection {at} is recorded by staff but carries owner fields")
                    )
                elif entry.member is not None and entry.member not in members:
                    findings.append(
                        Finding(at, f"objection {at} names unknown member {entry.member!r}")
                    )
                continue
            if entry.key is None or entry.nonce is None or entry.signature is None:
                findings.append(
                    Finding(
                        at, f"objection {at} is neither recorded by staff nor signed by an owner"
                    )
                )
                continue
            if not (
                is_hex(entry.key, 64) and is_hex(entry.nonce, 32) and is_hex(entry.signature, 128)
            ):
                findings.append(
                    Finding(at, f"objection {at}: key, nonce or signature is not lower-case hex")
                )
                continue
            holder = key_holder.get(at) if book is not None else None
            if entry.member is None or holder != entry.member:
                findings.append(
                    Finding(
                        at,
                        f"objection {at}: key {entry.key[:16]}… is not the active credential "
                        f"of member {entry.member!r} at that point of the log",
                    )
                )
                continue
            body = objection_body(
                meeting=entry.meeting,
                key=entry.key,
                subject=entry.subject,
                document=entry.document,
                nonce=entry.nonce,
            )
            try:
                valid = PublicKey.from_hex(entry.key).verify(
                    Domain.OBJECTION, body, _hex(entry.signature)
                )
            except (ValueError, nacl.exceptions.CryptoError):
                valid = False
            if not valid:
                findings.append(
                    Finding(at, f"the owner's signature on objection {at} does not verify")
                )
                continue
            if (entry.member, entry.nonce) in nonces:
                findings.append(
                    Finding(
                        at,
                        f"objection {at} repeats an earlier objection nonce of member "
                        f"{entry.member!r} (a replayed request)",
                    )
                )
                continue
            nonces.add((entry.member, entry.nonce))
            signed += 1
        return signed

    # ------------------------------------------------------------------ 11

    def ballots(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        motions = self.s.motions
        members = {m.id for m in notice.roster.members}
        cap = notice.settings.proxy_cap
        holders: dict[str, set[str]] = {}
        allowed = _AllowedChoices(motions)
        meeting, root = notice.meeting, notice.roster_root
        key_state, valid = self.s.key_state, self.s.valid
        ballots = [e.ballot for e in self._ballots if isinstance(e, _MEMBER_SIGNED)]
        # Usually every ballot's hex fields are fine: one check for all of them.
        hex_ok = all_hex([text for b in ballots for text in (b.member, b.roster_root, b.nonce)])
        # The entries' own hex fields (signature, sheet, authorisation, holder) likewise.
        texts = [e.signature for e in self._ballots]
        texts += [t for e in self._ballots if type(e) is not BallotEntry for t in _entry_hex(e)]
        entries_hex_ok = all_hex(texts)
        for entry, key in zip(self._ballots, self._keys(), strict=True):
            try:
                if not entries_hex_ok and not all_hex(_entry_hex(entry)):
                    raise BallotError(
                        BallotErrorCode.MALFORMED,
                        "",
                        "the entry's signature, sheet, authorisation or holder is not "
                        "lower-case hex",
                    )
                if isinstance(entry, PaperBallotEntry):
                    if entry.member not in members:
                        raise BallotError(
                            BallotErrorCode.UNKNOWN_MEMBER,
                            "",
                            f"paper ballot for unknown member {entry.member!r}",
                        )
                    if not allowed.all(entry.choices, key, paper=True):
                        check_choices(entry.choices, motions, paper=True)
                    member = entry.member
                else:
                    ballot = entry.ballot
                    holder, revoked = key_state.get(entry.index, (None, False))
                    if (
                        holder is not None
                        and ballot.v == 1
                        and ballot.meeting == meeting
                        and ballot.roster_root == root
                        and allowed.all(ballot.choices, key, paper=False)
                        and (hex_ok or hex_fields_ok(ballot))
                    ):
                        member = holder  # what the checks below return when all pass
                    else:
                        context = BallotContext(
                            meeting=meeting,
                            roster_root=root,
                            motions=motions,
                            keys=_Fixed(ballot.member, holder, revoked),
                        )
                        if ballot.v != 1 or not hex_fields_ok(ballot):
                            raise BallotError(
                                BallotErrorCode.MALFORMED,
                                "",
                                "ballot version or hex fields malformed",
                            )
                        member = check_ballot(ballot, context=context)
            except BallotError as exc:
                findings.append(
                    Finding(entry.index, f"entry {entry.index}: {exc.code}: {exc.message_en}")
                )
                continue
            if isinstance(entry, ProxyBallotEntry):
                holders.setdefault(entry.holder, set()).add(member)
            valid[entry.index] = member
        if cap is not None:
            for holder, voted_for in sorted(holders.items()):
                if len(voted_for) > cap:
                    findings.append(
                        Finding(
                            None,
                            f"proxy holder {holder} voted for {len(voted_for)} members; "
                            f"the cap is {cap}",
                        )
                    )
        return f"{len(self.s.valid)} ballots valid against the roster and agenda"

    # ------------------------------------------------------------------ 12

    def voting_period(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        approvals = self._of(ApprovalEntry)
        self._schedule(findings, notice, approvals[0] if approvals else None)
        opens = self._of(OpenEntry)
        closings = self._of(ClosingEntry)
        opened: OpenEntry | None = opens[0] if opens else None
        closing: ClosingEntry | None = closings[0] if closings else None
        if opened is None:
            findings.append(Finding(None, "the log has no open entry: voting never opened"))
        elif opened.time < notice.open_at:
            findings.append(
                Finding(opened.index, f"voting opened at {opened.time}, before {notice.open_at}")
            )
        if closing is None:
            # An export of a meeting still open: its ballots are checked all the same.
            findings.append(Finding(None, "the log has no closing entry: voting has not closed"))
        else:
            if closing.closed_at != notice.close_at:
                findings.append(
                    Finding(
                        closing.index,
                        f"closing names deadline {closing.closed_at}, the notice {notice.close_at}",
                    )
                )
            if closing.time < notice.close_at:
                findings.append(
                    Finding(
                        closing.index,
                        f"voting closed at {closing.time}, before the deadline {notice.close_at}",
                    )
                )
            if closing.log_size != closing.index + 1:
                findings.append(
                    Finding(
                        closing.index,
                        f"closing says log size {closing.log_size}, "
                        f"but it is entry {closing.index}",
                    )
                )
        first = -1 if opened is None else opened.index
        last = len(self.s.entries) if closing is None else closing.index
        open_at, close_at = notice.open_at, notice.close_at
        for entry in self._ballots:
            if not first < entry.index < last:
                findings.append(
                    Finding(
                        entry.index,
                        f"ballot entry {entry.index} is outside the voting period "
                        f"(entries {first}..{last})",
                    )
                )
            elif not open_at <= entry.time < close_at:
                findings.append(
                    Finding(
                        entry.index,
                        f"ballot entry {entry.index} time {entry.time} is outside "
                        f"{open_at}..{close_at}",
                    )
                )
            elif type(entry) is PaperBallotEntry and not open_at <= entry.entered_at <= entry.time:
                findings.append(
                    Finding(
                        entry.index,
                        f"paper ballot {entry.index} entered at {entry.entered_at}, not between "
                        f"the opening {open_at} and its logging {entry.time}",
                    )
                )
        shown_open = "never" if opened is None else f"{opened.time} (entry {opened.index})"
        shown_close = "not yet" if closing is None else f"{closing.time} (entry {closing.index})"
        return f"open {shown_open} to close {shown_close}"

    @staticmethod
    def _schedule(
        findings: list[Finding], notice: NoticeEntry, approval: ApprovalEntry | None
    ) -> None:
        """The notice's instants against the schedule rules its settings record (docs/legal.md §3).

        The notice period runs from the later of ``notice_at`` and the approval: the
        service posts a notice only once the officer has approved it.
        """
        settings = notice.settings
        rules = {
            "notice_days": settings.notice_days,
            "voting_min_days": settings.voting_min_days,
            "voting_max_days": settings.voting_max_days,
        }
        missing = [name for name, value in rules.items() if value is None]
        if missing:
            findings.append(Finding(0, f"the notice's settings do not record {', '.join(missing)}"))
        notice_at, open_at, close_at = (
            parse_time(notice.notice_at),
            parse_time(notice.open_at),
            parse_time(notice.close_at),
        )
        if not notice_at <= open_at < close_at:
            findings.append(Finding(0, "the notice needs notice_at <= open_at < close_at"))
            return
        day = timedelta(days=1)
        posted, since = notice_at, f"the notice {notice.notice_at}"
        if approval is not None and parse_time(approval.time) > posted:
            posted, since = parse_time(approval.time), f"the approval {approval.time}"
        if settings.notice_days is not None and open_at - posted < settings.notice_days * day:
            findings.append(
                Finding(
                    0,
                    f"voting opens {notice.open_at}, less than notice_days = "
                    f"{settings.notice_days} days after {since}",
                )
            )
        low, high = settings.voting_min_days, settings.voting_max_days
        if low is not None and high is not None and low > high:
            findings.append(Finding(0, f"voting_min_days {low} exceeds voting_max_days {high}"))
        window = close_at - open_at
        if low is not None and window < low * day:
            findings.append(
                Finding(0, f"the voting period {window} is shorter than voting_min_days = {low}")
            )
        if high is not None and window > high * day:
            findings.append(
                Finding(0, f"the voting period {window} is longer than voting_max_days = {high}")
            )

    # ------------------------------------------------------------------ 13

    def effective(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        settings = notice.settings
        sheets: dict[str, int] = {}
        # A replay repeats the ballot's bytes, so also its nonce: only ballots
        # with the same nonce need their canonical bytes compared.
        by_nonce: dict[str, BallotEntry | ProxyBallotEntry] = {}  # the first with each nonce
        other_bytes: dict[str, list[BallotEntry | ProxyBallotEntry]] = {}  # its later ones
        counted: list[tuple[str, _BallotKind, bytes]] = []
        valid = self.s.valid
        # The time of a row: check 2 matched it against the pattern, but the
        # calendar can still refuse it (as building the row would). Usually
        # every ballot's time is fine, checked at once; else each, in order.
        times_ok = all_calendar_times([e.time for e in self._ballots])
        for entry, key in zip(self._ballots, self._keys(), strict=True):
            if isinstance(entry, PaperBallotEntry):
                first = sheets.get(entry.sheet)
                if first is None:
                    sheets[entry.sheet] = entry.index
            else:
                first = None
                nonce = entry.ballot.nonce
                earliest = by_nonce.setdefault(nonce, entry)
                if earliest is not entry:
                    data = canonical(entry.ballot)
                    later = other_bytes.setdefault(nonce, [])
                    first = next(
                        (e.index for e in (earliest, *later) if canonical(e.ballot) == data), None
                    )
                    if first is None:
                        later.append(entry)
            if first is not None:
                findings.append(
                    Finding(
                        entry.index,
                        f"entry {entry.index} repeats the ballot of entry {first} (replay)",
                    )
                )
                continue
            member = valid.get(entry.index)
            if member is None:
                continue
            if not times_ok:
                datetime.fromisoformat(entry.time)
            counted.append((member, entry, key))
        per_member = Counter(map(_MEMBER, counted))
        limit = settings.max_changes
        if settings.duplicate_policy == DuplicatePolicy.LATEST_WINS and limit is not None:
            # Sorted by member: only the few over the limit (sorting 100,000 costs).
            over = sorted((m, count) for m, count in per_member.items() if count > limit + 1)
            findings.extend(
                Finding(
                    None,
                    f"member {member!r} has {count} ballots; at most {limit} change(s) are allowed",
                )
                for member, count in over
            )
        policy = settings.duplicate_policy
        if policy == DuplicatePolicy.ONE_VOTE_ONLY:
            # The service refuses a second ballot under one-vote-only, so a log with one
            # holds a ballot the service never accepted (it would not be counted either).
            findings.extend(
                Finding(None, f"member {member!r} has {count} ballots; one-vote-only allows one")
                for member, count in sorted(per_member.items())
                if count > 1
            )
        elif policy in (DuplicatePolicy.ONLINE_PREVAILS, DuplicatePolicy.PAPER_PREVAILS):
            # The prevails policies take one ballot per channel (online, paper, proxy).
            several = [m for m, count in per_member.items() if count > 1]
            if several:
                per_channel = Counter((member, _tag(type(entry))) for member, entry, _ in counted)
                findings.extend(
                    Finding(
                        None,
                        f"member {member!r} has {count} {kind} ballots; "
                        f"{policy.value} allows one per channel",
                    )
                    for (member, kind), count in sorted(per_channel.items())
                    if count > 1
                )
        self.s.counted = counted
        changed = sum(1 for c in per_member.values() if c > 1)
        return (
            f"{len(per_member)} members voted, {changed} with more than one ballot; "
            f"policy {settings.duplicate_policy.value}"
        )

    # ------------------------------------------------------------------ 14

    def tally(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        tallies = self._of(TallyEntry)
        closings = self._of(ClosingEntry)
        if not tallies or not closings:
            findings.append(Finding(None, "the log has no tally (or no closing) entry"))
            return ""
        entry: TallyEntry = tallies[0]
        size = closings[0].index + 1
        if self.s.roster is None:
            raise _SkipError("skipped: no roster")
        # The recount first: it needs nothing from the ballot work still under way.
        result: dict[str, Any] = {}
        failure: Exception | None = None
        try:
            grouped, rows = _grouped_rows(
                [item for item in self.s.counted if item[1].index < size],
                notice.settings.duplicate_policy,
            )
            result = result_to_dict(
                tally_grouped(
                    roster=self.s.roster,
                    motions=[motion_from_wire(m) for m in notice.agenda],
                    grouped=grouped,
                    settings=notice.settings.tally_settings(),
                )
            )
        except Exception as exc:  # reported after the findings that come before it
            failure = exc
        service = self.s.service
        if service is None or not service.public_key.verify(
            Domain.TALLY, self._tally_body(entry), _hex(entry.signature)
        ):
            findings.append(Finding(entry.index, "the service signature on the tally is invalid"))
        if entry.inputs.size != size or entry.inputs.root != self._root(size).hex():
            findings.append(
                Finding(
                    entry.index,
                    f"tally inputs {entry.inputs.size}/{entry.inputs.root[:16]}… are not "
                    f"the log up to the closing (size {size})",
                )
            )
        if failure is not None:
            raise failure
        # Codes and figures are compared; the zh / en messages (reasons, notes, conflicts) are text
        # for people, reworded between versions (docs/tally-json.md), so only their presence.
        if result != entry.result and _figures(result) != _figures(entry.result):
            findings.append(
                Finding(
                    entry.index,
                    "recomputed tally differs: "
                    + _first_difference(_figures(entry.result), _figures(result)),
                )
            )
        passed = [m["id"] for m in result.get("motions", []) if m.get("passed")]
        return f"recomputed from {rows} ballot rows; passed: {', '.join(passed) or 'none'}"

    def _tally_body(self, entry: TallyEntry) -> bytes:
        """``signed_entry_body(entry)``, from the data check 2 already walked strictly."""
        kept = self._tally_data.get(id(entry))
        if kept is None or kept[0] is not entry:
            return signed_entry_body(entry)
        body = dict(kept[1])
        body.pop("signature", None)
        # A part of data that passed strict_canonical: the plain encoder gives the same bytes.
        return canonical(body)

    # ------------------------------------------------------------------ 15

    def certification(self, findings: list[Finding]) -> str:
        certs = self._of(CertificationEntry)
        returns = self._of(ReturnEntry)
        tallies = self._of(TallyEntry)
        if not certs:
            if returns:
                findings.append(
                    Finding(
                        returns[0].index, "the officer returned (refused to certify) the result"
                    )
                )
            else:
                findings.append(Finding(None, "the log has no certification entry"))
            return ""
        entry: CertificationEntry = certs[0]
        if not tallies:
            findings.append(Finding(entry.index, "certification without a tally"))
            return ""
        body = certification_body(
            meeting=entry.meeting,
            tally=entry.tally,
            size=entry.checkpoint.size,
            root=entry.checkpoint.root,
        )
        if not self._officer_signed(findings, entry, Domain.CERTIFICATION, body):
            return ""
        tally_entry: TallyEntry = tallies[0]
        if entry.tally != self._leaves()[tally_entry.index].hex():
            findings.append(
                Finding(entry.index, "certification names a different tally entry hash")
            )
        size = entry.checkpoint.size
        if not tally_entry.index < size <= entry.index:
            findings.append(
                Finding(
                    entry.index,
                    f"certified checkpoint size {size} does not cover the tally "
                    "and precede the certification",
                )
            )
        elif entry.checkpoint.root != self._root(size).hex():
            findings.append(
                Finding(
                    entry.index,
                    f"certified root for size {size} is not the log's root: "
                    "the log was changed after certification",
                )
            )
        elif not any(c.size == size and entry.officer in c.officers for c in self.s.verified):
            findings.append(
                Finding(
                    entry.index,
                    f"no checkpoint of size {size} cosigned by {entry.officer!r} in the bundle",
                )
            )
        notice = self.s.notice
        if notice is not None:
            days = notice.settings.objection_days
            window_end = parse_time(tally_entry.time) + timedelta(days=days)
            if parse_time(entry.time) < window_end:
                findings.append(
                    Finding(
                        entry.index,
                        f"certified at {entry.time}, before the objection window of "
                        f"{days} day(s) after the tally closed at {format_time(window_end)}",
                    )
                )
        for objection in self._of(ObjectionEntry):
            if objection.index < entry.index and not any(
                isinstance(a, ObjectionAnswerEntry)
                and a.objection == objection.index
                and a.index < entry.index
                for a in self.s.entries
            ):
                findings.append(
                    Finding(
                        objection.index,
                        f"objection {objection.index} was not answered before certification",
                    )
                )
        for publication in self._of(PublicationEntry):
            if publication.certification != self._leaves()[entry.index].hex():
                findings.append(
                    Finding(publication.index, "publication names a different certification")
                )
            if notice is not None and publication.disclosure != notice.settings.disclosure:
                findings.append(
                    Finding(
                        publication.index,
                        f"publication discloses {publication.disclosure!r}, but the notice's "
                        f"settings say {notice.settings.disclosure!r}",
                    )
                )
        return f"certified by {entry.officer} at {entry.time} (checkpoint size {size})"


def _text_problem(raw: msgspec.Raw, data: bytes) -> str | None:
    """Why an entry's JSON text ``raw`` is not simply the entry whose canonical bytes are ``data``.

    msgspec keeps the last of repeated keys and fills in a field's default
    when it is left out; a verifier reading the text otherwise would see
    another entry. None when the text, read exactly, is that entry's data.
    """
    try:
        plain = plain_json(bytes(raw))
    except RepeatedKeyError as exc:
        return f"an object repeats the key {exc.key!r}"
    except ValueError:
        return None  # msgspec read it as JSON; the standard library disagrees only on extensions
    try:
        if strict_canonical(plain) == data:
            return None
    except CanonicalError:
        pass
    return "its JSON text is not the entry it decodes to (a field is left out or not canonical)"


# Lower-case hex fields of the entries other than ballots (check 11 takes the ballots'),
# as (attribute path, length).
_HEX_FIELDS: dict[type, tuple[tuple[str, ...], ...]] = {
    NoticeEntry: (("roster_root",),),
    ApprovalEntry: (("key_id",), ("notice",), ("roster_root",), ("signature",)),
    CredentialRevokedEntry: (("key",),),
    CredentialReplacedEntry: (("old_key",), ("new_key",)),
    ObjectionEntry: (("document",),),
    ObjectionAnswerEntry: (("document",),),
    TallyEntry: (("inputs", "root"), ("signature",)),
    CertificationEntry: (("key_id",), ("tally",), ("checkpoint", "root"), ("signature",)),
    ReturnEntry: (("key_id",), ("tally",), ("checkpoint", "root"), ("reason",), ("signature",)),
    PublicationEntry: (("certification",),),
}

_RESERVED_CHOICES = frozenset({"abstain", "invalid"})


def _format_problems(entry: Entry) -> list[str]:
    """The format rules of docs/verification.md §Entries that one non-ballot entry breaks."""
    problems: list[str] = []
    for path in _HEX_FIELDS.get(type(entry), ()):
        value: Any = entry
        for name in path:
            value = getattr(value, name)
        if not all_hex([value]):
            problems.append(f"{'.'.join(path)} {value!r} is not lower-case hex")
    if isinstance(entry, NoticeEntry):
        ids = [motion.id for motion in entry.agenda]
        if len(set(ids)) != len(ids):
            problems.append(f"motion ids repeat: {ids}")
        for motion in entry.agenda:
            problems.extend(f"motion {motion.id!r}: {p}" for p in _motion_problems(motion))
    return problems


def _motion_problems(motion: Any) -> list[str]:
    """Format rules of one agenda motion (a :class:`~votes.record.entries.MotionWire`)."""
    problems: list[str] = []
    candidates: list[str] = motion.candidates
    if motion.type != "election" and motion.seats != 1:
        problems.append(f"seats is {motion.seats}; only an election has more than 1")
    if motion.type == "yes-no":
        if candidates:
            problems.append("a yes-no motion lists candidates")
    else:
        least = 2 if motion.type == "choose-one" else max(1, motion.seats)
        if len(candidates) < least:
            problems.append(f"{len(candidates)} candidates; at least {least} are needed")
        if len(set(candidates)) != len(candidates):
            problems.append("candidates repeat")
        if any(";" in name or name in _RESERVED_CHOICES for name in candidates):
            problems.append("a candidate name contains ';' or is 'abstain' or 'invalid'")
    scope: list[str] | None = motion.scope
    if scope is not None and not all(map(operator.lt, scope, scope[1:])):
        problems.append("scope is not sorted by code point without repeats")
    return problems


def _roster_format_problems(wire: RosterWire) -> list[str]:
    """The roster's format rules (docs/verification.md §Entries, roster): order and hex.

    Members sorted by id, each member's units by number, each unit's owner tags
    sorted, all without repeats; keys 64 and tags 16 lower-case hex digits.
    """
    problems: list[str] = []
    members = wire.members
    ids = [member.id for member in members]
    if not all(map(operator.lt, ids, ids[1:])):
        at = next(i for i in range(1, len(ids)) if not ids[i - 1] < ids[i])
        problems.append(f"members are not sorted by id: {ids[at - 1]!r} before {ids[at]!r}")
    if not all_hex([member.key for member in members]):
        bad = next(m for m in members if not all_hex([m.key]))
        problems.append(f"member {bad.id!r}: key {bad.key!r} is not lower-case hex")
    tags = [tag for member in members for unit in member.units for tag in unit.owners]
    if not all_hex(tags):
        tag = next(t for t in tags if not all_hex([t]))
        problems.append(f"owner tag {tag!r} is not 16 lower-case hex digits")
    lt = operator.lt
    for member in members:
        units = member.units
        if len(units) > 1:
            numbers = [unit.number for unit in units]
            if not all(map(lt, numbers, numbers[1:])):
                problems.append(f"member {member.id!r}: units are not sorted by number")
        for unit in units:
            owners = unit.owners
            if len(owners) > 1 and not all(map(lt, owners, owners[1:])):
                problems.append(f"unit {unit.number!r}: owner tags are not sorted without repeats")
        if len(problems) >= 20:
            break
    return problems


def _entry_hex(entry: _BallotKind) -> list[str]:
    """The hex fields of a ballot entry itself (the ballot object's are checked apart)."""
    if type(entry) is BallotEntry:
        return [entry.signature]
    if isinstance(entry, PaperBallotEntry):
        return [entry.signature, entry.sheet]
    assert isinstance(entry, ProxyBallotEntry)
    return [entry.signature, entry.authorisation, entry.holder]


def _grouped_rows(
    counted: Sequence[tuple[str, _BallotKind, bytes]], policy: DuplicatePolicy
) -> tuple[tuple[ByChoice, list[Conflict], list[Duplicate]], int]:
    """What :func:`votes.duplicates.resolve_by_choice` gives for the tally rows of ``counted``.

    ``counted`` holds each counted ballot entry with its member and choices key (as
    :meth:`_Checks._keys`). A member with one ballot has one row per motion it
    chose, so its rows go straight to their choice; so do a member's rows on a
    motion when their choice texts are all the same (resolve_by_choice counts
    them as one :class:`Duplicate` whichever row counts). Only the rows that
    disagree are built as :class:`~votes.model.BallotRow` and resolved
    (``tally_grouped`` takes the member lists in any order). Also returns the
    number of rows.
    """
    ballots = Counter(map(_MEMBER, counted))
    # The single-ballot members by their ballot's choices (a few thousand
    # distinct ones among 100,000 ballots), expanded per motion afterwards.
    alike: dict[bytes, tuple[Mapping[str, ChoiceValue], list[str]]] = {}
    several: dict[str, list[_BallotKind]] = {}  # the other members' entries, in log order
    for member, entry, key in counted:
        if ballots[member] > 1:
            several.setdefault(member, []).append(entry)
            continue
        group = alike.get(key)
        if group is None:
            alike[key] = (_choices(entry), [member])
        else:
            group[1].append(member)
    by_choice: ByChoice = {}
    rows = 0
    for choices, members in alike.values():
        rows += len(choices) * len(members)
        for motion_id, choice in choices.items():
            texts = by_choice.setdefault(motion_id, {})
            texts.setdefault(choice_text(choice), []).extend(members)
    disagreeing: list[BallotRow] = []
    duplicates: list[Duplicate] = []
    for member, entries in several.items():
        found: dict[str, list[str]] = {}  # motion id -> the entries' choice texts
        for entry in entries:
            choices = _choices(entry)
            rows += len(choices)
            for motion_id, choice in choices.items():
                found.setdefault(motion_id, []).append(choice_text(choice))
        member_rows: list[BallotRow] | None = None
        for motion_id, chosen in found.items():
            text = chosen[0]
            if chosen.count(text) == len(chosen):
                if len(chosen) > 1:
                    duplicates.append(Duplicate(member, motion_id, len(chosen)))
                by_choice.setdefault(motion_id, {}).setdefault(text, []).append(member)
                continue
            if member_rows is None:
                member_rows = [row for entry in entries for row in entry_rows(entry, member)]
            disagreeing.extend(row for row in member_rows if row.motion_id == motion_id)
    resolved, conflicts, more = resolve_by_choice(disagreeing, policy)
    duplicates.extend(more)
    for motion_id, texts in resolved.items():
        into = by_choice.setdefault(motion_id, {})
        for text, members in texts.items():
            into.setdefault(text, []).extend(members)
    return (by_choice, conflicts, duplicates), rows


def _choices(entry: _BallotKind) -> dict[str, ChoiceValue]:
    return entry.choices if isinstance(entry, PaperBallotEntry) else entry.ballot.choices


_ENCODE = msgspec.json.Encoder().encode  # in the dict's own order: a cache key, not a record
_MEMBER = operator.itemgetter(0)
_AREA = operator.attrgetter("area")


class _AllowedChoices:
    """Whether every choice of a ballot is allowed, remembered per distinct (motion, choice).

    :func:`votes.record.ballot.check_choices` decides each choice on its own, so
    asking it once per distinct choice gives the same answers.
    """

    def __init__(self, motions: Mapping[str, Motion]) -> None:
        self._motions = motions
        self._known: dict[tuple[bool, str, str | tuple[str, ...]], bool] = {}
        # Many ballots carry the same choices: their answer, by (paper, JSON of the choices).
        self._ballots: dict[tuple[bool, bytes], bool] = {}

    def all(self, choices: Mapping[str, ChoiceValue], encoded: bytes, *, paper: bool) -> bool:
        """``encoded``: ``_ENCODE(choices)``."""
        key = (paper, encoded)
        ok = self._ballots.get(key)
        if ok is None:
            ok = self._ballots[key] = self._each(choices, paper=paper)
        return ok

    def _each(self, choices: Mapping[str, ChoiceValue], *, paper: bool) -> bool:
        if not choices:
            return False
        known = self._known
        for motion_id, choice in choices.items():
            key = (paper, motion_id, choice if type(choice) is str else tuple(choice))
            ok = known.get(key)
            if ok is None:
                try:
                    check_choices({motion_id: choice}, self._motions, paper=paper)
                    ok = True
                except BallotError:
                    ok = False
                known[key] = ok
            if not ok:
                return False
        return True


class _PerfectNodes(Mapping[NodeId, bytes]):
    """Every perfect-subtree hash of the log by (level, index), for :func:`root_plan`.

    Kept as one list per level rather than one dict entry per node.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = []
        row = list(leaves)
        while row:
            self._levels.append(row)
            row = list(map(node_hash, row[0:-1:2], row[1::2]))

    def __getitem__(self, node: NodeId) -> bytes:
        level, index = node
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError(node)

    def __iter__(self) -> Iterator[NodeId]:
        return ((level, i) for level, row in enumerate(self._levels) for i in range(len(row)))

    def __len__(self) -> int:
        return sum(map(len, self._levels))


_MORE_TIMES = (NoticeEntry, ClosingEntry, PaperBallotEntry)  # time fields besides "time"


def _time_fields(entry: Entry) -> tuple[str, ...]:
    if isinstance(entry, NoticeEntry):
        return ("time", "notice_at", "open_at", "close_at")
    if isinstance(entry, ClosingEntry):
        return ("time", "closed_at")
    if isinstance(entry, PaperBallotEntry):
        return ("time", "entered_at")
    return ("time",)


def _tag(kind: type[Entry]) -> str:
    """The ``type`` of the entries of this class."""
    tag = kind.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def _describe(value: tuple[bool, list[str]] | None) -> str:
    if value is None:
        return "no such member"
    developer, units = value
    shown = ", ".join(units[:5]) + (" …" if len(units) > 5 else "")
    return f"{'developer ' if developer else ''}units [{shown}]"


def _figures(value: Any) -> Any:
    """A tally result with every message left blank: each object with a ``code`` (a reason, a
    note) or a ``rule`` (a conflict) has its string ``zh`` and ``en`` replaced by ``""`` (a
    missing or non-string one stays as it is)."""
    if isinstance(value, list):
        return [_figures(item) for item in value]
    if isinstance(value, dict):
        blank = "code" in value or "rule" in value
        return {
            key: "" if blank and key in ("zh", "en") and isinstance(item, str) else _figures(item)
            for key, item in value.items()
        }
    return value


def _first_difference(recorded: Any, computed: Any, path: str = "$") -> str:
    if isinstance(recorded, dict) and isinstance(computed, dict):
        for key in sorted(set(recorded) | set(computed)):
            if recorded.get(key) != computed.get(key):
                return _first_difference(recorded.get(key), computed.get(key), f"{path}.{key}")
    if isinstance(recorded, list) and isinstance(computed, list) and len(recorded) == len(computed):
        for i, (a, b) in enumerate(zip(recorded, computed, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path} the signed tally has {_short(recorded)}, the recount {_short(computed)}"


def _short(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------- lifecycle


def _transition(phase: str, entry: Entry) -> tuple[bool, str]:
    """Whether ``entry`` may follow ``phase``, and the phase after it."""
    if phase == "start":
        return isinstance(entry, NoticeEntry), "notice"
    if phase == "notice":
        return isinstance(entry, ApprovalEntry), "approved"
    if phase == "approved":
        if isinstance(entry, OpenEntry):
            return True, "open"
        return isinstance(entry, _BEFORE_OPEN), phase
    if phase == "open":
        if isinstance(entry, ClosingEntry):
            return True, "closed"
        return isinstance(entry, _VOTING), phase
    if phase == "closed":
        return isinstance(entry, TallyEntry), "tallied"
    if phase == "tallied":
        if isinstance(entry, CertificationEntry):
            return True, "certified"
        if isinstance(entry, ReturnEntry):
            return True, "returned"
        return isinstance(entry, _AFTER_TALLY), phase
    if phase == "certified":
        return isinstance(entry, PublicationEntry), "published"
    return False, phase


# ---------------------------------------------------------------------- ballot work

_BALLOT_PREFIX = Domain.BALLOT.value.encode() + b"\x00"

# What forked workers inherit (set only while the pool starts).
_RAW: Sequence[msgspec.Raw] = ()
_PAPER_KEY: PublicKey | None = None


@dataclass(slots=True)
class _BallotWork:
    """Per-ballot work on some entries: leaf hashes and signature checks.

    ``bad`` holds the indices of ballot entries whose signature does not
    verify (member or paper-ballot service signature, or malformed hex);
    ``paper_errors`` the paper ballots whose signature is not hex, as
    (position, error message).
    """

    positions: list[int] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    member_signatures: int = 0
    paper_signatures: int = 0
    bad: list[int] = field(default_factory=list)
    paper_errors: list[tuple[int, str]] = field(default_factory=list)


def _ballot_work(entries: Iterable[tuple[int, Entry]], paper_key: PublicKey | None) -> _BallotWork:
    """Leaf hashes and signature checks of the ballot entries among (position, entry) pairs."""
    work = _BallotWork()
    positions, leaves, bad = work.positions, work.leaves, work.bad
    # The hot loop calls pynacl's binding and hashlib directly: the wrappers'
    # argument checks hold by construction here (the entry types fix the hex
    # lengths: 32-byte keys, 64-byte signatures; other lengths take the
    # wrapper), and their cost showed in the profile.
    sha256, encode, sign_open = hashlib.sha256, canonical, nacl.bindings.crypto_sign_open
    bad_signature = nacl.exceptions.BadSignatureError
    from_hex = bytes.fromhex
    prefix = _BALLOT_PREFIX
    for position, entry in entries:
        if type(entry) is BallotEntry or type(entry) is ProxyBallotEntry:
            positions.append(position)
            data = encode(entry)
            leaves.append(sha256(b"\x00" + data).digest())
            ballot = entry.ballot
            try:
                key, signature = from_hex(ballot.member), from_hex(entry.signature)
            except ValueError:
                bad.append(entry.index)
                continue
            work.member_signatures += 1
            message = prefix + (
                _ballot_slice(data) if type(entry) is BallotEntry else encode(ballot)
            )
            if len(key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
                if not PublicKey(key).verify_raw(message, signature):
                    bad.append(entry.index)
                continue
            try:
                sign_open(signature + message, key)
            except bad_signature:
                bad.append(entry.index)
        elif type(entry) is PaperBallotEntry:
            positions.append(position)
            leaves.append(sha256(b"\x00" + encode(entry)).digest())
            work.paper_signatures += 1
            try:
                signature = from_hex(entry.signature)
            except ValueError as exc:
                work.paper_errors.append((position, str(exc)))
                continue
            if paper_key is None or not paper_key.verify(
                Domain.PAPER_BALLOT, signed_entry_body(entry), signature
            ):
                bad.append(entry.index)
    return work


def _roster_slice(data: bytes) -> bytes:
    """The roster's canonical bytes inside its notice entry's canonical bytes ``data``.

    Canonical JSON encodes a value the same wherever it is nested, and the
    notice's keys are sorted: ``…,"roster":`` + canonical(roster) +
    ``,"roster_root":…``. A quote inside a string is escaped, so ``,"name":``
    is always an object key; no key before the roster is "roster" (agenda,
    times, texts) and none after "roster_root" (settings, scalars) is
    "roster_root", nor any inside the roster.
    """
    return data[data.index(b',"roster":') + 10 : data.rindex(b',"roster_root":')]


def _ballot_slice(data: bytes) -> bytes:
    """The ballot's canonical bytes inside its ballot entry's canonical bytes ``data``.

    ``data`` is ``{"ballot":`` + canonical(ballot) + ``,"index":…``: "ballot" and
    "index" are the entry's first keys in sorted order, and the fields after
    "index" are strings and integers. Inside a string every quote is escaped,
    so the bytes ``,"index":`` are always an object key; the ballot may hold
    one (a motion id), hence the last occurrence.
    """
    return data[10 : data.rindex(b',"index":')]


# Decodes only the ballot entry types: other entries fail at their "type" tag
# without being parsed further (the notice, with its roster, is tens of MB).
# A ballot entry decodes to the same object as with decode_entry.
_BALLOT_DECODER: msgspec.json.Decoder[_BallotKind] = msgspec.json.Decoder(_BallotKind)


def _decoded(bounds: tuple[int, int]) -> Iterator[tuple[int, Entry]]:
    """The ballot entries among the raw entries at positions [start, end)."""
    decode = _BALLOT_DECODER.decode
    for position in range(*bounds):
        try:
            entry = decode(_RAW[position])
        except (msgspec.DecodeError, ValueError):
            continue  # not a ballot entry, or check 2, in the main process, reports it
        if entry.v == FORMAT_VERSION:  # else decode_entry refuses it, and check 2 reports it
            yield position, entry


def _ballot_range(bounds: tuple[int, int]) -> _BallotWork:
    """Worker: decode the raw entries at positions [start, end) and do their ballot work."""
    return _ballot_work(_decoded(bounds), _PAPER_KEY)


class _BallotJob:
    """The per-ballot work of checks 2 and 10, started before the entries are checked.

    With ``workers`` > 1 (and the fork start method) forked processes decode
    chunks of the raw entries themselves and do the work while the main
    process runs the other checks; otherwise :meth:`result` does it on the
    entries the main process decoded.
    """

    def __init__(
        self, raw: Sequence[msgspec.Raw], *, paper_key: PublicKey | None, workers: int
    ) -> None:
        global _RAW, _PAPER_KEY  # inherited by the forked workers
        self._paper_key = paper_key
        self._pool: Any = None
        self._async: Any = None
        self._entries: Sequence[Entry] = ()
        workers = max(1, min(workers, os.cpu_count() or 1))
        count = len(raw)
        if workers > 1 and count >= 2000 and "fork" in multiprocessing.get_all_start_methods():
            # Several chunks per worker even out the load when other work shares the cores.
            step = -(-count // (workers * 4))
            ranges = [(start, min(start + step, count)) for start in range(0, count, step)]
            _RAW, _PAPER_KEY = raw, paper_key
            frozen = gc.isenabled()
            if frozen:
                gc.freeze()  # keep the children from copying the whole heap on their first gc
            try:
                self._pool = multiprocessing.get_context("fork").Pool(workers)
                self._async = self._pool.map_async(_ballot_range, ranges, chunksize=1)
            finally:
                if frozen:
                    gc.unfreeze()
                _RAW, _PAPER_KEY = (), None

    def use(self, entries: Sequence[Entry]) -> None:
        """The entries as decoded by the main process (the in-process work uses them)."""
        self._entries = entries

    def result(self) -> _BallotWork:
        if self._async is None:
            return _ballot_work(enumerate(self._entries), self._paper_key)
        try:
            parts: list[_BallotWork] = self._async.get()
        finally:
            self.close()
        total = _BallotWork()
        for part in parts:
            total.positions.extend(part.positions)
            total.leaves.extend(part.leaves)
            total.member_signatures += part.member_signatures
            total.paper_signatures += part.paper_signatures
            total.bad.extend(part.bad)
            total.paper_errors.extend(part.paper_errors)
        return total

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


# ---------------------------------------------------------------------- signatures

_JOB: list[tuple[int, bytes, bytes, bytes]] = []


def _check_range(bounds: tuple[int, int]) -> list[int]:
    bad: list[int] = []
    for index, key, message, signature in _JOB[bounds[0] : bounds[1]]:
        if not PublicKey(key).verify_raw(message, signature):
            bad.append(index)
    return bad


class SignatureJob:
    """Ed25519 checks of ``(index, public key, signed message, signature)`` items.

    With ``workers`` > 1 (and the fork start method available) the items are
    split among that many forked processes, which inherit them without
    copying; :meth:`result` waits for them.  Otherwise the work is done in
    :meth:`result`.
    """

    def __init__(
        self,
        items: Sequence[tuple[int, bytes, bytes, bytes]],
        *,
        workers: int = 1,
        extra_bad: Sequence[int] = (),
    ) -> None:
        global _JOB  # noqa: PLW0603 - inherited by the forked workers
        self.items_count = len(items)
        self._extra = list(extra_bad)
        self._items = list(items)
        self._pool: Any = None
        self._async: Any = None
        workers = max(1, min(workers, os.cpu_count() or 1))
        if workers > 1 and len(items) >= 2000 and "fork" in multiprocessing.get_all_start_methods():
            _JOB = self._items
            step = -(-len(items) // workers)
            ranges = [
                (start, min(start + step, len(items))) for start in range(0, len(items), step)
            ]
            gc.freeze()  # keep the children from copying the whole heap on their first gc
            try:
                self._pool = multiprocessing.get_context("fork").Pool(len(ranges))
                self._async = self._pool.map_async(_check_range, ranges)
            finally:
                gc.unfreeze()
                _JOB = []

    def result(self) -> list[int]:
        """Sorted indices of the items whose signature does not verify."""
        global _JOB  # noqa: PLW0603
        if self._async is None:
            _JOB = self._items
            try:
                bad = _check_range((0, len(self._items)))
            finally:
                _JOB = []
        else:
            try:
                bad = [index for part in self._async.get() for index in part]
            finally:
                self._pool.close()
                self._pool.join()
        return sorted([*bad, *self._extra])


def verify_signatures(
    items: Sequence[tuple[int, bytes, bytes, bytes]], *, workers: int = 1
) -> list[int]:
    """Indices of the items whose Ed25519 signature (over the message as given) fails."""
    return SignatureJob(items, workers=workers).result()
