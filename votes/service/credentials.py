"""Credential letters: secrets generated once for printing, only public keys stored.

Revoking or replacing a credential takes two people. The convener requests it
(stored as pending, audited, nothing logged; a replacement's new letter is
printed at once but its key is not active yet); the subdistrict officer signs
the change on their own device (Domain.CREDENTIAL_CHANGE over
:func:`votes.record.entries.credential_change_body`), and only then is the
``credential-revoked`` / ``credential-replaced`` entry logged with that
signature. ``votes verify`` check 9 verifies it, so the service alone cannot
swap in a key of its own for an owner who has not voted
(docs/verification.md § credential-revoked / credential-replaced).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.credentials import (
    credential_url,
    derive_signing_key,
    display_secret,
    format_secret,
    new_secret,
)
from crypto.signing import Domain, PublicKey, SignatureError
from votes.enums import (
    CredentialChangeKind,
    CredentialRequestState,
    CredentialStatus,
    MeetingState,
    StaffRole,
)
from votes.record.entries import (
    credential_change_body,
    credential_replaced_entry,
    credential_revoked_entry,
)
from votes.service._common import (
    CONVENERS,
    OFFICERS,
    MeetingInfo,
    Step,
    Transition,
    append,
    find_meeting,
    require_meeting_scope,
    require_state,
)
from votes.service._officers import check_signature, officer_key
from votes.service.actors import Actor, require_role
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid, NotFound
from votes.service.schemas import (
    CredentialRequestOut,
    LetterOut,
    LettersOut,
    PendingReplacementOut,
    ReplaceCredentialRequest,
    SignCredentialChangeRequest,
)
from votes.storage.models import (
    Credential,
    CredentialRequest,
    Estate,
    Meeting,
    RosterMember,
    StaffAccount,
)

__all__ = [
    "approve_change",
    "change_request",
    "issue_letters",
    "list_change_requests",
    "member_key",
    "refuse_change",
    "register_public_keys",
    "request_replacement",
    "request_revocation",
]

#: States in which a credential may be revoked or replaced (logged).
_CHANGEABLE = (MeetingState.APPROVED, MeetingState.NOTICE, MeetingState.OPEN)


def member_key(member_id: str, text: str) -> bytes:
    """The raw bytes of a member's credential public key given as hex, or 422 ``bad_public_key``.

    Beyond decoding, the key must be a valid Ed25519 point outside the small-order
    subgroup (:meth:`crypto.signing.PublicKey.check_point`): anyone can make a
    signature that "verifies" under a small-order key such as the identity, so
    such a key would let anyone vote in the member's name.
    """
    try:
        return PublicKey.from_hex(text.lower()).check_point().raw
    except (SignatureError, ValueError):
        raise Invalid(
            "bad_public_key",
            f"业主 {member_id} 的公钥无效（不是有效的 Ed25519 公钥）",
            f"the public key for member {member_id!r} is not a valid Ed25519 key "
            f"(a canonical curve point of prime order): {text!r}",
            details={"member": member_id},
        ) from None


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


_ISSUE_LETTERS = Transition(
    "issue letters", "credentials.issue", CONVENERS, (MeetingState.DRAFT,), answered=False
)


async def issue_letters(
    ctx: ServiceContext, code: str, *, actor: Actor, ip: str | None = None
) -> LettersOut:
    """New secrets for every member of a draft meeting, returned ONCE for printing.

    Any earlier letters of the draft are replaced (they were never published).
    """
    async with _ISSUE_LETTERS(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
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
        step.details = {"letters": len(letters)}
    return LettersOut(meeting_code=code, meeting_id=step.info.meeting_id, letters=letters)


_REGISTER_KEYS = Transition(
    "register keys", "credentials.register", None, (MeetingState.DRAFT,), answered=False
)


async def register_public_keys(
    ctx: ServiceContext,
    code: str,
    keys: dict[str, str],
    *,
    actor: Actor,
    ip: str | None = None,
) -> int:
    """Store public keys of letters made offline (member id -> key hex); draft only.

    Every key must be a valid Ed25519 key, unique, for a member of the roster.
    Returns the number of keys registered.
    """
    require_role(actor, StaffRole.CONVENER, StaffRole.OPERATOR, StaffRole.OFFICER)
    parsed: dict[str, bytes] = {}
    for member_id, text in keys.items():
        parsed[member_id] = member_key(member_id, text)
    if len(set(parsed.values())) != len(parsed):
        raise Invalid("duplicate_public_key", "公钥重复", "a public key is given twice")
    async with _REGISTER_KEYS(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
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
        step.details = {"keys": len(parsed)}
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


# ------------------------------------------------------------------ requests


def _body(meeting_id: str, request: CredentialRequest) -> bytes:
    """The credential change body of ``request``: what the officer signs."""
    return credential_change_body(
        meeting=meeting_id,
        member=request.member_id,
        old_key=request.old_key.hex(),
        new_key=None if request.new_key is None else request.new_key.hex(),
        reason=request.reason,
        request=request.request_hash.hex(),
    )


async def _request_out(
    session: AsyncSession, meeting: Meeting, request: CredentialRequest
) -> CredentialRequestOut:
    member = await session.get(RosterMember, (meeting.estate_id, meeting.id, request.member_id))
    names = {
        row.id: row.username
        for row in (
            await session.execute(
                select(StaffAccount.id, StaffAccount.username).where(
                    StaffAccount.id.in_(
                        [i for i in (request.requested_by, request.decided_by) if i is not None]
                    )
                )
            )
        )
    }
    return CredentialRequestOut(
        id=request.id,
        meeting_code=meeting.code,
        meeting_id=str(meeting.id),
        member_id=request.member_id,
        units=[] if member is None else [str(u["number"]) for u in member.units],
        kind=request.kind.value,
        old_key=request.old_key.hex(),
        new_key=None if request.new_key is None else request.new_key.hex(),
        reason=request.reason,
        request_sha256=request.request_hash.hex(),
        state=request.state.value,
        requested_by=names.get(request.requested_by, str(request.requested_by)),
        requested_at=request.requested_at,
        body=_body(str(meeting.id), request).decode(),
        decided_by=None if request.decided_by is None else names.get(request.decided_by),
        decided_at=request.decided_at,
        refusal=request.refusal,
        log_index=request.log_index,
    )


async def _new_request(
    step: Step, change: ReplaceCredentialRequest, *, actor: Actor, new_key: bytes | None
) -> CredentialRequest:
    """Store a pending change of the member's active credential (one at a time): its
    replacement by ``new_key``, or without one its revocation; the step audits it."""
    session, info, member_id = step.session, step.info, change.member_id
    old = await _active(session, info, member_id)
    pending = await session.scalar(
        select(CredentialRequest.id).where(
            CredentialRequest.estate_id == info.meeting.estate_id,
            CredentialRequest.meeting_id == info.meeting.id,
            CredentialRequest.member_id == member_id,
            CredentialRequest.state == CredentialRequestState.PENDING,
        )
    )
    if pending is not None:
        raise Conflict(
            "credential_request_pending",
            f"业主 {member_id} 已有待街道办签署的凭证变更申请",
            f"member {member_id!r} already has a credential change waiting for the officer",
            details={"member": member_id, "request": str(pending)},
        )
    request = CredentialRequest(
        estate_id=info.meeting.estate_id,
        id=uuid.uuid4(),
        meeting_id=info.meeting.id,
        member_id=member_id,
        kind=CredentialChangeKind.REVOKE if new_key is None else CredentialChangeKind.REPLACE,
        old_key=old.public_key,
        new_key=new_key,
        reason=change.reason,
        request_hash=bytes.fromhex(change.request_sha256),
        state=CredentialRequestState.PENDING,
        requested_by=actor.staff_id,
        requested_at=step.ctx.now(),
    )
    session.add(request)
    await session.flush()
    step.details = {"member": member_id, "request": str(request.id)}
    return request


_REQUEST_REPLACE = Transition(
    "replace a credential", "credentials.request_replace", CONVENERS, _CHANGEABLE, answered=False
)


async def request_replacement(
    ctx: ServiceContext,
    code: str,
    change: ReplaceCredentialRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> PendingReplacementOut:
    """Request a replacement of a lost letter; the new letter is returned ONCE.

    Nothing is logged and the old key keeps working until the officer signs the
    change (:func:`approve_change`); the new key works from then on.
    """
    async with _REQUEST_REPLACE(ctx, code, actor=actor, ip=ip) as step:
        session, info, member_id = step.session, step.info, change.member_id
        await _active(session, info, member_id)  # credential_not_found before any secret
        member = await session.get(
            RosterMember, (info.meeting.estate_id, info.meeting.id, member_id)
        )
        assert member is not None  # an active credential belongs to a roster member
        letter, raw = _letter(ctx, info, member)
        request = await _new_request(step, change, actor=actor, new_key=raw)
        return PendingReplacementOut(
            request=await _request_out(session, info.meeting, request), letter=letter
        )


_REQUEST_REVOKE = Transition(
    "revoke a credential", "credentials.request_revoke", CONVENERS, _CHANGEABLE, answered=False
)


async def request_revocation(
    ctx: ServiceContext,
    code: str,
    change: ReplaceCredentialRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> CredentialRequestOut:
    """Request revoking a member's credential without a replacement (pending the officer)."""
    async with _REQUEST_REVOKE(ctx, code, actor=actor, ip=ip) as step:
        request = await _new_request(step, change, actor=actor, new_key=None)
        return await _request_out(step.session, step.meeting, request)


async def _find_request(
    session: AsyncSession, info: MeetingInfo, request_id: uuid.UUID, *, lock: bool = False
) -> CredentialRequest:
    statement = select(CredentialRequest).where(
        CredentialRequest.estate_id == info.meeting.estate_id,
        CredentialRequest.meeting_id == info.meeting.id,
        CredentialRequest.id == request_id,
    )
    request = await session.scalar(statement.with_for_update() if lock else statement)
    if request is None:
        raise NotFound(
            "credential_request_not_found",
            "没有该凭证变更申请",
            f"no credential change request {request_id} in this meeting",
        )
    return request


def _require_pending(request: CredentialRequest) -> None:
    if request.state != CredentialRequestState.PENDING:
        raise Conflict(
            "credential_request_decided",
            "该凭证变更申请已处理",
            f"the credential change request was already {request.state.value}",
            details={"state": request.state.value},
        )


async def change_request(
    ctx: ServiceContext, code: str, request_id: uuid.UUID, *, actor: Actor
) -> CredentialRequestOut:
    """One credential change request, with the exact body the officer signs."""
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code)
        require_meeting_scope(actor, info)
        require_role(actor, StaffRole.CONVENER, StaffRole.OPERATOR, StaffRole.OFFICER)
        return await _request_out(
            session, info.meeting, await _find_request(session, info, request_id)
        )


async def list_change_requests(
    ctx: ServiceContext,
    *,
    actor: Actor,
    code: str | None = None,
    state: CredentialRequestState | None = CredentialRequestState.PENDING,
) -> list[CredentialRequestOut]:
    """Credential change requests (by default the pending ones), oldest first.

    With ``code``, those of one meeting (its conveners and officers); without,
    every meeting in the actor's scope — an officer's subdistricts, a convener's
    estates — so the officer sees every replacement waiting for them.
    """
    async with ctx.sessions.begin() as session:
        statement = (
            select(CredentialRequest, Meeting)
            .join(
                Meeting,
                (Meeting.estate_id == CredentialRequest.estate_id)
                & (Meeting.id == CredentialRequest.meeting_id),
            )
            .join(Estate, Estate.id == CredentialRequest.estate_id)
            .order_by(CredentialRequest.requested_at, CredentialRequest.id)
        )
        if code is not None:
            info = await find_meeting(session, code)
            require_meeting_scope(actor, info)
            require_role(actor, StaffRole.CONVENER, StaffRole.OPERATOR, StaffRole.OFFICER)
            statement = statement.where(
                CredentialRequest.estate_id == info.meeting.estate_id,
                CredentialRequest.meeting_id == info.meeting.id,
            )
        elif actor.role == StaffRole.OFFICER:
            statement = statement.where(Estate.subdistrict_id.in_(sorted(actor.subdistrict_ids)))
        elif actor.role == StaffRole.CONVENER:
            statement = statement.where(CredentialRequest.estate_id.in_(sorted(actor.estate_ids)))
        if state is not None:
            statement = statement.where(CredentialRequest.state == state)
        rows = (await session.execute(statement)).all()
        return [await _request_out(session, meeting, request) for request, meeting in rows]


# Which change it is (and so the state's verb and the audited action) comes with the request.
_SIGN_CHANGE = Transition("change a credential", "credentials.change", OFFICERS, answered=False)


async def approve_change(
    ctx: ServiceContext,
    code: str,
    request_id: uuid.UUID,
    signed: SignCredentialChangeRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> CredentialRequestOut:
    """The officer's signature on a pending change: verified, then the change is logged.

    The signature must be by an enrolled, unrevoked key of an officer of the
    estate's subdistrict, in Domain.CREDENTIAL_CHANGE over the request's body;
    it goes into the log entry, where ``votes verify`` checks it again.
    """
    async with _SIGN_CHANGE(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
        request = await _find_request(session, info, request_id, lock=True)
        _require_pending(request)
        action = (
            "replace a credential"
            if request.kind == CredentialChangeKind.REPLACE
            else "revoke a credential"
        )
        require_state(info.meeting, action, *_CHANGEABLE)
        key = await officer_key(session, actor, signed.public_key.lower())
        body = _body(info.meeting_id, request)
        signature = check_signature(key, Domain.CREDENTIAL_CHANGE, body, signed.signature.lower())
        old = await _active(session, info, request.member_id)
        # One pending request per member, made against the active key: it is still the
        # active key unless the credentials table was changed some other way.
        if old.public_key != request.old_key:
            raise Conflict(
                "credential_changed",
                "该业主的凭证在申请后已变更，请重新申请",
                "the member's active credential changed after the request; request again",
            )
        now = ctx.now()
        new_key = request.new_key
        if new_key is None:
            _, index = await append(
                ctx,
                session,
                info,
                lambda i: credential_revoked_entry(
                    meeting=info.meeting_id,
                    index=i,
                    time=now,
                    member=request.member_id,
                    key=PublicKey.from_bytes(old.public_key),
                    reason=request.reason,
                    request=request.request_hash.hex(),
                    officer=key.note_name,
                    key_id=key.note_key_id.hex(),
                    signature=signature,
                ),
            )
            old.status = CredentialStatus.REVOKED
            old.revoked_at = now
        else:
            _, index = await append(
                ctx,
                session,
                info,
                lambda i: credential_replaced_entry(
                    meeting=info.meeting_id,
                    index=i,
                    time=now,
                    member=request.member_id,
                    old_key=PublicKey.from_bytes(old.public_key),
                    new_key=PublicKey.from_bytes(new_key),
                    reason=request.reason,
                    request=request.request_hash.hex(),
                    officer=key.note_name,
                    key_id=key.note_key_id.hex(),
                    signature=signature,
                ),
            )
            old.status = CredentialStatus.REPLACED
            old.replaced_by = new_key
            old.revoked_at = now
            session.add(
                Credential(
                    estate_id=info.meeting.estate_id,
                    meeting_id=info.meeting.id,
                    public_key=new_key,
                    member_id=request.member_id,
                    status=CredentialStatus.ISSUED,
                    log_index=index,
                    issued_at=now,
                )
            )
        request.state = CredentialRequestState.APPROVED
        request.signature = signature
        request.officer_key_id = key.id
        request.decided_by = actor.staff_id
        request.decided_at = now
        request.log_index = index
        step.action = (
            "credentials.replace"
            if request.kind == CredentialChangeKind.REPLACE
            else "credentials.revoke"
        )
        step.details = {
            "member": request.member_id,
            "index": index,
            "request": str(request.id),
            "officer_key": key.note_name,
        }
        await session.flush()
        return await _request_out(session, info.meeting, request)


_REFUSE_CHANGE = Transition(
    "refuse a credential change", "credentials.refuse_change", OFFICERS, answered=False
)


async def refuse_change(
    ctx: ServiceContext,
    code: str,
    request_id: uuid.UUID,
    *,
    actor: Actor,
    reason: str,
    ip: str | None = None,
) -> CredentialRequestOut:
    """The officer refuses a pending change (audited; nothing is logged, the old key stays)."""
    async with _REFUSE_CHANGE(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
        request = await _find_request(session, info, request_id, lock=True)
        _require_pending(request)
        request.state = CredentialRequestState.REFUSED
        request.refusal = reason
        request.decided_by = actor.staff_id
        request.decided_at = ctx.now()
        step.details = {"member": request.member_id, "request": str(request.id)}
        await session.flush()
        return await _request_out(session, info.meeting, request)
