"""Checks 1 to 6: the bundle and its keys, the entries' format and order, the checkpoints
and the voters' receipts.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any

import msgspec

from crypto.canonical import CanonicalError
from crypto.merkle import ProofError, leaf_hash, verify_consistency
from crypto.notes import Checkpoint, CosignatureVerifier, NoteError, NoteVerifier, open_note
from votes.record.entries import (
    ApprovalEntry,
    CertificationEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    EntryError,
    NoticeEntry,
    ObjectionAnswerEntry,
    ObjectionEntry,
    OpenEntry,
    PublicationEntry,
    ReturnEntry,
    TallyEntry,
    agenda_motions,
    decode_entry,
    entry_bytes,
)
from votes.record.receipt import ReceiptError, verify_receipt
from votes.record.verify.checks.base import CheckBase, Cosigned, SkipError
from votes.record.verify.helpers import BALLOT_KINDS, MORE_TIMES, entry_tag, hex_bytes, time_fields
from votes.record.verify.parallel import BallotJob
from votes.record.verify.report import Finding
from votes.record.wire import (
    RepeatedKeyError,
    all_hex,
    all_times,
    canonical,
    is_time,
    plain_json,
    strict_canonical,
)

_VOTING = (
    *BALLOT_KINDS,
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


class LogChecks(CheckBase):
    """Checks 1 to 6: what the bundle holds and that the log is the one its checkpoints sign."""

    # ------------------------------------------------------------------ 1

    def bundle_check(self, findings: list[Finding]) -> str:
        b = self.state.bundle
        assert b is not None
        if not b.meeting:
            findings.append(Finding(None, "bundle names no meeting"))
        if not b.origin or "\n" in b.origin:
            findings.append(Finding(None, f"bad log origin {b.origin!r}"))
        try:
            self.state.service_verifier = NoteVerifier.from_key_string(b.service_key)
        except NoteError as exc:
            findings.append(Finding(None, f"service key: {exc}"))
        pin = self.options.service_key
        if pin is not None and b.service_key != pin:
            findings.append(
                Finding(None, f"service key {b.service_key!r} is not the trusted {pin!r}")
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
            if officer.name in self.state.officer_verifiers:
                findings.append(Finding(None, f"officer {officer.name!r} is listed twice"))
            if self.options.officer_keys and officer.key not in self.options.officer_keys:
                findings.append(
                    Finding(None, f"officer key {officer.key!r} is not among the trusted keys")
                )
            self.state.officer_verifiers[officer.name] = verifier
        pinned = "pinned" if self.options.service_key else "from the bundle (not pinned)"
        return (
            f"meeting {b.meeting}, {len(b.entries)} entries, service key {pinned}, "
            f"{len(b.officers)} officer key(s)"
        )

    # ------------------------------------------------------------------ 2

    def entries(self, findings: list[Finding]) -> str:
        b = self.state.bundle
        assert b is not None
        service = self.state.service_verifier
        self.ballot_job = BallotJob(
            b.entries,
            paper_key=None if service is None else service.public_key,
            workers=self.options.workers,
        )
        entries: list[Entry] = []
        leaves: list[bytes] = []
        times: list[str] = []
        raw_of = msgspec.Raw
        for position, raw in enumerate(b.entries):
            try:
                entry = decode_entry(raw)
                # Ballot entries' leaves come from the ballot work (their bytes cannot fail).
                if isinstance(entry, BALLOT_KINDS):
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
            if not isinstance(entry, BALLOT_KINDS):
                findings.extend(
                    Finding(position, f"entry {position}: {problem}")
                    for problem in _format_problems(entry)
                )
            times.append(entry.time)
            if isinstance(entry, MORE_TIMES):
                times.extend(getattr(entry, name) for name in time_fields(entry)[1:])
            entries.append(entry)
            leaves.append(leaf)
        if not b.entries:
            findings.append(Finding(None, "the bundle has no entries"))
        if not all_times(times):  # one regex pass; find the culprit only when needed
            for entry in entries:
                for name in time_fields(entry):
                    value = getattr(entry, name)
                    if not is_time(value):
                        findings.append(
                            Finding(
                                entry.index,
                                f"entry {entry.index}: {name} {value!r} is not "
                                "YYYY-MM-DDTHH:MM:SSZ",
                            )
                        )
        self.state.entries = entries
        self.state.leaf_hashes = leaves
        self._ballot_entries = [entry for entry in entries if isinstance(entry, BALLOT_KINDS)]
        self.ballot_job.use(entries)
        if entries and isinstance(entries[0], NoticeEntry):
            self.state.notice = entries[0]
            self.state.motions = agenda_motions(entries[0])
        counts = Counter(map(type, entries))
        ballots = sum(counts[kind] for kind in BALLOT_KINDS)
        return f"{len(entries)} entries parsed, {ballots} ballots"

    # ------------------------------------------------------------------ 3

    def sequence(self, findings: list[Finding]) -> str:
        entries = self.state.entries
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
                        position,
                        f"entry {position} ({entry_tag(kind)}) is not allowed after {phase}",
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
            f"{k} {v}" for k, v in sorted((entry_tag(kind), n) for kind, n in counts.items())
        )

    # ------------------------------------------------------------------ 4

    def _open(self, note: str) -> tuple[Checkpoint, set[str]]:
        """Verify a checkpoint note: service signature required, officer cosignatures checked."""
        service = self.state.service_verifier
        assert service is not None
        verifiers: list[NoteVerifier] = [service, *self.state.officer_verifiers.values()]
        opened = open_note(note, verifiers)
        names = {sig.name for sig in opened.signatures}
        if service.name not in names:
            raise NoteError("the checkpoint lacks the service's signature")
        checkpoint = Checkpoint.parse(opened.text)
        bundle = self.state.bundle
        assert bundle is not None
        if checkpoint.origin != bundle.origin:
            raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {bundle.origin!r}")
        return checkpoint, names - {service.name}

    def checkpoint(self, findings: list[Finding]) -> str:
        if self.state.service_verifier is None:
            raise SkipError("skipped: no usable service key")
        b = self.state.bundle
        assert b is not None
        try:
            checkpoint, officers = self._open(b.checkpoint)
        except NoteError as exc:
            findings.append(Finding(None, f"latest checkpoint: {exc}"))
            return ""
        size = len(self.state.entries)
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
            self.state.cosigned_checkpoints.append(Cosigned(size, checkpoint.root_hash, officers))
        return f"size {checkpoint.size}, root {checkpoint.root_hash.hex()[:16]}…"

    # ------------------------------------------------------------------ 5

    def history(self, findings: list[Finding]) -> str:
        if self.state.service_verifier is None:
            raise SkipError("skipped: no usable service key")
        b = self.state.bundle
        assert b is not None
        size2 = len(self.state.entries)
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
                    proof=[hex_bytes(h) for h in earlier.consistency],
                    root1=checkpoint.root_hash,
                    root2=latest_root,
                )
            except (ProofError, ValueError) as exc:
                findings.append(
                    Finding(None, f"checkpoint #{number} (size {size1}) consistency proof: {exc}")
                )
                continue
            self.state.cosigned_checkpoints.append(Cosigned(size1, checkpoint.root_hash, officers))
        return f"{len(b.checkpoints)} earlier checkpoint(s) consistent with the log"

    # ------------------------------------------------------------------ 6

    def receipts_check(self, findings: list[Finding]) -> str:
        if not self.options.receipts:
            return "no receipts given (use --receipt to check yours)"
        if self.state.service_verifier is None:
            raise SkipError("skipped: no usable service key")
        b = self.state.bundle
        assert b is not None
        size = len(self.state.entries)
        for number, receipt in enumerate(self.options.receipts):
            body = receipt.body
            try:
                checkpoint = verify_receipt(
                    receipt, service=self.state.service_verifier, origin=b.origin
                )
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
        return f"{len(self.options.receipts)} receipt(s) found in the log"


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
