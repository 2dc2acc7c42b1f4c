"""Credential letters: secrets generated once for printing, only public keys stored."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.credentials import (
    credential_url,
    derive_signing_key,
    display_secret,
    format_secret,
    new_secret,
)
from crypto.signing import PublicKey, SignatureError
from votes.record.entries import credential_replaced_entry, credential_revoked_entry
from votes.service._common import (
    MeetingInfo,
    append,
    audit,
    find_meeting,
    require_convener,
    require_meeting_scope,
    require_state,
)
from votes.service.actors import Actor, require_role
from votes.service.context import ServiceContext
from votes.service.errors import Invalid, NotFound
from votes.service.schemas import LetterOut, LettersOut
from votes.storage.models import (
    Credential,
    CredentialStatus,
    MeetingState,
    RosterMember,
    StaffRole,
)

__all__ = [
    "issue_letters",
    "register_public_keys",
    "revoke_and_replace",
    "revoke_credential",
]

#: States in which a credential may be revoked or replaced (logged).
_CHANGEABLE = (MeetingState.APPROVED, MeetingState.NOTICE, MeetingState.OPEN)


async def _members(session: AsyncSession, info: MeetingInfo) -> list[RosterMember]:
    rows = await session.execute(
        select(RosterMember)
        .where(
            RosterMember.estate_id == info.meeting.estate_id,
            RosterMember.meeting_id == info.meeting.id,
        )
        .order_by(RosterMember.position)
    )
    return list(rows.scalars())


def _letter(
    ctx: ServiceContext, info: MeetingInfo, member: RosterMember
) -> tuple[LetterOut, bytes]:
    secret = new_secret()
    public = derive_signing_key(info.meeting_id, secret).public_key
    letter = LetterOut(
        member_id=member.member_id,
        units=[str(u["number"]) for u in member.units],
        public_key=public.hex(),
        code=format_secret(secret),
        display=display_secret(secret),
        url=credential_url(
            base_url=str(ctx.settings.base_url), meeting_code=info.meeting.code, secret=secret
        ),
    )
    return letter, public.raw


async def issue_letters(
    ctx: ServiceContext, actor: Actor, code: str, *, ip: str | None = None
) -> LettersOut:
    """New secrets for every member of a draft meeting, returned ONCE for printing.

    Any earlier letters of the draft are replaced (they were never published).
    """
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        require_convener(actor, info)
        require_state(info.meeting, "issue letters", MeetingState.DRAFT)
        members = await _members(session, info)
        if not members:
            raise Invalid(
                "roster_empty",
                "会议名册为空",
                "the meeting's roster is empty; import a roster first",
            )
        await session.execute(
            delete(Credential).where(
                Credential.estate_id == info.meeting.estate_id,
                Credential.meeting_id == info.meeting.id,
            )
        )
        letters = []
        now = ctx.now()
        for serial, member in enumerate(members, start=1):
            letter, raw = _letter(ctx, info, member)
            letters.append(letter)
            session.add(
                Credential(
                    estate_id=info.meeting.estate_id,
                    meeting_id=info.meeting.id,
                    public_key=raw,
                    member_id=member.member_id,
                    status=CredentialStatus.ISSUED,
                    letter_serial=f"{serial:06d}",
                    issued_at=now,
                )
            )
        await audit(
            session,
            ctx,
            actor,
            "credentials.issue",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"letters": len(letters)},
            ip=ip,
        )
        return LettersOut(meeting_code=code, meeting_id=info.meeting_id, letters=letters)


async def register_public_keys(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    keys: dict[str, str],
    *,
    ip: str | None = None,
) -> int:
    """Store public keys of letters made offline (member id -> key hex); draft only.

    Every key must be a valid Ed25519 key, unique, for a member of the roster.
    Returns the number of keys registered.
    """
    require_role(actor, StaffRole.CONVENER, StaffRole.OPERATOR, StaffRole.OFFICER)
    parsed: dict[str, bytes] = {}
    for member_id, text in keys.items():
        try:
            parsed[member_id] = PublicKey.from_hex(text.lower()).raw
        except (SignatureError, ValueError):
            raise Invalid(
                "bad_public_key",
                f"业主 {member_id} 的公钥无效",
                f"the public key for member {member_id!r} is not a valid Ed25519 key: {text!r}",
            ) from None
    if len(set(parsed.values())) != len(parsed):
        raise Invalid("duplicate_public_key", "公钥重复", "a public key is given twice")
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        require_meeting_scope(actor, info)
        require_state(info.meeting, "register keys", MeetingState.DRAFT)
        known = {m.member_id for m in await _members(session, info)}
        unknown = sorted(set(parsed) - known)
        if unknown:
            raise Invalid(
                "unknown_member",
                f"名册中没有业主 {unknown[0]}",
                f"member(s) not in the meeting's roster: {', '.join(unknown[:10])}",
                details={"members": unknown[:50]},
            )
        await session.execute(
            delete(Credential).where(
                Credential.estate_id == info.meeting.estate_id,
                Credential.meeting_id == info.meeting.id,
                Credential.member_id.in_(sorted(parsed)),
            )
        )
        taken = (
            await session.execute(
                select(Credential.public_key).where(
                    Credential.estate_id == info.meeting.estate_id,
                    Credential.meeting_id == info.meeting.id,
                    Credential.public_key.in_(list(parsed.values())),
                )
            )
        ).first()
        if taken is not None:
            raise Invalid(
                "duplicate_public_key",
                "该公钥已属于其他业主",
                "a key already belongs to another member",
            )
        now = ctx.now()
        for member_id, raw in parsed.items():
            session.add(
                Credential(
                    estate_id=info.meeting.estate_id,
                    meeting_id=info.meeting.id,
                    public_key=raw,
                    member_id=member_id,
                    status=CredentialStatus.ISSUED,
                    issued_at=now,
                )
            )
        await audit(
            session,
            ctx,
            actor,
            "credentials.register",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"keys": len(parsed)},
            ip=ip,
        )
        return len(parsed)


async def _active(session: AsyncSession, info: MeetingInfo, member_id: str) -> Credential:
    credential = await session.scalar(
        select(Credential).where(
            Credential.estate_id == info.meeting.estate_id,
            Credential.meeting_id == info.meeting.id,
            Credential.member_id == member_id,
            Credential.status == CredentialStatus.ISSUED,
        )
    )
    if credential is None:
        raise NotFound(
            "credential_not_found",
            f"业主 {member_id} 没有有效凭证",
            f"member {member_id!r} has no active credential in this meeting",
        )
    return credential


async def revoke_and_replace(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    member_id: str,
    *,
    reason: str,
    ip: str | None = None,
) -> LetterOut:
    """Replace a lost letter: the old key stops working, a new letter is returned ONCE. Logged."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        require_convener(actor, info)
        require_state(info.meeting, "replace a credential", *_CHANGEABLE)
        old = await _active(session, info, member_id)
        member = await session.get(
            RosterMember, (info.meeting.estate_id, info.meeting.id, member_id)
        )
        assert member is not None
        letter, raw = _letter(ctx, info, member)
        now = ctx.now()
        _, index = await append(
            ctx,
            session,
            info,
            lambda i: credential_replaced_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                member=member_id,
                old_key=PublicKey.from_bytes(old.public_key),
                new_key=PublicKey.from_bytes(raw),
                reason=reason,
            ),
        )
        old.status = CredentialStatus.REPLACED
        old.replaced_by = raw
        old.revoked_at = now
        session.add(
            Credential(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                public_key=raw,
                member_id=member_id,
                status=CredentialStatus.ISSUED,
                log_index=index,
                issued_at=now,
            )
        )
        await audit(
            session,
            ctx,
            actor,
            "credentials.replace",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"member": member_id, "index": index},
            ip=ip,
        )
        return letter


async def revoke_credential(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    member_id: str,
    *,
    reason: str,
    ip: str | None = None,
) -> int:
    """Revoke a member's credential without a replacement (logged); returns the log index."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        require_convener(actor, info)
        require_state(info.meeting, "revoke a credential", *_CHANGEABLE)
        old = await _active(session, info, member_id)
        now = ctx.now()
        _, index = await append(
            ctx,
            session,
            info,
            lambda i: credential_revoked_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                member=member_id,
                key=PublicKey.from_bytes(old.public_key),
                reason=reason,
            ),
        )
        old.status = CredentialStatus.REVOKED
        old.revoked_at = now
        await audit(
            session,
            ctx,
            actor,
            "credentials.revoke",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"member": member_id, "index": index},
            ip=ip,
        )
        return index
