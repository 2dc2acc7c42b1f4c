"""Builders: keyword-only functions that convert domain values (datetimes, keys,
:mod:`votes.model` objects) into entries and make the service's signatures; entries
that carry an officer's signature take it ready-made, because the officer signs on
their own device. Also the bytes each signature covers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from crypto.signing import Domain, PublicKey, SigningKey
from votes.model import Motion, MotionType
from votes.record.ballot import Ballot, ChoiceValue
from votes.record.entries.conversions import motion_to_wire, roster_root
from votes.record.entries.schema import (
    ApprovalEntry,
    BallotEntry,
    CertificationEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Disclosure,
    LogHead,
    MeetingSettings,
    NoticeEntry,
    ObjectionAnswerEntry,
    ObjectionEntry,
    OpenEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    PublicationEntry,
    ReturnEntry,
    RosterWire,
    TallyEntry,
    signed_entry_body,
)
from votes.record.wire import FORMAT_VERSION, canonical, format_time, sha256_hex

# --------------------------------------------------------------------------- builders


__all__ = [
    "approval_body",
    "approval_entry",
    "ballot_entry",
    "certification_body",
    "certification_entry",
    "closing_entry",
    "credential_change_body",
    "credential_change_entry_body",
    "credential_replaced_entry",
    "credential_revoked_entry",
    "notice_entry",
    "objection_answer_entry",
    "objection_body",
    "objection_entry",
    "open_entry",
    "paper_ballot_entry",
    "proxy_ballot_entry",
    "publication_entry",
    "return_body",
    "return_entry",
    "tally_entry",
]


def notice_entry(
    *,
    meeting: str,
    time: datetime,
    title: str,
    convener: str,
    estate: str,
    motions: Sequence[Motion],
    settings: MeetingSettings,
    roster: RosterWire,
    notice_at: datetime,
    open_at: datetime,
    close_at: datetime,
    index: int = 0,
) -> NoticeEntry:
    """The notice: agenda, settings, instants and the frozen roster with its root."""
    ids = [m.id for m in motions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"motion ids repeat: {ids}")
    for motion in motions:
        if motion.type != MotionType.YES_NO and any(";" in c for c in motion.candidates):
            raise ValueError(f"motion {motion.id!r}: a candidate name contains ';'")
    if not notice_at <= open_at < close_at:
        raise ValueError("need notice_at <= open_at < close_at")
    return NoticeEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        title=title,
        convener=convener,
        estate=estate,
        agenda=[motion_to_wire(m) for m in motions],
        settings=settings,
        notice_at=format_time(notice_at),
        open_at=format_time(open_at),
        close_at=format_time(close_at),
        roster=roster,
        roster_root=roster_root(roster),
    )


def approval_body(*, meeting: str, notice: str, roster_root: str) -> bytes:
    """What the officer signs (Domain.APPROVAL) to approve a notice."""
    return canonical(
        {"v": FORMAT_VERSION, "meeting": meeting, "notice": notice, "roster_root": roster_root}
    )


def approval_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    notice: str,
    roster_root: str,
    signature: bytes,
) -> ApprovalEntry:
    return ApprovalEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        notice=notice,
        roster_root=roster_root,
        signature=signature.hex(),
    )


def open_entry(*, meeting: str, index: int, time: datetime) -> OpenEntry:
    return OpenEntry(v=FORMAT_VERSION, meeting=meeting, index=index, time=format_time(time))


def credential_change_body(
    *, meeting: str, member: str, old_key: str, new_key: str | None, reason: str, request: str
) -> bytes:
    """What the officer signs (Domain.CREDENTIAL_CHANGE) to let a credential change be logged.

    ``new_key`` is None for a revocation without replacement. The body names
    everything the entry says about the change, so the service cannot log a
    change, a key or a reason the officer did not approve; ``request`` (the
    hash of the convener's written request) ties it to the paper the officer
    was shown.
    """
    return canonical(
        {
            "v": FORMAT_VERSION,
            "meeting": meeting,
            "member": member,
            "old_key": old_key,
            "new_key": new_key,
            "reason": reason,
            "request": request,
        }
    )


def credential_change_entry_body(entry: CredentialRevokedEntry | CredentialReplacedEntry) -> bytes:
    """The :func:`credential_change_body` a credential entry's ``signature`` covers."""
    if isinstance(entry, CredentialRevokedEntry):
        old_key, new_key = entry.key, None
    else:
        old_key, new_key = entry.old_key, entry.new_key
    return credential_change_body(
        meeting=entry.meeting,
        member=entry.member,
        old_key=old_key,
        new_key=new_key,
        reason=entry.reason,
        request=entry.request,
    )


def credential_revoked_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    key: PublicKey,
    reason: str,
    request: str,
    officer: str,
    key_id: str,
    signature: bytes,
) -> CredentialRevokedEntry:
    return CredentialRevokedEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        key=key.hex(),
        reason=reason,
        request=request,
        officer=officer,
        key_id=key_id,
        signature=signature.hex(),
    )


def credential_replaced_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    old_key: PublicKey,
    new_key: PublicKey,
    reason: str,
    request: str,
    officer: str,
    key_id: str,
    signature: bytes,
) -> CredentialReplacedEntry:
    return CredentialReplacedEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        old_key=old_key.hex(),
        new_key=new_key.hex(),
        reason=reason,
        request=request,
        officer=officer,
        key_id=key_id,
        signature=signature.hex(),
    )


def ballot_entry(
    *, meeting: str, index: int, time: datetime, ballot: Ballot, signature: bytes
) -> BallotEntry:
    return BallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        ballot=ballot,
        signature=signature.hex(),
    )


def paper_ballot_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    member: str,
    choices: Mapping[str, ChoiceValue],
    staff: str,
    entered_at: datetime,
    service_key: SigningKey,
    sheet: bytes | None = None,
    sheet_sha256: str | None = None,
) -> PaperBallotEntry:
    """A paper ballot, signed by the service (Domain.PAPER_BALLOT) on the staff's behalf.

    Only the SHA-256 of the scanned sheet is recorded: pass the scan itself as
    ``sheet``, or its SHA-256 (hex) as ``sheet_sha256`` where the scan is kept apart.
    """
    if sheet is not None and sheet_sha256 is None:
        sheet_sha256 = sha256_hex(sheet)
    elif sheet_sha256 is None or sheet is not None:
        raise ValueError("a paper ballot needs either the sheet or its SHA-256")
    unsigned = PaperBallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        member=member,
        choices={k: (list(v) if isinstance(v, list | tuple) else v) for k, v in choices.items()},
        sheet=sheet_sha256,
        staff=staff,
        entered_at=format_time(entered_at),
        signature="0" * 128,
    )
    signature = service_key.sign(Domain.PAPER_BALLOT, signed_entry_body(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature.hex())


def proxy_ballot_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    ballot: Ballot,
    signature: bytes,
    holder: str,
    staff: str,
    authorisation: bytes | None = None,
    authorisation_sha256: str | None = None,
) -> ProxyBallotEntry:
    """A ballot cast by a proxy holder with the member's credential.

    Only the SHA-256 of the written authorisation is recorded: pass the scan as
    ``authorisation``, or its SHA-256 (hex) as ``authorisation_sha256`` where the
    scan is kept apart; ``holder`` is the holder's opaque tag (:func:`owner_tag`).
    """
    if authorisation is not None and authorisation_sha256 is None:
        authorisation_sha256 = sha256_hex(authorisation)
    elif authorisation_sha256 is None or authorisation is not None:
        raise ValueError("a proxy ballot needs either the authorisation or its SHA-256")
    return ProxyBallotEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        ballot=ballot,
        signature=signature.hex(),
        authorisation=authorisation_sha256,
        holder=holder,
        staff=staff,
    )


def objection_body(*, meeting: str, key: str, subject: str, document: str, nonce: str) -> bytes:
    """What an owner signs (Domain.OBJECTION) to file an objection.

    ``key`` is the owner's credential public key (64 hex) and ``document`` the
    SHA-256 (64 hex) of the written objection: the body commits to the text
    without the log having to carry it, so a verifier rebuilds these exact
    bytes from the objection entry and checks the owner's signature offline.
    """
    return canonical(
        {
            "v": FORMAT_VERSION,
            "meeting": meeting,
            "member": key,
            "subject": subject,
            "document": document,
            "nonce": nonce,
        }
    )


def objection_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    subject: Literal["roster", "agenda", "procedure", "tally", "other"],
    member: str | None,
    document: bytes,
    staff: str | None = None,
    key: PublicKey | None = None,
    nonce: str | None = None,
    signature: bytes | None = None,
) -> ObjectionEntry:
    """An objection: pass ``staff`` for one recorded by staff, else the owner's
    ``key``, ``nonce`` and ``signature`` (over :func:`objection_body`)."""
    owner = (key, nonce, signature)
    by_staff = staff is not None and owner == (None, None, None)
    by_owner = staff is None and None not in owner
    if not (by_staff or by_owner):
        raise ValueError("an objection is either staff-recorded or signed by the owner")
    return ObjectionEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        subject=subject,
        member=member,
        document=sha256_hex(document),
        staff=staff,
        key=None if key is None else key.hex(),
        nonce=nonce,
        signature=None if signature is None else signature.hex(),
    )


def objection_answer_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    objection: int,
    decision: Literal["upheld", "rejected"],
    document: bytes,
    by: str,
) -> ObjectionAnswerEntry:
    return ObjectionAnswerEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        objection=objection,
        decision=decision,
        document=sha256_hex(document),
        by=by,
    )


def closing_entry(*, meeting: str, index: int, time: datetime, closed_at: datetime) -> ClosingEntry:
    return ClosingEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        closed_at=format_time(closed_at),
        log_size=index + 1,
    )


def tally_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    inputs_size: int,
    inputs_root: bytes,
    result: Mapping[str, Any],
    service_key: SigningKey,
) -> TallyEntry:
    """The tally, signed by the service (Domain.TALLY over the entry without signature)."""
    unsigned = TallyEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        inputs=LogHead(size=inputs_size, root=inputs_root.hex()),
        result=dict(result),
        signature="0" * 128,
    )
    signature = service_key.sign(Domain.TALLY, signed_entry_body(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature.hex())


def certification_body(*, meeting: str, tally: str, size: int, root: str) -> bytes:
    """What the officer signs (Domain.CERTIFICATION) to certify a tally."""
    return _decision_body(meeting=meeting, decision="certify", tally=tally, size=size, root=root)


def return_body(*, meeting: str, tally: str, size: int, root: str, reason: str) -> bytes:
    """What the officer signs (Domain.CERTIFICATION) to return (refuse to certify) a tally."""
    return _decision_body(
        meeting=meeting, decision="return", tally=tally, size=size, root=root, reason=reason
    )


def _decision_body(
    *, meeting: str, decision: str, tally: str, size: int, root: str, reason: str | None = None
) -> bytes:
    """The officer's decision on a tally at a checkpoint; a return also gives its reason."""
    body: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "meeting": meeting,
        "decision": decision,
        "tally": tally,
        "checkpoint": {"size": size, "root": root},
    }
    if reason is not None:
        body["reason"] = reason
    return canonical(body)


def certification_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    tally: str,
    size: int,
    root: str,
    signature: bytes,
) -> CertificationEntry:
    return CertificationEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        tally=tally,
        checkpoint=LogHead(size=size, root=root),
        signature=signature.hex(),
    )


def return_entry(
    *,
    meeting: str,
    index: int,
    time: datetime,
    officer: str,
    key_id: str,
    tally: str,
    size: int,
    root: str,
    reason: str,
    signature: bytes,
) -> ReturnEntry:
    return ReturnEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        officer=officer,
        key_id=key_id,
        tally=tally,
        checkpoint=LogHead(size=size, root=root),
        reason=reason,
        signature=signature.hex(),
    )


def publication_entry(
    *, meeting: str, index: int, time: datetime, certification: str, disclosure: Disclosure
) -> PublicationEntry:
    return PublicationEntry(
        v=FORMAT_VERSION,
        meeting=meeting,
        index=index,
        time=format_time(time),
        certification=certification,
        disclosure=disclosure,
    )
