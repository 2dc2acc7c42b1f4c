"""The public record of a meeting: checkpoints, proofs, the bundle, roster and result."""

from __future__ import annotations

from sqlalchemy import select

from crypto.notes import CosignatureVerifier
from crypto.signing import PublicKey
from votes.enums import MeetingState
from votes.record.bundle import EarlierCheckpoint, OfficerKey, build_bundle, encode_bundle
from votes.record.entries import decode_entry
from votes.rules import format_area
from votes.service._common import (
    MeetingInfo,
    checkpoint_note,
    checkpoint_origin,
    ensure_checkpoint,
    find_meeting,
    load_notice,
)
from votes.service.actors import meeting_not_found
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid, NotFound
from votes.service.results import objection_deadline, tally_record
from votes.service.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    PublicMemberOut,
    PublicRosterOut,
    PublicUnitOut,
    ResultOut,
)
from votes.storage import get_entries, log_repo
from votes.storage.models import (
    Ballot,
    Checkpoint,
    Cosignature,
    CredentialRequest,
    Region,
    StaffAccount,
)
from votes.storage.models import (
    OfficerKey as OfficerKeyRow,
)

__all__ = [
    "bundle",
    "consistency_proof",
    "inclusion_proof",
    "latest_checkpoint",
    "public_roster",
    "result",
]

_PRIVATE = (MeetingState.DRAFT,)


async def _public(session: object, code: str) -> MeetingInfo:
    info = await find_meeting(session, code)  # type: ignore[arg-type]
    if info.meeting.state in _PRIVATE:
        raise meeting_not_found(code)
    return info


async def latest_checkpoint(ctx: ServiceContext, code: str) -> CheckpointOut:
    """The signed checkpoint of the whole log (signed now if the log grew since the last)."""
    async with ctx.sessions.begin() as session:
        info = await _public(session, code)
        checkpoint = await ensure_checkpoint(ctx, session, info)
        return CheckpointOut(
            size=checkpoint.size,
            root=checkpoint.root.hex(),
            note=await checkpoint_note(session, checkpoint),
        )


def _range_error(exc: Exception) -> Invalid:
    return Invalid("bad_log_range", "日志范围无效", str(exc))


async def inclusion_proof(
    ctx: ServiceContext,
    code: str,
    *,
    ballot_hash: str | None = None,
    index: int | None = None,
    size: int | None = None,
) -> InclusionProofOut:
    """The proof that entry ``index`` (or the entry of ``ballot_hash``) is in the log of
    ``size`` entries (default: the latest signed checkpoint's size)."""
    if (ballot_hash is None) == (index is None):
        raise Invalid(
            "bad_proof_request", "请给出选票哈希或日志序号之一", "give either ballot_hash or index"
        )
    async with ctx.sessions.begin() as session:
        info = await _public(session, code)
        meeting = info.meeting
        if ballot_hash is not None:
            try:
                digest = bytes.fromhex(ballot_hash)
            except ValueError:
                digest = b""
            row = await session.get(Ballot, (meeting.estate_id, meeting.id, digest))
            if row is None:
                raise NotFound(
                    "ballot_not_found",
                    "日志中没有这张选票",
                    f"no ballot with hash {ballot_hash} in this meeting",
                )
            index = row.log_index
        assert index is not None
        if size is None:
            checkpoint = await ensure_checkpoint(ctx, session, info)
        else:
            found = await session.get(Checkpoint, (meeting.estate_id, meeting.id, size))
            if found is None:
                raise NotFound(
                    "checkpoint_not_found",
                    f"没有大小为 {size} 的检查点",
                    f"no signed checkpoint of size {size}; use the latest checkpoint",
                )
            checkpoint = found
        try:
            proof = await log_repo.inclusion_proof(
                session,
                estate_id=meeting.estate_id,
                meeting_id=meeting.id,
                index=index,
                size=checkpoint.size,
            )
        except log_repo.LogRangeError as exc:
            raise _range_error(exc) from None
        entry = await get_entries(
            session, estate_id=meeting.estate_id, meeting_id=meeting.id, start=index, stop=index + 1
        )
        from crypto.merkle import leaf_hash  # noqa: PLC0415

        return InclusionProofOut(
            index=index,
            size=checkpoint.size,
            leaf_hash=leaf_hash(entry[0]).hex(),
            proof=[h.hex() for h in proof],
            checkpoint=await checkpoint_note(session, checkpoint),
        )


async def consistency_proof(
    ctx: ServiceContext, code: str, size1: int, size2: int
) -> ConsistencyProofOut:
    """The RFC 9162 proof that the log of ``size2`` entries extends the one of ``size1``."""
    async with ctx.readers() as session:
        info = await _public(session, code)
        try:
            proof = await log_repo.consistency_proof(
                session,
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                size1=size1,
                size2=size2,
            )
        except log_repo.LogRangeError as exc:
            raise _range_error(exc) from None
        return ConsistencyProofOut(size1=size1, size2=size2, proof=[h.hex() for h in proof])


async def bundle(ctx: ServiceContext, code: str) -> bytes:
    """Everything needed to verify the meeting offline (votes.record.bundle), as JSON bytes."""
    async with ctx.sessions.begin() as session:
        info = await _public(session, code)
        meeting = info.meeting
        latest = await ensure_checkpoint(ctx, session, info)
        raw = await get_entries(
            session, estate_id=meeting.estate_id, meeting_id=meeting.id, stop=latest.size
        )
        entries = [decode_entry(data) for data in raw]
        earlier = []
        stored = (
            await session.execute(
                select(Checkpoint)
                .where(
                    Checkpoint.estate_id == meeting.estate_id,
                    Checkpoint.meeting_id == meeting.id,
                    Checkpoint.size < latest.size,
                )
                .order_by(Checkpoint.size)
            )
        ).scalars()
        for checkpoint in stored:
            proof = await log_repo.consistency_proof(
                session,
                estate_id=meeting.estate_id,
                meeting_id=meeting.id,
                size1=checkpoint.size,
                size2=latest.size,
            )
            earlier.append(
                EarlierCheckpoint(
                    note=await checkpoint_note(session, checkpoint),
                    consistency=[h.hex() for h in proof],
                )
            )
        officers = await _officers(session, info)
        document = build_bundle(
            meeting=info.meeting_id,
            origin=checkpoint_origin(ctx, info.meeting_id),
            service_key=ctx.note_verifier.key_string(),
            officers=officers,
            entries=entries,
            checkpoint=await checkpoint_note(session, latest),
            checkpoints=earlier,
        )
        return encode_bundle(document)


async def _officers(session: object, info: MeetingInfo) -> list[OfficerKey]:
    """Every officer key that cosigned this meeting's checkpoints or signed a logged
    credential change (check 9 needs the key of every credential entry's officer)."""
    s = session
    rows = await s.execute(  # type: ignore[attr-defined]
        select(OfficerKeyRow, StaffAccount)
        .join(StaffAccount, StaffAccount.id == OfficerKeyRow.officer_id)
        .where(
            OfficerKeyRow.id.in_(
                select(Cosignature.officer_key_id).where(
                    Cosignature.estate_id == info.meeting.estate_id,
                    Cosignature.meeting_id == info.meeting.id,
                )
            )
            | OfficerKeyRow.id.in_(
                select(CredentialRequest.officer_key_id).where(
                    CredentialRequest.estate_id == info.meeting.estate_id,
                    CredentialRequest.meeting_id == info.meeting.id,
                    CredentialRequest.log_index.is_not(None),
                )
            )
        )
        .order_by(OfficerKeyRow.note_name)
    )
    region = await s.get(Region, info.estate.subdistrict_id)  # type: ignore[attr-defined]
    return [
        OfficerKey(
            name=key.note_name,
            display_name=staff.display_name,
            subdistrict="" if region is None else region.name,
            key=CosignatureVerifier(
                key.note_name, PublicKey.from_bytes(key.public_key)
            ).key_string(),
        )
        for key, staff in rows
    ]


async def public_roster(ctx: ServiceContext, code: str) -> PublicRosterOut:
    """The frozen roster in public form: units and areas by member, no names."""
    async with ctx.readers() as session:
        info = await _public(session, code)
        notice = await load_notice(session, info)
        members = [
            PublicMemberOut(
                id=m.id,
                developer=m.developer,
                area=format_area(sum(u.area for u in m.units)),
                units=[
                    PublicUnitOut(
                        number=u.number,
                        building=u.building,
                        area=format_area(u.area),
                        kind=u.kind.value,
                    )
                    for u in m.units
                ],
            )
            for m in notice.roster.members
        ]
        total = sum(u.area for m in notice.roster.members for u in m.units)
        return PublicRosterOut(
            meeting=info.meeting.code,
            roster_root=notice.roster_root,
            total_area=format_area(total),
            members=members,
        )


async def result(ctx: ServiceContext, code: str) -> ResultOut:
    """The signed tally of the meeting (provisional until certified)."""
    async with ctx.readers() as session:
        info = await _public(session, code)
        record = await tally_record(session, info.meeting)
        if record is None or record.log_index is None:
            raise Conflict(
                "not_tallied",
                "会议尚未计票",
                "the meeting has not been tallied yet",
                details={"state": info.meeting.state.value},
            )
        raw = await get_entries(
            session,
            estate_id=info.meeting.estate_id,
            meeting_id=info.meeting.id,
            start=record.log_index,
            stop=record.log_index + 1,
        )
        entry = decode_entry(raw[0])
        from votes.record.entries import TallyEntry  # noqa: PLC0415

        assert isinstance(entry, TallyEntry)
        return ResultOut(
            meeting=info.meeting.code,
            state=info.meeting.state,
            tally_hash=record.result_hash.hex(),
            tally_index=record.log_index,
            result=entry.result,
            certified=info.meeting.state
            in (MeetingState.CERTIFIED, MeetingState.PUBLISHED, MeetingState.ARCHIVED),
            objection_deadline=objection_deadline(info.meeting, record),
        )
