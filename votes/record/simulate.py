"""A synthetic meeting, recorded exactly as the service records a real one, as a bundle.

Deterministic for a given seed: every key, secret, nonce, area and choice comes
from ``random.Random(seed)`` or is derived from it (Ed25519 signatures are
deterministic).  Used by tests, the worked example in docs/verification.md,
and the verification benchmark.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from crypto.credentials import derive_signing_key
from crypto.merkle import MemoryNodeStore, MerkleLog, leaf_hash
from crypto.notes import Checkpoint, CosignatureSigner, NoteSigner, add_signatures, sign_note
from crypto.signing import Domain, SigningKey
from votes.model import (
    AreaSource,
    Channel,
    Choice,
    DuplicatePolicy,
    Motion,
    MotionType,
    Unit,
    UnitKind,
    UnitStatus,
)
from votes.record.ballot import (
    Ballot,
    ChoiceValue,
    build_ballot,
    sign_ballot,
)
from votes.record.bundle import Bundle, EarlierCheckpoint, OfficerKey, build_bundle
from votes.record.entries import (
    BallotEntry,
    Entry,
    MeetingSettings,
    PaperBallotEntry,
    ProxyBallotEntry,
    approval_body,
    approval_entry,
    ballot_entry,
    certification_body,
    certification_entry,
    closing_entry,
    credential_change_body,
    credential_replaced_entry,
    credential_revoked_entry,
    entry_bytes,
    entry_rows,
    notice_entry,
    objection_answer_entry,
    objection_body,
    objection_entry,
    open_entry,
    owner_tag,
    paper_ballot_entry,
    proxy_ballot_entry,
    publication_entry,
    roster_to_wire,
    tally_entry,
)
from votes.record.receipt import Receipt, ReceiptProof, build_receipt
from votes.record.wire import sha256_hex
from votes.roster import group_members
from votes.tally import tally
from votes.tally_json import result_to_dict

__all__ = ["SERVICE_NAME", "Simulation", "origin_for", "simulate"]

SERVICE_NAME = "owner-vote.example/log"
OFFICER_NAME = "officer.jiedao.example"
_START = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def origin_for(meeting: str) -> str:
    return f"owner-vote.example/meetings/{meeting}"


@dataclass(frozen=True, slots=True)
class Simulation:
    """The bundle, and the secrets a test needs to act as members, service or officer."""

    bundle: Bundle
    entries: tuple[Entry, ...]
    service: NoteSigner
    officer: CosignatureSigner
    service_key: SigningKey
    officer_key: SigningKey
    member_keys: dict[str, SigningKey]  # member id -> its active credential key
    receipts: tuple[Receipt, ...] = field(default=())


def _seed(label: str, seed: int) -> bytes:
    return hashlib.sha256(f"owner-vote-simulate/{label}/{seed}".encode()).digest()


def _units(rng: random.Random, members: int) -> list[Unit]:
    buildings = [f"{b + 1}栋" for b in range(max(2, min(40, members // 150 + 2)))]
    units: list[Unit] = []
    counter = 0

    def unit(owners: frozenset[str], kind: UnitKind, status: UnitStatus) -> Unit:
        nonlocal counter
        counter += 1
        building = buildings[counter % len(buildings)]
        if kind is UnitKind.PARKING:
            area = rng.randint(1000, 1500)
            number = f"P-{counter:06d}"
        else:
            area = rng.randint(4000, 20000)
            number = f"{building}-{counter:06d}"
        source = rng.choices(
            [AreaSource.REGISTRY, AreaSource.SURVEY, AreaSource.CONTRACT], [90, 7, 3]
        )[0]
        return Unit(
            number=number,
            building=building,
            area=area,
            owners=owners,
            kind=kind,
            status=status,
            area_source=source,
        )

    developer = frozenset({"developer"})
    units.append(unit(developer, UnitKind.RESIDENTIAL, UnitStatus.UNSOLD))
    units.append(unit(developer, UnitKind.COMMERCIAL, UnitStatus.UNSOLD))
    units.append(
        unit(frozenset({"buyer-undelivered"}), UnitKind.RESIDENTIAL, UnitStatus.UNDELIVERED)
    )
    for i in range(members - 1):
        # The first owners are fixed so that every small estate has a co-owned
        # unit and a multi-unit owner; the rest are random.
        co_owned = i == 1 or (i > 2 and rng.random() < 0.1)
        owners = frozenset({f"owner-{i}", f"owner-{i}-co"} if co_owned else {f"owner-{i}"})
        units.append(unit(owners, UnitKind.RESIDENTIAL, UnitStatus.SOLD))
        if i == 0 or (i > 2 and rng.random() < 0.05):
            kind = UnitKind.PARKING if rng.random() < 0.5 else UnitKind.RESIDENTIAL
            units.append(unit(owners, kind, UnitStatus.SOLD))
    return units


def _motions(count: int, buildings: Sequence[str]) -> list[Motion]:
    motions: list[Motion] = []
    for j in range(count):
        kind = j % 5
        mid = f"m{j + 1}"
        if kind == 0:
            motions.append(Motion(id=mid, title=f"续聘物业服务企业 ({mid})", item=4))
        elif kind == 1:
            motions.append(
                Motion(
                    id=mid,
                    title=f"{buildings[0]}电梯维修使用维修资金 ({mid})",
                    item=5,
                    scope=frozenset({buildings[0]}),
                )
            )
        elif kind == 2:
            motions.append(
                Motion(
                    id=mid,
                    title=f"选举业主委员会委员 ({mid})",
                    item=3,
                    type=MotionType.ELECTION,
                    seats=2,
                    candidates=("张伟", "王芳", "李娜", "刘洋"),
                )
            )
        elif kind == 3:
            motions.append(
                Motion(
                    id=mid,
                    title=f"选聘物业服务企业 ({mid})",
                    item=4,
                    type=MotionType.CHOOSE_ONE,
                    candidates=("甲物业", "乙物业", "丙物业"),
                )
            )
        else:
            motions.append(Motion(id=mid, title=f"公共道路划设车位 ({mid})", item=8))
    return motions


def _choices(
    rng: random.Random, motions: Sequence[Motion], *, paper: bool
) -> dict[str, ChoiceValue]:
    choices: dict[str, ChoiceValue] = {}
    for motion in motions:
        if len(motions) > 1 and rng.random() < 0.03:
            continue  # left this motion blank
        if paper and rng.random() < 0.02:
            choices[motion.id] = Choice.INVALID.value
        elif rng.random() < 0.05:
            choices[motion.id] = Choice.ABSTAIN.value
        elif motion.type == MotionType.YES_NO:
            choices[motion.id] = rng.choices(["agree", "oppose"], [78, 22])[0]
        elif motion.type == MotionType.CHOOSE_ONE:
            choices[motion.id] = rng.choices(list(motion.candidates), [5, 3, 2])[0]
        else:
            picks = rng.sample(list(motion.candidates), rng.randint(1, motion.seats))
            choices[motion.id] = picks
    if not choices:
        choices[motions[0].id] = Choice.ABSTAIN.value
    return choices


_Logged = TypeVar("_Logged", bound=Entry)  # what _Recorder.append logs


class _Recorder:
    """Appends entries to a Merkle log and signs checkpoints, like the service."""

    def __init__(self, *, meeting: str, service: NoteSigner) -> None:
        self.meeting = meeting
        self.origin = origin_for(meeting)
        self.service = service
        self.entries: list[Entry] = []
        self.log = MerkleLog(MemoryNodeStore())
        self.checkpoints: list[str] = []

    @property
    def next_index(self) -> int:
        return len(self.entries)

    def append(self, entry: _Logged) -> _Logged:
        assert entry.index == len(self.entries)
        self.entries.append(entry)
        self.log.append(entry_bytes(entry))
        return entry

    def checkpoint(self, *cosigners: tuple[CosignatureSigner, int]) -> str:
        size = self.log.size
        body = Checkpoint(origin=self.origin, size=size, root_hash=self.log.root()).body()
        note = sign_note(body, self.service)
        lines = [signer.cosign(body, timestamp) for signer, timestamp in cosigners]
        if lines:
            note = add_signatures(note, *lines)
        return note


@dataclass(slots=True)
class _Event:
    time: datetime
    order: int
    kind: Channel
    member: str
    choices: dict[str, ChoiceValue]
    holder: str = ""


def simulate(
    *,
    members: int,
    motions: int,
    seed: int = 0,
    policy: DuplicatePolicy = DuplicatePolicy.LATEST_WINS,
) -> Simulation:
    """Record a whole synthetic meeting of ``members`` voting members and ``motions`` motions."""
    if members < 3:
        raise ValueError(f"simulate needs at least 3 members, got {members}")
    if motions < 1:
        raise ValueError(f"simulate needs at least 1 motion, got {motions}")
    rng = random.Random(seed)
    meeting = f"sim-{seed}"
    service_key = SigningKey.from_seed(_seed("service", seed))
    officer_key = SigningKey.from_seed(_seed("officer", seed))
    service = NoteSigner(SERVICE_NAME, service_key)
    officer = CosignatureSigner(OFFICER_NAME, officer_key)
    officer_key_id = officer.key_id.hex()

    units = _units(rng, members)
    roster = group_members(units)
    keys = {m.id: derive_signing_key(meeting, rng.randbytes(16)) for m in roster.members}
    wire = roster_to_wire(
        roster, keys={k: v.public_key for k, v in keys.items()}, salt=_seed("owners", seed)
    )
    buildings = sorted({u.building for u in units})
    agenda = _motions(motions, buildings)
    settings = MeetingSettings(
        duplicate_policy=policy,
        max_changes=1 if policy == DuplicatePolicy.LATEST_WINS else None,
        proxy_cap=3,
        objection_days=7,
        retention_years=3,
        notice_days=15,
        voting_min_days=5,
        voting_max_days=60,
    )
    notice_at = _START
    open_at = notice_at + timedelta(days=15)
    close_at = open_at + timedelta(days=14)

    rec = _Recorder(meeting=meeting, service=service)
    notice = notice_entry(
        meeting=meeting,
        time=notice_at - timedelta(days=1),  # submitted the day before it is posted
        title="2025年第一次业主大会会议 (模拟)",
        convener="示例小区业主委员会",
        estate="示例小区",
        motions=agenda,
        settings=settings,
        roster=wire,
        notice_at=notice_at,
        open_at=open_at,
        close_at=close_at,
    )
    rec.append(notice)
    notice_hash = rec.log.root(1)  # the leaf hash of entry 0 is the root of a size-1 log
    # The officer approves before the notice is posted: the notice period runs from the
    # later of the two (docs/verification.md, check 12).
    approve_at = notice_at - timedelta(hours=2)
    body = approval_body(meeting=meeting, notice=notice_hash.hex(), roster_root=notice.roster_root)
    rec.append(
        approval_entry(
            meeting=meeting,
            index=rec.next_index,
            time=approve_at,
            officer=OFFICER_NAME,
            key_id=officer_key_id,
            notice=notice_hash.hex(),
            roster_root=notice.roster_root,
            signature=officer_key.sign(Domain.APPROVAL, body),
        )
    )
    earlier = [rec.checkpoint((officer, int(approve_at.timestamp())))]

    # A lost letter: revoked, then replaced with a new credential. The officer
    # signs each change on their device (the convener's written request hashed in).
    lost = roster.members[1].id
    old_key = keys[lost]
    new_key = derive_signing_key(meeting, rng.randbytes(16))
    when = notice_at + timedelta(days=3)
    revoke_reason, replace_reason = "凭证遗失 letter lost", "补发凭证 replacement letter"
    revoke_request = sha256_hex(b"simulated written request: revoke the lost letter")
    replace_request = sha256_hex(b"simulated written request: issue a replacement letter")
    old_hex, new_hex = old_key.public_key.hex(), new_key.public_key.hex()
    rec.append(
        credential_revoked_entry(
            meeting=meeting,
            index=rec.next_index,
            time=when,
            member=lost,
            key=old_key.public_key,
            reason=revoke_reason,
            request=revoke_request,
            officer=OFFICER_NAME,
            key_id=officer_key_id,
            signature=officer_key.sign(
                Domain.CREDENTIAL_CHANGE,
                credential_change_body(
                    meeting=meeting,
                    member=lost,
                    old_key=old_hex,
                    new_key=None,
                    reason=revoke_reason,
                    request=revoke_request,
                ),
            ),
        )
    )
    rec.append(
        credential_replaced_entry(
            meeting=meeting,
            index=rec.next_index,
            time=when + timedelta(hours=1),
            member=lost,
            old_key=old_key.public_key,
            new_key=new_key.public_key,
            reason=replace_reason,
            request=replace_request,
            officer=OFFICER_NAME,
            key_id=officer_key_id,
            signature=officer_key.sign(
                Domain.CREDENTIAL_CHANGE,
                credential_change_body(
                    meeting=meeting,
                    member=lost,
                    old_key=old_hex,
                    new_key=new_hex,
                    reason=replace_reason,
                    request=replace_request,
                ),
            ),
        )
    )
    keys[lost] = new_key
    # An owner objects to the roster, signing the request with their credential key;
    # the nonce is derived (not drawn from rng) so the ballots stay the same.
    objector = roster.members[-1].id
    objection_text = b"simulated objection to a roster entry"
    objection_nonce = _seed(f"objection-{objector}", seed)[:16].hex()
    objection = rec.append(
        objection_entry(
            meeting=meeting,
            index=rec.next_index,
            time=notice_at + timedelta(days=5),
            subject="roster",
            member=objector,
            document=objection_text,
            key=keys[objector].public_key,
            nonce=objection_nonce,
            signature=keys[objector].sign(
                Domain.OBJECTION,
                objection_body(
                    meeting=meeting,
                    key=keys[objector].public_key.hex(),
                    subject="roster",
                    document=hashlib.sha256(objection_text).hexdigest(),
                    nonce=objection_nonce,
                ),
            ),
        )
    )
    rec.append(
        objection_answer_entry(
            meeting=meeting,
            index=rec.next_index,
            time=notice_at + timedelta(days=6),
            objection=objection.index,
            decision="rejected",
            document=b"simulated answer: the area matches the land register",
            by=OFFICER_NAME,
        )
    )
    rec.append(open_entry(meeting=meeting, index=rec.next_index, time=open_at))

    # Voting: most members online, some on paper, a few by proxy; some change their vote.
    window = int((close_at - open_at).total_seconds()) - 1
    events: list[_Event] = []
    ids = [m.id for m in roster.members]
    for position, member_id in enumerate(ids):
        forced = {0: Channel.ONLINE, 1: Channel.ONLINE, 2: Channel.PAPER, 3: Channel.PROXY}
        if position not in forced and rng.random() >= 0.8:
            continue
        channel = (
            forced.get(position)
            or rng.choices([Channel.ONLINE, Channel.PAPER, Channel.PROXY], [88, 10, 2])[0]
        )
        at = open_at + timedelta(seconds=rng.randint(0, window))
        paper = channel is Channel.PAPER
        events.append(
            _Event(at, len(events), channel, member_id, _choices(rng, agenda, paper=paper))
        )
        if channel is Channel.PROXY:
            events[-1].holder = owner_tag(f"holder-{position // 3}", salt=_seed("owners", seed))
        second = position == 0 or rng.random() < 0.05
        if second and policy != DuplicatePolicy.ONE_VOTE_ONLY:
            later = at + timedelta(seconds=rng.randint(1, max(1, window // 10)))
            later = min(later, close_at - timedelta(seconds=1))
            again = Channel.ONLINE
            if policy in (DuplicatePolicy.ONLINE_PREVAILS, DuplicatePolicy.PAPER_PREVAILS):
                again = Channel.PAPER if channel is Channel.ONLINE else Channel.ONLINE
            events.append(
                _Event(later, len(events), again, member_id, _choices(rng, agenda, paper=False))
            )
    events.sort(key=lambda e: (e.time, e.order))

    marks = {len(events) // 3, (2 * len(events)) // 3}
    receipts: list[Receipt] = []
    pending: list[BallotEntry | ProxyBallotEntry] = []
    rows = []
    for number, event in enumerate(events):
        entry = _cast(
            rec, event, keys=keys, rng=rng, roster_root=notice.roster_root, service_key=service_key
        )
        rows.extend(entry_rows(entry, event.member))
        if isinstance(entry, BallotEntry | ProxyBallotEntry) and len(pending) < 2:
            pending.append(entry)
        if number + 1 in marks:
            note = rec.checkpoint()
            earlier.append(note)
            for logged in pending:
                proof = ReceiptProof(
                    checkpoint=note,
                    inclusion=[
                        h.hex() for h in rec.log.inclusion_proof(logged.index, rec.log.size)
                    ],
                )
                receipts.append(build_receipt(entry=logged, service_key=service_key, proof=proof))
            pending = []

    closing = rec.append(
        closing_entry(meeting=meeting, index=rec.next_index, time=close_at, closed_at=close_at)
    )
    earlier.append(rec.checkpoint())
    result = tally(roster=roster, motions=agenda, ballots=rows, settings=settings.tally_settings())
    tallied_at = close_at + timedelta(hours=1)
    tally_record = rec.append(
        tally_entry(
            meeting=meeting,
            index=rec.next_index,
            time=tallied_at,
            inputs_size=closing.index + 1,
            inputs_root=rec.log.root(closing.index + 1),
            result=result_to_dict(result),
            service_key=service_key,
        )
    )
    tally_hash = leaf_hash(entry_bytes(tally_record))
    complaint = rec.append(
        objection_entry(
            meeting=meeting,
            index=rec.next_index,
            time=tallied_at + timedelta(days=1),
            subject="tally",
            member=roster.members[0].id,
            document=b"simulated objection to the tally",
            staff="staff-1",  # handed in on paper and recorded by staff
        )
    )
    rec.append(
        objection_answer_entry(
            meeting=meeting,
            index=rec.next_index,
            time=tallied_at + timedelta(days=2),
            objection=complaint.index,
            decision="rejected",
            document=b"simulated answer: recount matches",
            by=OFFICER_NAME,
        )
    )
    certify_at = tallied_at + timedelta(days=settings.objection_days + 1)
    size, root = rec.log.size, rec.log.root()
    earlier.append(rec.checkpoint((officer, int(certify_at.timestamp()))))
    cert_body = certification_body(
        meeting=meeting, tally=tally_hash.hex(), size=size, root=root.hex()
    )
    certification = rec.append(
        certification_entry(
            meeting=meeting,
            index=rec.next_index,
            time=certify_at,
            officer=OFFICER_NAME,
            key_id=officer_key_id,
            tally=tally_hash.hex(),
            size=size,
            root=root.hex(),
            signature=officer_key.sign(Domain.CERTIFICATION, cert_body),
        )
    )
    rec.append(
        publication_entry(
            meeting=meeting,
            index=rec.next_index,
            time=certify_at + timedelta(hours=1),
            certification=leaf_hash(entry_bytes(certification)).hex(),
            disclosure=settings.disclosure,
        )
    )
    latest = rec.checkpoint()
    final = rec.log.size
    checkpoints = []
    for note in earlier:
        earlier_size = int(note.split("\n")[1])
        consistency = rec.log.consistency_proof(earlier_size, final)
        checkpoints.append(EarlierCheckpoint(note=note, consistency=[h.hex() for h in consistency]))
    bundle = build_bundle(
        meeting=meeting,
        origin=rec.origin,
        service_key=service.verifier().key_string(),
        officers=[
            OfficerKey(
                name=OFFICER_NAME,
                display_name="王芳 Wang Fang",
                subdistrict="示例街道 Example Subdistrict",
                key=officer.verifier().key_string(),
            )
        ],
        entries=rec.entries,
        checkpoint=latest,
        checkpoints=checkpoints,
    )
    return Simulation(
        bundle=bundle,
        entries=tuple(rec.entries),
        service=service,
        officer=officer,
        service_key=service_key,
        officer_key=officer_key,
        member_keys=keys,
        receipts=tuple(receipts),
    )


def _cast(
    rec: _Recorder,
    event: _Event,
    *,
    keys: dict[str, SigningKey],
    rng: random.Random,
    roster_root: str,
    service_key: SigningKey,
) -> BallotEntry | PaperBallotEntry | ProxyBallotEntry:
    meeting = rec.meeting
    if event.kind is Channel.PAPER:
        return rec.append(
            paper_ballot_entry(
                meeting=meeting,
                index=rec.next_index,
                time=event.time,
                member=event.member,
                choices=event.choices,
                sheet=rng.randbytes(32),
                staff="staff-1",
                entered_at=event.time,
                service_key=service_key,
            )
        )
    key = keys[event.member]
    ballot: Ballot = build_ballot(
        meeting=meeting,
        member=key.public_key,
        choices=event.choices,
        roster_root=roster_root,
        nonce=rng.randbytes(16).hex(),
    )
    signature = sign_ballot(ballot, key)
    if event.kind is Channel.PROXY:
        return rec.append(
            proxy_ballot_entry(
                meeting=meeting,
                index=rec.next_index,
                time=event.time,
                ballot=ballot,
                signature=signature,
                authorisation=rng.randbytes(32),
                holder=event.holder,
                staff="staff-1",
            )
        )
    return rec.append(
        ballot_entry(
            meeting=meeting,
            index=rec.next_index,
            time=event.time,
            ballot=ballot,
            signature=signature,
        )
    )
