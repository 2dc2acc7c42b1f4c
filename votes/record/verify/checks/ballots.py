"""Checks 10 to 13: the ballot and objection signatures, the ballots' contents against the
roster and agenda, the voting period, and the effective ballots (one per member).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import nacl.bindings
import nacl.exceptions

from crypto.signing import Domain, PublicKey
from votes.model import DuplicatePolicy, Motion
from votes.record.ballot import (
    BallotContext,
    BallotError,
    BallotErrorCode,
    ChoiceValue,
    check_ballot,
    check_choices,
    hex_fields_ok,
)
from votes.record.entries import (
    ApprovalEntry,
    BallotEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    KeyBook,
    KeyBookError,
    NoticeEntry,
    ObjectionEntry,
    OpenEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    objection_body,
)
from votes.record.verify.checks.base import CheckBase
from votes.record.verify.helpers import (
    CREDENTIAL_CHANGES,
    MEMBER_SIGNED,
    BallotKind,
    entry_tag,
    hex_bytes,
    member_of,
)
from votes.record.verify.report import Finding
from votes.record.wire import all_calendar_times, all_hex, canonical, is_hex, parse_time


@dataclass(slots=True)
class _Fixed:
    """A KeyLookup frozen at one point of the log (the key state when a ballot was logged)."""

    key: str
    member: str | None
    revoked: bool

    def member_for_key(self, key: str) -> str | None:
        return self.member if key == self.key else None

    def is_revoked(self, key: str) -> bool:
        return self.revoked if key == self.key else False


class BallotChecks(CheckBase):
    """Checks 10 to 13: which ballots are genuine, valid, on time and counted."""

    # ------------------------------------------------------------------ 10

    def signatures(self, findings: list[Finding]) -> str:
        work = self._finish_ballot_work()
        if work.paper_errors:
            # A paper ballot's signature that is not hex cannot be checked at all.
            raise ValueError(min(work.paper_errors)[1])
        bad = set(work.bad)
        for index in sorted(bad):
            findings.append(
                Finding(index, f"the signature on ballot entry {index} does not verify")
            )
        self.state.bad_signatures = bad
        summary = (
            f"{work.member_signatures} member signatures and {work.paper_signatures} "
            "paper-ballot service signatures valid"
        )
        objections = self._of(ObjectionEntry)
        if objections:
            signed = self._objection_signatures(findings, objections)
            summary += (
                f"; {signed} owner objection signature(s) valid, "
                f"{len(objections) - signed} objection(s) recorded by staff"
            )
        return summary

    def _objection_signatures(
        self, findings: list[Finding], objections: list[ObjectionEntry]
    ) -> int:
        """Check 10 for objections (docs/verification.md §objection): each is either
        recorded by named staff or signed by the owner; an owner's signature
        verifies over the objection body rebuilt from the entry, by the key that
        was the named member's active key at that position; no member's nonce
        repeats (a replayed request). Returns how many owner signatures verified."""
        notice = self._need_notice()
        members = {m.id for m in notice.roster.members}
        try:
            book: KeyBook | None = KeyBook.from_roster(notice.roster)
        except KeyBookError:
            book = None  # check 9 reports it; keys cannot be placed in time
        # Objections and credential changes are few: take them in log order,
        # moving the key book past each change (an inconsistent change is
        # check 9's finding), and note who held each objection's key then.
        key_holder: dict[int, str | None] = {}
        if book is not None:
            changes: list[Entry] = [*self._of(CredentialRevokedEntry)]
            changes += self._of(CredentialReplacedEntry)
            events = sorted([*changes, *objections], key=lambda e: e.index)
            for entry in events:
                if isinstance(entry, CREDENTIAL_CHANGES):
                    with contextlib.suppress(KeyBookError):
                        book.apply(entry)
                elif isinstance(entry, ObjectionEntry) and entry.key is not None:
                    key_holder[entry.index] = book.active.get(entry.key)
        nonces: set[tuple[str, str]] = set()
        signed = 0
        for entry in objections:
            at = entry.index
            owner = (entry.key, entry.nonce, entry.signature)
            if entry.staff is not None:
                if owner != (None, None, None):
                    findings.append(
                        Finding(at, f"objection {at} is recorded by staff but carries owner fields")
                    )
                elif entry.member is not None and entry.member not in members:
                    findings.append(
                        Finding(at, f"objection {at} names unknown member {entry.member!r}")
                    )
                continue
            if entry.key is None or entry.nonce is None or entry.signature is None:
                findings.append(
                    Finding(
                        at, f"objection {at} is neither recorded by staff nor signed by an owner"
                    )
                )
                continue
            if not (
                is_hex(entry.key, 64) and is_hex(entry.nonce, 32) and is_hex(entry.signature, 128)
            ):
                findings.append(
                    Finding(at, f"objection {at}: key, nonce or signature is not lower-case hex")
                )
                continue
            holder = key_holder.get(at) if book is not None else None
            if entry.member is None or holder != entry.member:
                findings.append(
                    Finding(
                        at,
                        f"objection {at}: key {entry.key[:16]}… is not the active credential "
                        f"of member {entry.member!r} at that point of the log",
                    )
                )
                continue
            body = objection_body(
                meeting=entry.meeting,
                key=entry.key,
                subject=entry.subject,
                document=entry.document,
                nonce=entry.nonce,
            )
            try:
                valid = PublicKey.from_hex(entry.key).verify(
                    Domain.OBJECTION, body, hex_bytes(entry.signature)
                )
            except (ValueError, nacl.exceptions.CryptoError):
                valid = False
            if not valid:
                findings.append(
                    Finding(at, f"the owner's signature on objection {at} does not verify")
                )
                continue
            if (entry.member, entry.nonce) in nonces:
                findings.append(
                    Finding(
                        at,
                        f"objection {at} repeats an earlier objection nonce of member "
                        f"{entry.member!r} (a replayed request)",
                    )
                )
                continue
            nonces.add((entry.member, entry.nonce))
            signed += 1
        return signed

    # ------------------------------------------------------------------ 11

    def ballots(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        motions = self.state.motions
        members = {m.id for m in notice.roster.members}
        cap = notice.settings.proxy_cap
        holders: dict[str, set[str]] = {}
        allowed = _AllowedChoices(motions)
        meeting, root = notice.meeting, notice.roster_root
        key_state, valid = self.state.ballot_key_states, self.state.valid_ballots
        ballots = [e.ballot for e in self._ballot_entries if isinstance(e, MEMBER_SIGNED)]
        # Usually every ballot's hex fields are fine: one check for all of them.
        hex_ok = all_hex([text for b in ballots for text in (b.member, b.roster_root, b.nonce)])
        # The entries' own hex fields (signature, sheet, authorisation, holder) likewise.
        texts = [e.signature for e in self._ballot_entries]
        texts += [
            t for e in self._ballot_entries if type(e) is not BallotEntry for t in _entry_hex(e)
        ]
        entries_hex_ok = all_hex(texts)
        for entry, key in zip(self._ballot_entries, self._keys(), strict=True):
            try:
                if not entries_hex_ok and not all_hex(_entry_hex(entry)):
                    raise BallotError(
                        BallotErrorCode.MALFORMED,
                        "",
                        "the entry's signature, sheet, authorisation or holder is not "
                        "lower-case hex",
                    )
                if isinstance(entry, PaperBallotEntry):
                    if entry.member not in members:
                        raise BallotError(
                            BallotErrorCode.UNKNOWN_MEMBER,
                            "",
                            f"paper ballot for unknown member {entry.member!r}",
                        )
                    if not allowed.all(entry.choices, key, paper=True):
                        check_choices(entry.choices, motions, paper=True)
                    member = entry.member
                else:
                    ballot = entry.ballot
                    holder, revoked = key_state.get(entry.index, (None, False))
                    if (
                        holder is not None
                        and ballot.v == 1
                        and ballot.meeting == meeting
                        and ballot.roster_root == root
                        and allowed.all(ballot.choices, key, paper=False)
                        and (hex_ok or hex_fields_ok(ballot))
                    ):
                        member = holder  # what the checks below return when all pass
                    else:
                        context = BallotContext(
                            meeting=meeting,
                            roster_root=root,
                            motions=motions,
                            keys=_Fixed(ballot.member, holder, revoked),
                        )
                        if ballot.v != 1 or not hex_fields_ok(ballot):
                            raise BallotError(
                                BallotErrorCode.MALFORMED,
                                "",
                                "ballot version or hex fields malformed",
                            )
                        member = check_ballot(ballot, context=context)
            except BallotError as exc:
                findings.append(
                    Finding(entry.index, f"entry {entry.index}: {exc.code}: {exc.message_en}")
                )
                continue
            if isinstance(entry, ProxyBallotEntry):
                holders.setdefault(entry.holder, set()).add(member)
            valid[entry.index] = member
        if cap is not None:
            for holder, voted_for in sorted(holders.items()):
                if len(voted_for) > cap:
                    findings.append(
                        Finding(
                            None,
                            f"proxy holder {holder} voted for {len(voted_for)} members; "
                            f"the cap is {cap}",
                        )
                    )
        return f"{len(self.state.valid_ballots)} ballots valid against the roster and agenda"

    # ------------------------------------------------------------------ 12

    def voting_period(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        approvals = self._of(ApprovalEntry)
        self._schedule(findings, notice, approvals[0] if approvals else None)
        opens = self._of(OpenEntry)
        closings = self._of(ClosingEntry)
        opened: OpenEntry | None = opens[0] if opens else None
        closing: ClosingEntry | None = closings[0] if closings else None
        if opened is None:
            findings.append(Finding(None, "the log has no open entry: voting never opened"))
        elif opened.time < notice.open_at:
            findings.append(
                Finding(opened.index, f"voting opened at {opened.time}, before {notice.open_at}")
            )
        if closing is None:
            # An export of a meeting still open: its ballots are checked all the same.
            findings.append(Finding(None, "the log has no closing entry: voting has not closed"))
        else:
            if closing.closed_at != notice.close_at:
                findings.append(
                    Finding(
                        closing.index,
                        f"closing names deadline {closing.closed_at}, the notice {notice.close_at}",
                    )
                )
            if closing.time < notice.close_at:
                findings.append(
                    Finding(
                        closing.index,
                        f"voting closed at {closing.time}, before the deadline {notice.close_at}",
                    )
                )
            if closing.log_size != closing.index + 1:
                findings.append(
                    Finding(
                        closing.index,
                        f"closing says log size {closing.log_size}, "
                        f"but it is entry {closing.index}",
                    )
                )
        first = -1 if opened is None else opened.index
        last = len(self.state.entries) if closing is None else closing.index
        open_at, close_at = notice.open_at, notice.close_at
        for entry in self._ballot_entries:
            if not first < entry.index < last:
                findings.append(
                    Finding(
                        entry.index,
                        f"ballot entry {entry.index} is outside the voting period "
                        f"(entries {first}..{last})",
                    )
                )
            elif not open_at <= entry.time < close_at:
                findings.append(
                    Finding(
                        entry.index,
                        f"ballot entry {entry.index} time {entry.time} is outside "
                        f"{open_at}..{close_at}",
                    )
                )
            elif type(entry) is PaperBallotEntry and not open_at <= entry.entered_at <= entry.time:
                findings.append(
                    Finding(
                        entry.index,
                        f"paper ballot {entry.index} entered at {entry.entered_at}, not between "
                        f"the opening {open_at} and its logging {entry.time}",
                    )
                )
        shown_open = "never" if opened is None else f"{opened.time} (entry {opened.index})"
        shown_close = "not yet" if closing is None else f"{closing.time} (entry {closing.index})"
        return f"open {shown_open} to close {shown_close}"

    @staticmethod
    def _schedule(
        findings: list[Finding], notice: NoticeEntry, approval: ApprovalEntry | None
    ) -> None:
        """The notice's instants against the schedule rules its settings record (docs/legal.md §3).

        The notice period runs from the later of ``notice_at`` and the approval: the
        service posts a notice only once the officer has approved it.
        """
        settings = notice.settings
        rules = {
            "notice_days": settings.notice_days,
            "voting_min_days": settings.voting_min_days,
            "voting_max_days": settings.voting_max_days,
        }
        missing = [name for name, value in rules.items() if value is None]
        if missing:
            findings.append(Finding(0, f"the notice's settings do not record {', '.join(missing)}"))
        notice_at, open_at, close_at = (
            parse_time(notice.notice_at),
            parse_time(notice.open_at),
            parse_time(notice.close_at),
        )
        if not notice_at <= open_at < close_at:
            findings.append(Finding(0, "the notice needs notice_at <= open_at < close_at"))
            return
        day = timedelta(days=1)
        posted, since = notice_at, f"the notice {notice.notice_at}"
        if approval is not None and parse_time(approval.time) > posted:
            posted, since = parse_time(approval.time), f"the approval {approval.time}"
        if settings.notice_days is not None and open_at - posted < settings.notice_days * day:
            findings.append(
                Finding(
                    0,
                    f"voting opens {notice.open_at}, less than notice_days = "
                    f"{settings.notice_days} days after {since}",
                )
            )
        low, high = settings.voting_min_days, settings.voting_max_days
        if low is not None and high is not None and low > high:
            findings.append(Finding(0, f"voting_min_days {low} exceeds voting_max_days {high}"))
        window = close_at - open_at
        if low is not None and window < low * day:
            findings.append(
                Finding(0, f"the voting period {window} is shorter than voting_min_days = {low}")
            )
        if high is not None and window > high * day:
            findings.append(
                Finding(0, f"the voting period {window} is longer than voting_max_days = {high}")
            )

    # ------------------------------------------------------------------ 13

    def effective(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        settings = notice.settings
        sheets: dict[str, int] = {}
        # A replay repeats the ballot's bytes, so also its nonce: only ballots
        # with the same nonce need their canonical bytes compared.
        by_nonce: dict[str, BallotEntry | ProxyBallotEntry] = {}  # the first with each nonce
        other_bytes: dict[str, list[BallotEntry | ProxyBallotEntry]] = {}  # its later ones
        counted: list[tuple[str, BallotKind, bytes]] = []
        valid = self.state.valid_ballots
        # The time of a row: check 2 matched it against the pattern, but the
        # calendar can still refuse it (as building the row would). Usually
        # every ballot's time is fine, checked at once; else each, in order.
        times_ok = all_calendar_times([e.time for e in self._ballot_entries])
        for entry, key in zip(self._ballot_entries, self._keys(), strict=True):
            if isinstance(entry, PaperBallotEntry):
                first = sheets.get(entry.sheet)
                if first is None:
                    sheets[entry.sheet] = entry.index
            else:
                first = None
                nonce = entry.ballot.nonce
                earliest = by_nonce.setdefault(nonce, entry)
                if earliest is not entry:
                    data = canonical(entry.ballot)
                    later = other_bytes.setdefault(nonce, [])
                    first = next(
                        (e.index for e in (earliest, *later) if canonical(e.ballot) == data), None
                    )
                    if first is None:
                        later.append(entry)
            if first is not None:
                findings.append(
                    Finding(
                        entry.index,
                        f"entry {entry.index} repeats the ballot of entry {first} (replay)",
                    )
                )
                continue
            member = valid.get(entry.index)
            if member is None:
                continue
            if not times_ok:
                datetime.fromisoformat(entry.time)
            counted.append((member, entry, key))
        per_member = Counter(map(member_of, counted))
        limit = settings.max_changes
        if settings.duplicate_policy == DuplicatePolicy.LATEST_WINS and limit is not None:
            # Sorted by member: only the few over the limit (sorting 100,000 costs).
            over = sorted((m, count) for m, count in per_member.items() if count > limit + 1)
            findings.extend(
                Finding(
                    None,
                    f"member {member!r} has {count} ballots; at most {limit} change(s) are allowed",
                )
                for member, count in over
            )
        policy = settings.duplicate_policy
        if policy == DuplicatePolicy.ONE_VOTE_ONLY:
            # The service refuses a second ballot under one-vote-only, so a log with one
            # holds a ballot the service never accepted (it would not be counted either).
            findings.extend(
                Finding(None, f"member {member!r} has {count} ballots; one-vote-only allows one")
                for member, count in sorted(per_member.items())
                if count > 1
            )
        elif policy in (DuplicatePolicy.ONLINE_PREVAILS, DuplicatePolicy.PAPER_PREVAILS):
            # The prevails policies take one ballot per channel (online, paper, proxy).
            several = [m for m, count in per_member.items() if count > 1]
            if several:
                per_channel = Counter(
                    (member, entry_tag(type(entry))) for member, entry, _ in counted
                )
                findings.extend(
                    Finding(
                        None,
                        f"member {member!r} has {count} {kind} ballots; "
                        f"{policy.value} allows one per channel",
                    )
                    for (member, kind), count in sorted(per_channel.items())
                    if count > 1
                )
        self.state.counted_ballots = counted
        changed = sum(1 for c in per_member.values() if c > 1)
        return (
            f"{len(per_member)} members voted, {changed} with more than one ballot; "
            f"policy {settings.duplicate_policy.value}"
        )


def _entry_hex(entry: BallotKind) -> list[str]:
    """The hex fields of a ballot entry itself (the ballot object's are checked apart)."""
    if type(entry) is BallotEntry:
        return [entry.signature]
    if isinstance(entry, PaperBallotEntry):
        return [entry.signature, entry.sheet]
    assert isinstance(entry, ProxyBallotEntry)
    return [entry.signature, entry.authorisation, entry.holder]


class _AllowedChoices:
    """Whether every choice of a ballot is allowed, remembered per distinct (motion, choice).

    :func:`votes.record.ballot.check_choices` decides each choice on its own, so
    asking it once per distinct choice gives the same answers.
    """

    def __init__(self, motions: Mapping[str, Motion]) -> None:
        self._motions = motions
        self._known: dict[tuple[bool, str, str | tuple[str, ...]], bool] = {}
        # Many ballots carry the same choices: their answer, by (paper, JSON of the choices).
        self._ballot_entries: dict[tuple[bool, bytes], bool] = {}

    def all(self, choices: Mapping[str, ChoiceValue], encoded: bytes, *, paper: bool) -> bool:
        """``encoded``: ``encode_choices(choices)``."""
        key = (paper, encoded)
        ok = self._ballot_entries.get(key)
        if ok is None:
            ok = self._ballot_entries[key] = self._each(choices, paper=paper)
        return ok

    def _each(self, choices: Mapping[str, ChoiceValue], *, paper: bool) -> bool:
        if not choices:
            return False
        known = self._known
        for motion_id, choice in choices.items():
            key = (paper, motion_id, choice if type(choice) is str else tuple(choice))
            ok = known.get(key)
            if ok is None:
                try:
                    check_choices({motion_id: choice}, self._motions, paper=paper)
                    ok = True
                except BallotError:
                    ok = False
                known[key] = ok
            if not ok:
                return False
        return True
