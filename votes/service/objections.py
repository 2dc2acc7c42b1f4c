"""Objections: by a member (signed with their credential key) or by staff; answered by the
officer. Every objection must be answered before the result can be certified."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crypto.canonical import CanonicalError, loads_canonical
from crypto.signing import Domain, PublicKey, SignatureError
from votes.enums import CredentialStatus, MeetingState, ObjectionState
from votes.record.entries import objection_answer_entry, objection_entry
from votes.record.entries import objection_body as record_objection_body
from votes.record.wire import is_hex
from votes.service._common import (
    OFFICERS,
    MeetingInfo,
    Transition,
    append,
    find_meeting,
    require_meeting_scope,
    require_state,
)
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid, NotFound
from votes.service.results import objection_deadline, tally_record
from votes.service.schemas import (
    AnswerObjectionRequest,
    MemberObjectionRequest,
    ObjectionOut,
    StaffObjectionRequest,
)
from votes.storage.models import (
    Credential,
    Objection,
    RosterMember,
)

__all__ = [
    "OBJECTION_DOMAIN",
    "VerifiedObjection",
    "answer_objection",
    "file_member_objection",
    "file_staff_objection",
    "file_verified_objection",
    "list_objections",
    "objection_body",
    "verify_member_objection",
]

#: Signing domain of an owner's objection (crypto.signing.signed_message).
OBJECTION_DOMAIN = Domain.OBJECTION.value

#: States in which objections may be lodged (the record allows them after approval
#: until voting closes, and after the tally until certification).
_FILING = (MeetingState.APPROVED, MeetingState.NOTICE, MeetingState.OPEN, MeetingState.TALLIED)

Subject = Literal["roster", "agenda", "procedure", "tally", "other"]
_SUBJECTS = ("roster", "agenda", "procedure", "tally", "other")


def objection_body(*, meeting: str, member: str, subject: str, text: str, nonce: str) -> bytes:
    """The canonical JSON an owner's phone signs (domain :data:`OBJECTION_DOMAIN`).

    ``member`` is the owner's credential key (64 hex). The body carries the
    text's SHA-256 (``document``), not the text: the log keeps only that hash,
    and a verifier must be able to rebuild the signed bytes from the log entry
    (votes.record.entries.objection_body).
    """
    return record_objection_body(
        meeting=meeting,
        key=member,
        subject=subject,
        document=hashlib.sha256(text.encode()).hexdigest(),
        nonce=nonce,
    )


def _out(row: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=row.id,
        log_index=row.log_index,
        subject=row.subject,
        member_id=row.member_id,
        by_staff=row.staff_id is not None,
        text=row.text,
        state=row.state,
        answer=row.answer,
        created_at=row.created_at,
        answered_at=row.answered_at,
    )


async def _check_window(ctx: ServiceContext, session: Any, info: MeetingInfo) -> None:
    require_state(info.meeting, "lodge an objection", *_FILING)
    if info.meeting.state == MeetingState.TALLIED:
        record = await tally_record(session, info.meeting)
        assert record is not None
        deadline = objection_deadline(info.meeting, record)
        if ctx.now() >= deadline:
            raise Conflict(
                "objection_window_closed",
                f"异议期已于 {deadline.isoformat()} 结束",
                f"the objection window closed at {deadline.isoformat()}",
                details={"objection_deadline": deadline.isoformat()},
            )


def _replayed(member_id: str) -> Conflict:
    return Conflict(
        "objection_replayed",
        "该异议已提交过（同一请求不能重复提交）",
        f"member {member_id!r} already filed an objection with this nonce; "
        "a signed objection is recorded once",
        details={"member_id": member_id},
    )


async def _record(
    ctx: ServiceContext,
    session: Any,
    info: MeetingInfo,
    *,
    subject: Subject,
    text: str,
    member_id: str | None,
    staff: Actor | None = None,
    owner: tuple[PublicKey, str, bytes] | None = None,
) -> Objection:
    """Store the objection row, then log it (staff-recorded, or the owner's signed request)."""
    now = ctx.now()
    nonce = None if owner is None else owner[1]
    row = Objection(
        estate_id=info.meeting.estate_id,
        meeting_id=info.meeting.id,
        member_id=member_id,
        staff_id=None if staff is None else staff.staff_id,
        subject=subject,
        text=text,
        nonce=nonce,
        state=ObjectionState.OPEN,
        created_at=now,
    )
    session.add(row)
    # The row goes first: its unique (meeting, member, nonce) refuses a replay
    # committed by another process before anything is appended to the log.
    try:
        await session.flush()
    except IntegrityError:
        assert member_id is not None
        raise _replayed(member_id) from None
    _, row.log_index = await append(
        ctx,
        session,
        info,
        lambda i: objection_entry(
            meeting=info.meeting_id,
            index=i,
            time=now,
            subject=subject,
            member=member_id,
            document=text.encode(),
            staff=None if staff is None else staff.username,
            key=None if owner is None else owner[0],
            nonce=nonce,
            signature=None if owner is None else owner[2],
        ),
    )
    await session.flush()
    return row


# Any staff in scope; _check_window checks the states, then the objection window.
_FILE_OBJECTION = Transition("lodge an objection", "objection.file", None, answered=False)


async def file_staff_objection(
    ctx: ServiceContext,
    code: str,
    request: StaffObjectionRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> ObjectionOut:
    """An objection recorded by staff in scope (e.g. one handed in on paper)."""
    async with _FILE_OBJECTION(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
        await _check_window(ctx, session, info)
        if request.member_id is not None:
            member = await session.get(
                RosterMember, (info.meeting.estate_id, info.meeting.id, request.member_id)
            )
            if member is None:
                raise Invalid(
                    "unknown_member",
                    f"名册中没有业主 {request.member_id}",
                    f"member {request.member_id!r} is not in this meeting's roster",
                )
        row = await _record(
            ctx,
            session,
            info,
            subject=request.subject,
            text=request.text,
            member_id=request.member_id,
            staff=actor,
        )
        step.target = f"objection:{row.id}"
        step.details = {"index": row.log_index}
    return _out(row)


@dataclass(frozen=True, slots=True)
class VerifiedObjection:
    """An owner's objection whose form and signature are checked (no database yet)."""

    request: MemberObjectionRequest
    body: dict[str, Any]  # the signed canonical body
    key: PublicKey  # the signer's credential key
    signature: bytes


async def file_member_objection(
    ctx: ServiceContext, code: str, request: MemberObjectionRequest
) -> ObjectionOut:
    """An owner's objection: :func:`objection_body` signed with their credential key.

    The signed body names the text by its SHA-256, which must be that of
    ``request.text``. Its nonce is unique per member and meeting: the same
    signed request sent again is refused (409 ``objection_replayed``), so a
    replay never adds an objection that would need its own answer.
    """
    return await file_verified_objection(ctx, code, verify_member_objection(request))


def verify_member_objection(request: MemberObjectionRequest) -> VerifiedObjection:
    """The form and signature checks of :func:`file_member_objection`, no database.

    Separate so that the web layer counts the signer's rate limit only once the
    signature verifies (its key is public), as for ballots.
    """
    try:
        body = loads_canonical(request.body.encode())
    except (CanonicalError, ValueError) as exc:
        raise Invalid(
            "bad_objection", "异议内容格式错误", f"the objection body is not canonical JSON: {exc}"
        ) from None
    expected = {"v", "meeting", "member", "subject", "document", "nonce"}
    if (
        not isinstance(body, dict)
        or set(body) != expected
        or body["v"] != 1
        or body["subject"] not in _SUBJECTS
        or not all(isinstance(body[f], str) for f in ("meeting", "member", "document", "nonce"))
        or not is_hex(body["member"], 64)
        or not is_hex(body["document"], 64)
        or not is_hex(body["nonce"], 32)
    ):
        raise Invalid(
            "bad_objection",
            "异议内容格式错误",
            f"the objection body must have exactly the fields {sorted(expected)}: v 1, "
            f"a subject among {', '.join(_SUBJECTS)}, the member key and the document "
            "(SHA-256 of the text) as 64 lower-case hex digits, the nonce as 32",
        )
    if not request.text.strip():
        raise Invalid("bad_objection", "异议内容不能为空", "the objection text is empty")
    if hashlib.sha256(request.text.encode()).hexdigest() != body["document"]:
        raise Invalid(
            "bad_objection",
            "异议正文与签名内容不符",
            "the text's SHA-256 is not the signed body's document",
        )
    if "\x00" in request.text:  # a stored text may not carry NUL (the strict body refuses it too)
        raise Invalid(
            "bad_objection",
            "异议内容含有不允许的 NUL 字符（\\u0000）",
            "the objection text contains a NUL character (\\u0000), which is not allowed",
        )
    try:
        key = PublicKey.from_hex(body["member"])
        signature = bytes.fromhex(request.signature)
    except (SignatureError, ValueError):
        raise Invalid("bad_objection", "凭证公钥无效", "the member key is not valid") from None
    if not key.verify(Domain.OBJECTION, request.body.encode(), signature):
        raise Invalid("bad_signature", "异议签名无效", "the objection's signature does not verify")
    return VerifiedObjection(request=request, body=body, key=key, signature=signature)


async def file_verified_objection(
    ctx: ServiceContext, code: str, verified: VerifiedObjection
) -> ObjectionOut:
    """Log an objection :func:`verify_member_objection` has checked."""
    request, body, key, signature = (
        verified.request,
        verified.body,
        verified.key,
        verified.signature,
    )
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        if body["meeting"] != info.meeting_id:
            raise Invalid(
                "wrong_meeting",
                "异议不属于本次会议",
                f"the objection is for meeting {body['meeting']!r}, not {info.meeting_id!r}",
            )
        await _check_window(ctx, session, info)
        credential = await session.get(
            Credential, (info.meeting.estate_id, info.meeting.id, key.raw)
        )
        if credential is None or credential.status != CredentialStatus.ISSUED:
            raise Invalid(
                "unknown_member",
                "该凭证不属于本次会议的有效业主",
                "the key is not an active credential of this meeting",
            )
        earlier = await session.scalar(
            select(Objection.id).where(
                Objection.estate_id == info.meeting.estate_id,
                Objection.meeting_id == info.meeting.id,
                Objection.member_id == credential.member_id,
                Objection.nonce == body["nonce"],
            )
        )
        if earlier is not None:
            raise _replayed(credential.member_id)
        row = await _record(
            ctx,
            session,
            info,
            subject=body["subject"],
            text=request.text,
            member_id=credential.member_id,
            owner=(key, body["nonce"], signature),
        )
        return _out(row)


_ANSWER_OBJECTION = Transition(
    "answer an objection", "objection.answer", OFFICERS, _FILING, answered=False
)


async def answer_objection(
    ctx: ServiceContext,
    code: str,
    objection_id: uuid.UUID,
    request: AnswerObjectionRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> ObjectionOut:
    """The officer's answer (upheld / rejected), logged against the objection's entry."""
    async with _ANSWER_OBJECTION(ctx, code, actor=actor, ip=ip) as step:
        session, info = step.session, step.info
        row = await session.get(Objection, (info.meeting.estate_id, objection_id))
        if row is None or row.meeting_id != info.meeting.id:
            raise NotFound(
                "objection_not_found", "找不到该异议", f"objection {objection_id} does not exist"
            )
        if row.state != ObjectionState.OPEN:
            raise Conflict(
                "objection_answered", "该异议已答复", "this objection has already been answered"
            )
        assert row.log_index is not None
        now = ctx.now()
        objection_index = row.log_index
        await append(
            ctx,
            session,
            info,
            lambda i: objection_answer_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                objection=objection_index,
                decision=request.decision,
                document=request.text.encode(),
                by=actor.username,
            ),
        )
        row.state = (
            ObjectionState.UPHELD if request.decision == "upheld" else ObjectionState.DISMISSED
        )
        row.answer = request.text
        row.answered_by = actor.staff_id
        row.answered_at = now
        step.target = f"objection:{row.id}"
        step.details = {"decision": request.decision}
    return _out(row)


async def list_objections(ctx: ServiceContext, code: str, *, actor: Actor) -> list[ObjectionOut]:
    """The meeting's objections (staff in scope)."""
    async with ctx.readers() as session:
        info = await find_meeting(session, code)
        require_meeting_scope(actor, info)
        rows = await session.execute(
            select(Objection)
            .where(
                Objection.estate_id == info.meeting.estate_id,
                Objection.meeting_id == info.meeting.id,
            )
            .order_by(Objection.log_index)
        )
        return [_out(r) for r in rows.scalars()]
