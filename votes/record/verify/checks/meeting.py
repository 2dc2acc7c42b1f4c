"""Checks 7 to 9: the roster and its grouping, the officer's approval, the credential
revocations and replacements.
"""

from __future__ import annotations

import operator

from crypto.signing import Domain, is_valid_point
from votes.model import Roster, Unit
from votes.record.entries import (
    ApprovalEntry,
    CredentialReplacedEntry,
    Entry,
    KeyBook,
    KeyBookError,
    OpenEntry,
    RosterWire,
    approval_body,
    credential_change_entry_body,
    roster_from_wire,
    roster_root,
)
from votes.record.verify.checks.base import CheckBase
from votes.record.verify.helpers import CREDENTIAL_CHANGES, MEMBER_SIGNED, hex_bytes
from votes.record.verify.report import Finding
from votes.record.wire import all_hex, sha256_hex
from votes.roster import member_groups
from votes.rules import format_area


class MeetingChecks(CheckBase):
    """Checks 7 to 9: who may vote (the roster as grouped, approved by the officer) and with
    which credential key at each point of the log."""

    # ------------------------------------------------------------------ 7

    def roster(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        wire = notice.roster
        kept = self._notice_bytes.get(id(notice))
        if kept is not None and kept[0] is notice:
            computed = sha256_hex(_roster_slice(kept[1]))
        else:
            computed = roster_root(wire)
        if computed != notice.roster_root:
            findings.append(
                Finding(0, f"roster hashes to {computed}, but the notice says {notice.roster_root}")
            )
        ids = [member.id for member in wire.members]
        keys = [member.key for member in wire.members]
        if len(set(ids)) != len(ids) or len(set(keys)) != len(keys):
            seen_ids: set[str] = set()
            seen_keys: set[str] = set()
            for member in wire.members:
                if member.id in seen_ids:
                    findings.append(Finding(0, f"member id {member.id!r} repeats"))
                if member.key in seen_keys:
                    findings.append(Finding(0, f"credential key {member.key} is listed twice"))
                seen_ids.add(member.id)
                seen_keys.add(member.key)
        findings.extend(Finding(0, problem) for problem in _roster_format_problems(wire))
        roster = roster_from_wire(wire)
        self.state.roster = roster
        units = [u for m in roster.members for u in m.units]
        try:
            regrouped = member_groups(units)
        except ValueError as exc:
            findings.append(Finding(0, f"roster units: {exc}"))
            return ""
        # Units are listed sorted by number, as the grouping sorts them. Both
        # hold the same Unit objects, whose numbers are unique (else the
        # grouping refused them): equal unit tuples are equal numbers.
        if {m.id: (m.is_developer, m.units) for m in roster.members} == regrouped:
            return self._roster_summary(roster, units)
        listed = {m.id: (m.is_developer, [u.number for u in m.units]) for m in roster.members}
        expected = {
            member_id: (developer, [u.number for u in units])
            for member_id, (developer, units) in regrouped.items()
        }
        for member_id in sorted(set(listed) | set(expected)):
            if listed.get(member_id) != expected.get(member_id):
                want = expected.get(member_id)
                got = listed.get(member_id)
                findings.append(
                    Finding(
                        0,
                        f"member {member_id!r}: roster lists {_describe(got)}, but grouping "
                        f"the units by owner tags gives {_describe(want)}",
                    )
                )
                break
        return self._roster_summary(roster, units)

    @staticmethod
    def _roster_summary(roster: Roster, units: list[Unit]) -> str:
        """``units``: every member's units."""
        area = sum(map(_AREA, units))
        return f"{len(roster.members)} members (heads), {len(units)} units, {format_area(area)} m²"

    # ------------------------------------------------------------------ 8

    def approval(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        approvals = self._of(ApprovalEntry)
        if not approvals:
            findings.append(Finding(None, "the log has no approval entry"))
            return ""
        entry: ApprovalEntry = approvals[0]
        if not self._officer_signed(
            findings,
            entry,
            Domain.APPROVAL,
            approval_body(
                meeting=entry.meeting, notice=entry.notice, roster_root=entry.roster_root
            ),
        ):
            return ""
        if entry.notice != self._leaves()[0].hex():
            findings.append(Finding(entry.index, "approval names a different notice entry hash"))
        if entry.roster_root != notice.roster_root:
            findings.append(Finding(entry.index, "approval names a different roster root"))
        # The cosignature that approves is the one made before voting opened: a later one
        # (at certification, say) would let a server drop the approval's cosignature.
        opens = self._of(OpenEntry)
        limit = opens[0].index if opens else len(self.state.entries)
        if not any(
            entry.index < c.size <= limit and entry.officer in c.officers
            for c in self.state.cosigned_checkpoints
        ):
            findings.append(
                Finding(
                    entry.index,
                    f"no checkpoint covering the approval and made before voting opened "
                    f"(size {entry.index + 1} to {limit}) is cosigned by {entry.officer!r}",
                )
            )
        return f"approved by {entry.officer} at {entry.time}"

    # ------------------------------------------------------------------ 9

    def credentials(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        try:
            book = KeyBook.from_roster(notice.roster)
        except KeyBookError as exc:
            findings.append(Finding(0, str(exc)))
            return ""
        entries = self.state.entries
        changes = [(p, e) for p, e in enumerate(entries) if isinstance(e, CREDENTIAL_CHANGES)]
        # Between two credential changes the keys stand still: the ballots in
        # between are looked up together.
        start = 0
        for position, change in changes:
            self._key_states(entries[start:position], book)
            # The service cannot make this signature: without it a server could
            # swap in a key of its own for a member who has not voted yet.
            self._officer_signed(
                findings, change, Domain.CREDENTIAL_CHANGE, credential_change_entry_body(change)
            )
            if isinstance(change, CredentialReplacedEntry) and not is_valid_point(
                hex_bytes(change.new_key)
            ):
                findings.append(
                    Finding(change.index, f"new key {change.new_key} is not a valid Ed25519 point")
                )
            try:
                book.apply(change)
            except KeyBookError as exc:
                findings.append(Finding(change.index, str(exc)))
            start = position + 1
        self._key_states(entries[start:], book)
        return f"{len(changes)} revocation/replacement entries consistent and officer-signed"

    def _key_states(self, entries: list[Entry], book: KeyBook) -> None:
        """Record the key state of the member-signed ballots among ``entries`` (in log order)."""
        signed = [entry for entry in entries if isinstance(entry, MEMBER_SIGNED)]
        keys = [entry.ballot.member for entry in signed]
        self.state.ballot_key_states.update(
            zip(
                [entry.index for entry in signed],
                zip(map(book.active.get, keys), map(book.owner.__contains__, keys), strict=True),
                strict=True,
            )
        )


def _roster_format_problems(wire: RosterWire) -> list[str]:
    """The roster's format rules (docs/verification.md §Entries, roster): order and hex.

    Members sorted by id, each member's units by number, each unit's owner tags
    sorted, all without repeats; keys 64 and tags 16 lower-case hex digits.
    """
    problems: list[str] = []
    members = wire.members
    ids = [member.id for member in members]
    if not all(map(operator.lt, ids, ids[1:])):
        at = next(i for i in range(1, len(ids)) if not ids[i - 1] < ids[i])
        problems.append(f"members are not sorted by id: {ids[at - 1]!r} before {ids[at]!r}")
    if not all_hex([member.key for member in members]):
        bad = next(m for m in members if not all_hex([m.key]))
        problems.append(f"member {bad.id!r}: key {bad.key!r} is not lower-case hex")
    tags = [tag for member in members for unit in member.units for tag in unit.owners]
    if not all_hex(tags):
        tag = next(t for t in tags if not all_hex([t]))
        problems.append(f"owner tag {tag!r} is not 16 lower-case hex digits")
    lt = operator.lt
    for member in members:
        units = member.units
        if len(units) > 1:
            numbers = [unit.number for unit in units]
            if not all(map(lt, numbers, numbers[1:])):
                problems.append(f"member {member.id!r}: units are not sorted by number")
        for unit in units:
            owners = unit.owners
            if len(owners) > 1 and not all(map(lt, owners, owners[1:])):
                problems.append(f"unit {unit.number!r}: owner tags are not sorted without repeats")
        if len(problems) >= 20:
            break
    return problems


_AREA = operator.attrgetter("area")


def _describe(value: tuple[bool, list[str]] | None) -> str:
    if value is None:
        return "no such member"
    developer, units = value
    shown = ", ".join(units[:5]) + (" …" if len(units) > 5 else "")
    return f"{'developer ' if developer else ''}units [{shown}]"


def _roster_slice(data: bytes) -> bytes:
    """The roster's canonical bytes inside its notice entry's canonical bytes ``data``.

    Canonical JSON encodes a value the same wherever it is nested, and the
    notice's keys are sorted: ``…,"roster":`` + canonical(roster) +
    ``,"roster_root":…``. A quote inside a string is escaped, so ``,"name":``
    is always an object key; no key before the roster is "roster" (agenda,
    times, texts) and none after "roster_root" (settings, scalars) is
    "roster_root", nor any inside the roster.
    """
    return data[data.index(b',"roster":') + 10 : data.rindex(b',"roster_root":')]
