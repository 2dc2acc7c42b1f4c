"""Officer keys and signatures: only enrolled, unrevoked keys of the acting officer count."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.notes import (
    CosignatureVerifier,
    NoteError,
    add_signatures,
    open_note,
)
from crypto.signing import Domain, PublicKey
from votes.enums import CosignatureKind
from votes.service._common import (
    MeetingInfo,
)
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Forbidden
from votes.storage.models import (
    Checkpoint,
    Cosignature,
    OfficerKey,
)

__all__ = ["check_signature", "cosign", "officer_key"]


async def officer_key(session: AsyncSession, actor: Actor, public_key_hex: str) -> OfficerKey:
    """The acting officer's enrolled, unrevoked key with this public key, else 403."""
    try:
        raw = bytes.fromhex(public_key_hex)
    except ValueError:
        raw = b""
    key = await session.scalar(select(OfficerKey).where(OfficerKey.public_key == raw))
    if key is None or key.officer_id != actor.staff_id:
        raise Forbidden(
            "officer_key_not_enrolled",
            "该公钥不是您已登记的街道办密钥",
            f"public key {public_key_hex} is not an enrolled key of yours",
            details={"public_key": public_key_hex},
        )
    if key.revoked_at is not None:
        raise Forbidden(
            "officer_key_revoked",
            "该街道办密钥已作废",
            f"officer key {key.note_name!r} was revoked at {key.revoked_at.isoformat()}",
            details={"public_key": public_key_hex},
        )
    return key


def check_signature(key: OfficerKey, domain: Domain, body: bytes, signature_hex: str) -> bytes:
    signature = bytes.fromhex(signature_hex)
    if not PublicKey.from_bytes(key.public_key).verify(domain, body, signature):
        raise Forbidden(
            "bad_officer_signature",
            "街道办签名无效（签名内容与本会议不符）",
            f"the officer signature does not verify over the exact {domain.value} body",
        )
    return signature


async def cosign(
    ctx: ServiceContext,
    session: AsyncSession,
    info: MeetingInfo,
    *,
    key: OfficerKey,
    checkpoint: Checkpoint,
    line: str,
    kind: CosignatureKind,
) -> None:
    """Verify a tlog-cosignature line by ``key`` over ``checkpoint`` and store it."""
    line = line.strip("\r\n") + "\n"
    verifier = CosignatureVerifier(key.note_name, PublicKey.from_bytes(key.public_key))
    try:
        open_note(add_signatures(checkpoint.note, line), [verifier])
    except NoteError as exc:
        raise Forbidden(
            "bad_cosignature",
            "检查点副署无效",
            f"the cosignature is not a valid signature by {key.note_name!r} over checkpoint "
            f"size {checkpoint.size}: {exc}",
            details={"size": checkpoint.size},
        ) from None
    existing = await session.get(
        Cosignature, (info.meeting.estate_id, info.meeting.id, checkpoint.size, key.id, kind)
    )
    if existing is None:
        session.add(
            Cosignature(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                size=checkpoint.size,
                officer_key_id=key.id,
                kind=kind,
                line=line,
                created_at=ctx.now(),
            )
        )
        await session.flush()
