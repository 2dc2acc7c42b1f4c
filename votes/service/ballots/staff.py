"""Ballots entered by convener staff: paper sheets and proxy ballots (docs/lifecycle.md).

Each is stored, logged and audited in one transaction holding the meeting row
exclusively (so never beside an online batch), with the SHA-256 of its paper
evidence — the scanned sheet, or the written authorisation — in the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from votes.enums import CredentialStatus
from votes.model import Channel
from votes.record.ballot import (
    AcceptedBallot,
    Ballot,
    BallotError,
    BallotErrorCode,
    ChoiceValue,
    KeyLookup,
    check_choices,
)
from votes.record.entries import (
    NoticeEntry,
    PaperBallotEntry,
    ballot_context,
    decode_entry,
    entry_hash,
    motion_from_wire,
    owner_tag,
    paper_ballot_entry,
    proxy_ballot_entry,
)
from votes.record.receipt import Receipt, build_receipt
from votes.service._common import (
    MeetingInfo,
    append,
    audit,
    find_meeting,
    load_notice,
    meeting_settings,
    owner_salt,
    require_convener,
)
from votes.service.actors import Actor
from votes.service.ballots._shared import (
    Cast,
    OpenFirstError,
    accept_in,
    check_duplicates,
    decode_and_verify,
    opening_first,
    publish_turnout,
    receipt_at,
    voting_now,
)
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, from_ballot_error
from votes.service.schemas import PaperBallotOut, PaperBallotRequest, ProxyBallotRequest
from votes.storage.models import Ballot as BallotRow
from votes.storage.models import Credential, RosterMember

__all__ = ["enter_paper_ballot", "enter_proxy_ballot"]

T = TypeVar("T")


class _CredentialLookup:
    """KeyLookup for one key, from its credential row (None: not a key of this meeting)."""

    def __init__(self, key: str, credential: Credential | None) -> None:
        self._key = key
        self._credential = credential

    def member_for_key(self, key: str) -> str | None:
        c = self._credential
        if key != self._key or c is None or c.status != CredentialStatus.ISSUED:
            return None
        return c.member_id

    def is_revoked(self, key: str) -> bool:
        c = self._credential
        return key == self._key and c is not None and c.status != CredentialStatus.ISSUED


async def _lock_member(
    session: AsyncSession,
    info: MeetingInfo,
    *,
    key: bytes | None = None,
    member_id: str | None = None,
) -> tuple[Credential | None, list[Cast]]:
    """Lock the member's credential row(s) — one member's ballots take turns — and return the
    credential of ``key`` (None: not a key of this meeting) and the member's earlier ballots."""
    meeting = info.meeting
    statement = select(Credential).where(
        Credential.estate_id == meeting.estate_id, Credential.meeting_id == meeting.id
    )
    if key is not None:
        statement = statement.where(Credential.public_key == key)
    else:
        statement = statement.where(Credential.member_id == member_id)
    rows = list((await session.execute(statement.with_for_update())).scalars())
    credential = rows[0] if key is not None and rows else None
    member = credential.member_id if credential is not None else member_id
    if member is None:
        return None, []
    previous = await session.execute(
        select(BallotRow.ballot_hash, BallotRow.channel, BallotRow.log_index).where(
            BallotRow.estate_id == meeting.estate_id,
            BallotRow.meeting_id == meeting.id,
            BallotRow.member_id == member,
        )
    )
    return credential, [Cast(h, c, i) for h, c, i in previous]


def _accept(
    notice: NoticeEntry,
    ballot: Ballot,
    keys: KeyLookup,
    *,
    raw: bytes,
    signature: bytes,
) -> AcceptedBallot:
    context = ballot_context(notice, keys)
    return accept_in(context, ballot, raw=raw, signature=signature)


def _plain(choices: Mapping[str, ChoiceValue]) -> dict[str, ChoiceValue]:
    return {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()}


async def _opening_if_due(ctx: ServiceContext, code: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()``; if the meeting was due to open, open it first and attempt again."""
    try:
        return await attempt()
    except OpenFirstError:
        await opening_first(ctx, code)
        return await attempt()


async def enter_paper_ballot(
    ctx: ServiceContext,
    code: str,
    request: PaperBallotRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> PaperBallotOut:
    """A paper ballot entered by convener staff with the SHA-256 of the scanned sheet.

    The service signs it on the staff member's behalf. The same sheet entered
    again with the same choices returns the first entry; otherwise it is refused.
    """
    return await _opening_if_due(ctx, code, lambda: _paper(ctx, code, request, actor=actor, ip=ip))


async def _revoked_without_replacement(
    session: AsyncSession, info: MeetingInfo, member_id: str
) -> bool:
    """True iff the member's credential was revoked and no replacement is active.

    Such a member may still vote on paper (docs/lifecycle.md §Paper ballots): a
    revocation withdraws the electronic credential — a letter lost or in
    other hands — while a paper sheet is authenticated by the owner's own
    signature on it, checked by the staff who enter it and kept as evidence
    (its SHA-256 is logged). A revoked credential cannot be replaced later, so
    refusing paper would leave the owner no way to vote at all; and it would
    not stop staff, who could as well replace the letter. The entry is flagged
    in the audit record, where the officer and operators see it.
    """
    statuses = set(
        (
            await session.execute(
                select(Credential.status).where(
                    Credential.estate_id == info.meeting.estate_id,
                    Credential.meeting_id == info.meeting.id,
                    Credential.member_id == member_id,
                )
            )
        ).scalars()
    )
    return bool(statuses) and CredentialStatus.ISSUED not in statuses


async def _paper(
    ctx: ServiceContext, code: str, request: PaperBallotRequest, *, actor: Actor, ip: str | None
) -> PaperBallotOut:
    sheet = request.sheet_sha256.lower()
    sheet_hash = bytes.fromhex(sheet)
    async with ctx.sessions.begin() as session:
        info = await find_meeting(session, code, lock=True)
        require_convener(actor, info)
        existing = await session.get(
            BallotRow, (info.meeting.estate_id, info.meeting.id, sheet_hash)
        )
        if existing is not None:
            entry = decode_entry(existing.raw)
            if (
                isinstance(entry, PaperBallotEntry)
                and entry.member == request.member_id
                and entry.choices == _plain(request.choices)
            ):
                return PaperBallotOut(
                    member_id=entry.member,
                    log_index=entry.index,
                    entry_hash=entry_hash(entry).hex(),
                    sheet_sha256=sheet,
                )
            raise Conflict(
                "sheet_already_entered",
                "这张纸质选票已录入（内容不同）",
                f"the sheet {sheet} was already entered with other contents",
                details={"log_index": existing.log_index},
            )
        now = voting_now(ctx, info)
        notice = await load_notice(session, info)
        member = await session.get(
            RosterMember, (info.meeting.estate_id, info.meeting.id, request.member_id)
        )
        if member is None:
            raise from_ballot_error(
                BallotError(
                    BallotErrorCode.UNKNOWN_MEMBER,
                    f"名册中没有业主 {request.member_id}",
                    f"member {request.member_id!r} is not in this meeting's roster",
                )
            )
        try:
            check_choices(
                request.choices, {m.id: motion_from_wire(m) for m in notice.agenda}, paper=True
            )
        except BallotError as exc:
            raise from_ballot_error(exc) from None
        revoked = await _revoked_without_replacement(session, info, request.member_id)
        _, previous = await _lock_member(session, info, member_id=request.member_id)
        check_duplicates(info, request.member_id, Channel.PAPER, previous)
        paper, index = await append(
            ctx,
            session,
            info,
            lambda i: paper_ballot_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                member=request.member_id,
                choices=request.choices,
                staff=actor.username,
                entered_at=now,
                service_key=ctx.log_key,
                sheet_sha256=sheet,
            ),
        )
        session.add(
            BallotRow(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                ballot_hash=sheet_hash,
                member_id=request.member_id,
                public_key=ctx.log_key.public_key.raw,
                channel=Channel.PAPER,
                raw=msgspec.json.encode(paper, order="sorted"),
                signature=bytes.fromhex(paper.signature),
                log_index=index,
                received_at=now,
                staff_id=actor.staff_id,
                evidence_sha256=sheet_hash,
            )
        )
        await audit(
            session,
            ctx,
            actor,
            "ballot.paper",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={
                "member": request.member_id,
                "index": index,
                "sheet": sheet,
                "credential_revoked": revoked,
            },
            ip=ip,
        )
    await publish_turnout(ctx, info.meeting.code)
    return PaperBallotOut(
        member_id=request.member_id,
        log_index=index,
        entry_hash=entry_hash(paper).hex(),
        sheet_sha256=sheet,
    )


async def enter_proxy_ballot(
    ctx: ServiceContext,
    code: str,
    request: ProxyBallotRequest,
    *,
    actor: Actor,
    ip: str | None = None,
) -> Receipt:
    """A ballot cast by a proxy holder with the member's credential, entered by staff with the
    SHA-256 of the written authorisation; refused beyond the meeting's proxy cap per holder."""
    raw = request.ballot.encode()
    ballot, signature = decode_and_verify(raw, request.signature)
    return await _opening_if_due(
        ctx,
        code,
        lambda: _proxy(
            ctx, code, request, raw=raw, ballot=ballot, signature=signature, actor=actor, ip=ip
        ),
    )


async def _proxy(
    ctx: ServiceContext,
    code: str,
    request: ProxyBallotRequest,
    *,
    raw: bytes,
    ballot: Ballot,
    signature: bytes,
    actor: Actor,
    ip: str | None,
) -> Receipt:
    ballot_hash = hashlib.sha256(raw).digest()
    authorisation = request.authorisation_sha256.lower()
    async with ctx.sessions.begin() as session:
        # The proxy cap spans members: proxy entries take the meeting lock exclusively.
        info = await find_meeting(session, code, lock=True)
        require_convener(actor, info)
        credential, previous = await _lock_member(session, info, key=bytes.fromhex(ballot.member))
        for cast in previous:
            if cast.ballot_hash == ballot_hash:
                return await receipt_at(ctx, session, info, cast.log_index)
        now = voting_now(ctx, info)
        notice = await load_notice(session, info)
        keys = _CredentialLookup(ballot.member, credential)
        accepted = _accept(notice, ballot, keys, raw=raw, signature=signature)
        holder = owner_tag(" ".join(request.holder.split()), salt=owner_salt(info.meeting))
        cap = meeting_settings(info.meeting).proxy_cap
        if cap is not None:
            held = set(
                (
                    await session.execute(
                        select(BallotRow.member_id).where(
                            BallotRow.estate_id == info.meeting.estate_id,
                            BallotRow.meeting_id == info.meeting.id,
                            BallotRow.channel == Channel.PROXY,
                            BallotRow.proxy_holder == holder,
                        )
                    )
                ).scalars()
            )
            if accepted.member_id not in held and len(held) >= cap:
                raise Conflict(
                    "proxy_cap_reached",
                    f"该受托人已代理 {len(held)} 户，达到本次会议上限 {cap}",
                    f"this proxy holder already votes for {len(held)} member(s); the cap is {cap}",
                    details={"cap": cap, "held": len(held)},
                )
        check_duplicates(info, accepted.member_id, Channel.PROXY, previous)
        entry, index = await append(
            ctx,
            session,
            info,
            lambda i: proxy_ballot_entry(
                meeting=info.meeting_id,
                index=i,
                time=now,
                ballot=ballot,
                signature=signature,
                holder=holder,
                staff=actor.username,
                authorisation_sha256=authorisation,
            ),
        )
        session.add(
            BallotRow(
                estate_id=info.meeting.estate_id,
                meeting_id=info.meeting.id,
                ballot_hash=ballot_hash,
                member_id=accepted.member_id,
                public_key=bytes.fromhex(ballot.member),
                channel=Channel.PROXY,
                raw=raw,
                signature=signature,
                log_index=index,
                received_at=now,
                staff_id=actor.staff_id,
                evidence_sha256=bytes.fromhex(authorisation),
                proxy_holder=holder,
            )
        )
        await audit(
            session,
            ctx,
            actor,
            "ballot.proxy",
            estate_id=info.meeting.estate_id,
            target=f"meeting:{code}",
            details={"member": accepted.member_id, "index": index, "holder": holder},
            ip=ip,
        )
    receipt = build_receipt(entry=entry, service_key=ctx.log_key)
    await publish_turnout(ctx, info.meeting.code)
    return receipt
