"""The checks' shared state and helpers: :class:`VerifyState` holds what one check finds
for the later ones; :class:`CheckBase` the arguments, caches and lookups they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crypto.merkle import NodeId, root_plan
from crypto.notes import CosignatureVerifier, NoteVerifier
from crypto.signing import Domain
from votes.model import Motion, Roster
from votes.record.bundle import Bundle
from votes.record.entries import (
    ApprovalEntry,
    CertificationEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    NoticeEntry,
    ReturnEntry,
    TallyEntry,
    entry_choices,
)
from votes.record.receipt import Receipt
from votes.record.verify.helpers import BallotKind, PerfectNodes, encode_choices, hex_bytes
from votes.record.verify.parallel import BallotJob, BallotWork
from votes.record.verify.report import Finding


class SkipError(Exception):
    """A check cannot run because something it needs failed earlier."""


@dataclass(slots=True)
class Cosigned:
    """A checkpoint checks 4 or 5 verified against the log, and the officers who cosigned it."""

    size: int
    root: bytes
    officers: set[str]


@dataclass(slots=True)
class VerifyState:
    """What the checks learn about the bundle, left for the checks that run after them."""

    bundle: Bundle | None = None
    service_verifier: NoteVerifier | None = None
    officer_verifiers: dict[str, CosignatureVerifier] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    leaf_hashes: list[bytes] = field(default_factory=list)
    merkle_nodes: Mapping[NodeId, bytes] = field(default_factory=dict)
    notice: NoticeEntry | None = None
    roster: Roster | None = None
    motions: dict[str, Motion] = field(default_factory=dict)
    cosigned_checkpoints: list[Cosigned] = field(default_factory=list)
    ballot_key_states: dict[int, tuple[str | None, bool]] = field(default_factory=dict)
    bad_signatures: set[int] = field(default_factory=set)
    valid_ballots: dict[int, str] = field(default_factory=dict)  # ballot entry index -> member id
    # (member, entry, encode_choices of its choices) of each counted ballot entry
    counted_ballots: list[tuple[str, BallotKind, bytes]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the verifier is given besides the bundle (the arguments of ``verify_bundle``)."""

    service_key: str | None  # the service key to trust; None: the bundle's own
    officer_keys: tuple[str, ...]  # the officer keys to trust; empty: the bundle's own
    receipts: tuple[Receipt, ...]  # voters' receipts to look up in the log
    workers: int  # processes for the per-ballot work


class CheckBase:
    """The checks' common part; the checks themselves are in the modules beside this one."""

    def __init__(self, state: VerifyState, options: VerifyOptions) -> None:
        self.state = state
        self.options = options
        self.ballot_job: BallotJob | None = None
        self.ballot_work: BallotWork | None = None
        self._by_type: dict[type, list[Entry]] | None = None
        self._ballot_entries: list[BallotKind] = []  # the ballot entries, in log order
        self._choice_keys: list[bytes] | None = None  # see _keys
        # id(tally entry) -> (the entry, its builtins as checked strictly by check 2)
        self._tally_data: dict[int, tuple[TallyEntry, dict[str, Any]]] = {}
        # id(notice entry) -> (the entry, its canonical bytes)
        self._notice_bytes: dict[int, tuple[NoticeEntry, bytes]] = {}

    # ------------------------------------------------------------------ helpers

    def _root(self, size: int) -> bytes:
        """Merkle root (RFC 9162) of the first ``size`` entries."""
        self._finish_ballot_work()
        return root_plan(size).assemble(self.state.merkle_nodes)

    def _leaves(self) -> list[bytes]:
        """Every entry's leaf hash, in log order."""
        self._finish_ballot_work()
        return self.state.leaf_hashes

    def _finish_ballot_work(self) -> BallotWork:
        """Wait for (or do) the per-ballot work; complete the leaves and the Merkle nodes."""
        if self.ballot_work is None:
            job = self.ballot_job
            if job is None:
                raise SkipError("skipped: entries unreadable")
            work = self.ballot_work = job.result()
            leaves = self.state.leaf_hashes
            for position, leaf in zip(work.positions, work.leaves, strict=True):
                leaves[position] = leaf
            self.state.merkle_nodes = PerfectNodes(leaves)
        return self.ballot_work

    def close(self) -> None:
        if self.ballot_job is not None:
            self.ballot_job.close()

    def _of(self, kind: type[Any]) -> list[Any]:
        """The entries of one type, in log order (entry types have no subclasses)."""
        if self._by_type is None:
            self._by_type = {}
            for entry in self.state.entries:
                self._by_type.setdefault(type(entry), []).append(entry)
        return self._by_type.get(kind, [])

    def _keys(self) -> list[bytes]:
        """Each ballot entry's choices as encode_choices gives them: checks 11 and 13 and the
        recount use them to tell apart the few thousand distinct choices among 100,000 ballots."""
        if self._choice_keys is None:
            encode = encode_choices
            self._choice_keys = [encode(entry_choices(entry)) for entry in self._ballot_entries]
        return self._choice_keys

    def _need_notice(self) -> NoticeEntry:
        if self.state.notice is None:
            raise SkipError("skipped: the log has no notice entry at index 0")
        return self.state.notice

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
        verifier = self.state.officer_verifiers.get(entry.officer)
        if verifier is None:
            findings.append(Finding(entry.index, f"officer {entry.officer!r} is not in the bundle"))
            return False
        if verifier.key_id.hex() != entry.key_id:
            findings.append(Finding(entry.index, f"officer key id {entry.key_id} does not match"))
            return False
        if not verifier.public_key.verify(domain, body, hex_bytes(entry.signature)):
            findings.append(
                Finding(
                    entry.index,
                    f"the {entry.officer!r} signature on entry {entry.index} is invalid",
                )
            )
            return False
        return True
