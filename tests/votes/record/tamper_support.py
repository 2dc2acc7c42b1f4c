"""A malicious server for tamper tests: it rewrites its log and re-signs what it can.

The server holds the service key, so it can re-sign checkpoints, the tally and
paper ballots; it cannot sign as a member or an officer.  It also drops from
the bundle every earlier checkpoint that would expose the rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from crypto.merkle import MemoryNodeStore, MerkleLog
from crypto.notes import Checkpoint, add_signatures, sign_note
from crypto.signing import Domain
from votes.record.bundle import Bundle, EarlierCheckpoint, build_bundle
from votes.record.entries import (
    ApprovalEntry,
    CertificationEntry,
    ClosingEntry,
    Entry,
    LogHead,
    NoticeEntry,
    ObjectionAnswerEntry,
    PaperBallotEntry,
    PublicationEntry,
    TallyEntry,
    approval_body,
    certification_body,
    entry_bytes,
    entry_hash,
    signed_entry_body,
)
from votes.record.simulate import Simulation
from votes.record.wire import parse_time


def renumber(entries: Sequence[Entry], sim: Simulation) -> list[Entry]:
    """Make indices equal positions and fix what the server signs that depends on them."""
    fixed: list[Entry] = []
    log = MerkleLog(MemoryNodeStore())
    moved = {entry.index: position for position, entry in enumerate(entries)}
    for position, original in enumerate(entries):
        entry = _server_fixed(original, position, sim, moved=moved, fixed=fixed, log=log)
        fixed.append(entry)
        log.append(entry_bytes(entry))
    return fixed


def _server_fixed(
    original: Entry,
    position: int,
    sim: Simulation,
    *,
    moved: dict[int, int],
    fixed: Sequence[Entry],
    log: MerkleLog,
) -> Entry:
    """``original`` at ``position``, with what the server signs or refers to made to fit.

    ``moved`` maps old indices to positions; ``fixed`` holds the entries before
    it as rebuilt, and ``log`` their Merkle log.
    """
    entry = msgspec.structs.replace(original, index=position)
    if isinstance(entry, ObjectionAnswerEntry):
        entry = msgspec.structs.replace(entry, objection=moved[entry.objection])
    if isinstance(entry, PublicationEntry):
        cert = next(e for e in fixed if isinstance(e, CertificationEntry))
        entry = msgspec.structs.replace(entry, certification=entry_hash(cert).hex())
    if isinstance(entry, ClosingEntry):
        entry = msgspec.structs.replace(entry, log_size=position + 1)
    if isinstance(entry, PaperBallotEntry):
        signature = sim.service_key.sign(Domain.PAPER_BALLOT, signed_entry_body(entry))
        entry = msgspec.structs.replace(entry, signature=signature.hex())
    if isinstance(entry, TallyEntry):
        closing = next(e for e in fixed if isinstance(e, ClosingEntry))
        inputs = LogHead(size=closing.index + 1, root=log.root(closing.index + 1).hex())
        entry = resign_tally(msgspec.structs.replace(entry, inputs=inputs), sim)
    return entry


def resign_tally(entry: TallyEntry, sim: Simulation) -> TallyEntry:
    signature = sim.service_key.sign(Domain.TALLY, signed_entry_body(entry))
    return msgspec.structs.replace(entry, signature=signature.hex())


def rebuild(
    sim: Simulation,
    entries: Sequence[Entry],
    *,
    unchanged_prefix: int,
    keep_all_checkpoints: bool = False,
    latest_root: bytes | None = None,
) -> Bundle:
    """A bundle of ``entries`` with a freshly service-signed latest checkpoint.

    Earlier checkpoints larger than ``unchanged_prefix`` (the number of leading
    entries the tamper left alone) are dropped unless ``keep_all_checkpoints``.
    """
    log = MerkleLog(MemoryNodeStore())
    log.extend(entry_bytes(e) for e in entries)
    size = log.size
    origin = sim.bundle.origin
    root = log.root() if latest_root is None else latest_root
    latest = sign_note(Checkpoint(origin=origin, size=size, root_hash=root).body(), sim.service)
    earlier = []
    for checkpoint in sim.bundle.checkpoints:
        old_size = int(checkpoint.note.split("\n")[1])
        if old_size > unchanged_prefix and not keep_all_checkpoints:
            continue
        if old_size > size:
            continue
        proof = [h.hex() for h in log.consistency_proof(old_size, size)]
        earlier.append(EarlierCheckpoint(note=checkpoint.note, consistency=proof))
    return build_bundle(
        meeting=sim.bundle.meeting,
        origin=origin,
        service_key=sim.bundle.service_key,
        officers=sim.bundle.officers,
        entries=entries,
        checkpoint=latest,
        checkpoints=earlier,
    )


def with_officer(sim: Simulation, entries: Sequence[Entry]) -> Bundle:
    """A bundle of ``entries`` as a server and a careless officer would make it together.

    Indices, the approval, the paper ballots, the tally, the certification and
    the publication are fixed and re-signed (the officer signs whatever the
    server shows), and the officer cosigns the checkpoint made at approval and
    the one certified: every signature verifies, so only the rule broken by
    ``entries`` can fail.
    """
    log = MerkleLog(MemoryNodeStore())
    fixed: list[Entry] = []
    cosigned: list[tuple[int, int]] = []  # (size, officer timestamp)
    moved = {entry.index: position for position, entry in enumerate(entries)}
    for position, original in enumerate(entries):
        entry = _server_fixed(original, position, sim, moved=moved, fixed=fixed, log=log)
        if isinstance(entry, ApprovalEntry):
            notice = fixed[0]
            assert isinstance(notice, NoticeEntry)
            notice_hash = entry_hash(notice).hex()
            body = approval_body(
                meeting=entry.meeting, notice=notice_hash, roster_root=notice.roster_root
            )
            entry = msgspec.structs.replace(
                entry,
                notice=notice_hash,
                roster_root=notice.roster_root,
                signature=sim.officer_key.sign(Domain.APPROVAL, body).hex(),
            )
        if isinstance(entry, CertificationEntry):
            tally = next(e for e in fixed if isinstance(e, TallyEntry))
            tally_hash, root = entry_hash(tally).hex(), log.root().hex()
            body = certification_body(
                meeting=entry.meeting, tally=tally_hash, size=position, root=root
            )
            entry = msgspec.structs.replace(
                entry,
                tally=tally_hash,
                checkpoint=LogHead(size=position, root=root),
                signature=sim.officer_key.sign(Domain.CERTIFICATION, body).hex(),
            )
            cosigned.append((position, int(parse_time(entry.time).timestamp())))
        fixed.append(entry)
        log.append(entry_bytes(entry))
        if isinstance(entry, ApprovalEntry):
            cosigned.append((position + 1, int(parse_time(entry.time).timestamp())))
    origin = sim.bundle.origin
    earlier = []
    for size, timestamp in cosigned:
        body = Checkpoint(origin=origin, size=size, root_hash=log.root(size)).body()
        note = add_signatures(sign_note(body, sim.service), sim.officer.cosign(body, timestamp))
        proof = [h.hex() for h in log.consistency_proof(size, log.size)]
        earlier.append(EarlierCheckpoint(note=note, consistency=proof))
    latest = Checkpoint(origin=origin, size=log.size, root_hash=log.root()).body()
    return build_bundle(
        meeting=sim.bundle.meeting,
        origin=origin,
        service_key=sim.bundle.service_key,
        officers=sim.bundle.officers,
        entries=fixed,
        checkpoint=sign_note(latest, sim.service),
        checkpoints=earlier,
    )
