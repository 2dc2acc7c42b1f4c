"""Checks 14 and 15: the tally recomputed and compared, the officer's certification."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import msgspec

from crypto.signing import Domain
from votes.duplicates import ByChoice, Conflict, Duplicate, resolve_by_choice
from votes.model import BallotRow, DuplicatePolicy
from votes.record.ballot import ChoiceValue, choice_text
from votes.record.entries import (
    CertificationEntry,
    ClosingEntry,
    ObjectionAnswerEntry,
    ObjectionEntry,
    PublicationEntry,
    ReturnEntry,
    TallyEntry,
    certification_body,
    entry_choices,
    entry_rows,
    motion_from_wire,
    signed_entry_body,
)
from votes.record.verify.checks.base import CheckBase, SkipError
from votes.record.verify.helpers import BallotKind, hex_bytes, member_of
from votes.record.verify.report import Finding
from votes.record.wire import canonical, format_time, parse_time
from votes.tally import tally_grouped
from votes.tally_json import result_to_dict


class ResultChecks(CheckBase):
    """Checks 14 and 15."""

    # ------------------------------------------------------------------ 14

    def tally(self, findings: list[Finding]) -> str:
        notice = self._need_notice()
        tallies = self._of(TallyEntry)
        closings = self._of(ClosingEntry)
        if not tallies or not closings:
            findings.append(Finding(None, "the log has no tally (or no closing) entry"))
            return ""
        entry: TallyEntry = tallies[0]
        size = closings[0].index + 1
        if self.state.roster is None:
            raise SkipError("skipped: no roster")
        # The recount first: it needs nothing from the ballot work still under way.
        result: dict[str, Any] = {}
        failure: Exception | None = None
        try:
            grouped, rows = _grouped_rows(
                [item for item in self.state.counted_ballots if item[1].index < size],
                notice.settings.duplicate_policy,
            )
            result = result_to_dict(
                tally_grouped(
                    roster=self.state.roster,
                    motions=[motion_from_wire(m) for m in notice.agenda],
                    grouped=grouped,
                    settings=notice.settings.tally_settings(),
                )
            )
        except Exception as exc:  # reported after the findings that come before it
            failure = exc
        service = self.state.service_verifier
        if service is None or not service.public_key.verify(
            Domain.TALLY, self._tally_body(entry), hex_bytes(entry.signature)
        ):
            findings.append(Finding(entry.index, "the service signature on the tally is invalid"))
        if entry.inputs.size != size or entry.inputs.root != self._root(size).hex():
            findings.append(
                Finding(
                    entry.index,
                    f"tally inputs {entry.inputs.size}/{entry.inputs.root[:16]}… are not "
                    f"the log up to the closing (size {size})",
                )
            )
        if failure is not None:
            raise failure
        # Codes and figures are compared; the zh / en messages (reasons, notes, conflicts) are text
        # for people, reworded between versions (docs/tally-json.md), so only their presence.
        if result != entry.result and _figures(result) != _figures(entry.result):
            findings.append(
                Finding(
                    entry.index,
                    "recomputed tally differs: "
                    + _first_difference(_figures(entry.result), _figures(result)),
                )
            )
        passed = [m["id"] for m in result.get("motions", []) if m.get("passed")]
        return f"recomputed from {rows} ballot rows; passed: {', '.join(passed) or 'none'}"

    def _tally_body(self, entry: TallyEntry) -> bytes:
        """``signed_entry_body(entry)``, from the data check 2 already walked strictly."""
        kept = self._tally_data.get(id(entry))
        if kept is None or kept[0] is not entry:
            return signed_entry_body(entry)
        body = dict(kept[1])
        body.pop("signature", None)
        # A part of data that passed strict_canonical: the plain encoder gives the same bytes.
        return canonical(body)

    # ------------------------------------------------------------------ 15

    def certification(self, findings: list[Finding]) -> str:
        certs = self._of(CertificationEntry)
        returns = self._of(ReturnEntry)
        tallies = self._of(TallyEntry)
        if not certs:
            if returns:
                findings.append(
                    Finding(
                        returns[0].index, "the officer returned (refused to certify) the result"
                    )
                )
            else:
                findings.append(Finding(None, "the log has no certification entry"))
            return ""
        entry: CertificationEntry = certs[0]
        if not tallies:
            findings.append(Finding(entry.index, "certification without a tally"))
            return ""
        body = certification_body(
            meeting=entry.meeting,
            tally=entry.tally,
            size=entry.checkpoint.size,
            root=entry.checkpoint.root,
        )
        if not self._officer_signed(findings, entry, Domain.CERTIFICATION, body):
            return ""
        tally_entry: TallyEntry = tallies[0]
        if entry.tally != self._leaves()[tally_entry.index].hex():
            findings.append(
                Finding(entry.index, "certification names a different tally entry hash")
            )
        size = entry.checkpoint.size
        if not tally_entry.index < size <= entry.index:
            findings.append(
                Finding(
                    entry.index,
                    f"certified checkpoint size {size} does not cover the tally "
                    "and precede the certification",
                )
            )
        elif entry.checkpoint.root != self._root(size).hex():
            findings.append(
                Finding(
                    entry.index,
                    f"certified root for size {size} is not the log's root: "
                    "the log was changed after certification",
                )
            )
        elif not any(
            c.size == size and entry.officer in c.officers for c in self.state.cosigned_checkpoints
        ):
            findings.append(
                Finding(
                    entry.index,
                    f"no checkpoint of size {size} cosigned by {entry.officer!r} in the bundle",
                )
            )
        notice = self.state.notice
        if notice is not None:
            days = notice.settings.objection_days
            window_end = parse_time(tally_entry.time) + timedelta(days=days)
            if parse_time(entry.time) < window_end:
                findings.append(
                    Finding(
                        entry.index,
                        f"certified at {entry.time}, before the objection window of "
                        f"{days} day(s) after the tally closed at {format_time(window_end)}",
                    )
                )
        for objection in self._of(ObjectionEntry):
            if objection.index < entry.index and not any(
                isinstance(a, ObjectionAnswerEntry)
                and a.objection == objection.index
                and a.index < entry.index
                for a in self.state.entries
            ):
                findings.append(
                    Finding(
                        objection.index,
                        f"objection {objection.index} was not answered before certification",
                    )
                )
        for publication in self._of(PublicationEntry):
            if publication.certification != self._leaves()[entry.index].hex():
                findings.append(
                    Finding(publication.index, "publication names a different certification")
                )
            if notice is not None and publication.disclosure != notice.settings.disclosure:
                findings.append(
                    Finding(
                        publication.index,
                        f"publication discloses {publication.disclosure!r}, but the notice's "
                        f"settings say {notice.settings.disclosure!r}",
                    )
                )
        return f"certified by {entry.officer} at {entry.time} (checkpoint size {size})"


def _grouped_rows(
    counted: Sequence[tuple[str, BallotKind, bytes]], policy: DuplicatePolicy
) -> tuple[tuple[ByChoice, list[Conflict], list[Duplicate]], int]:
    """What :func:`votes.duplicates.resolve_by_choice` gives for the tally rows of ``counted``.

    ``counted`` holds each counted ballot entry with its member and choices key (as
    :meth:`CheckBase._keys`). A member with one ballot has one row per motion it
    chose, so its rows go straight to their choice; so do a member's rows on a
    motion when their choice texts are all the same (resolve_by_choice counts
    them as one :class:`Duplicate` whichever row counts). Only the rows that
    disagree are built as :class:`~votes.model.BallotRow` and resolved
    (``tally_grouped`` takes the member lists in any order). Also returns the
    number of rows.
    """
    ballots = Counter(map(member_of, counted))
    # The single-ballot members by their ballot's choices (a few thousand
    # distinct ones among 100,000 ballots), expanded per motion afterwards.
    alike: dict[bytes, tuple[Mapping[str, ChoiceValue], list[str]]] = {}
    several: dict[str, list[BallotKind]] = {}  # the other members' entries, in log order
    for member, entry, key in counted:
        if ballots[member] > 1:
            several.setdefault(member, []).append(entry)
            continue
        group = alike.get(key)
        if group is None:
            alike[key] = (entry_choices(entry), [member])
        else:
            group[1].append(member)
    by_choice: ByChoice = {}
    rows = 0
    for choices, members in alike.values():
        rows += len(choices) * len(members)
        for motion_id, choice in choices.items():
            texts = by_choice.setdefault(motion_id, {})
            texts.setdefault(choice_text(choice), []).extend(members)
    disagreeing: list[BallotRow] = []
    duplicates: list[Duplicate] = []
    for member, entries in several.items():
        found: dict[str, list[str]] = {}  # motion id -> the entries' choice texts
        for entry in entries:
            choices = entry_choices(entry)
            rows += len(choices)
            for motion_id, choice in choices.items():
                found.setdefault(motion_id, []).append(choice_text(choice))
        member_rows: list[BallotRow] | None = None
        for motion_id, chosen in found.items():
            text = chosen[0]
            if chosen.count(text) == len(chosen):
                if len(chosen) > 1:
                    duplicates.append(Duplicate(member, motion_id, len(chosen)))
                by_choice.setdefault(motion_id, {}).setdefault(text, []).append(member)
                continue
            if member_rows is None:
                member_rows = [row for entry in entries for row in entry_rows(entry, member)]
            disagreeing.extend(row for row in member_rows if row.motion_id == motion_id)
    resolved, conflicts, more = resolve_by_choice(disagreeing, policy)
    duplicates.extend(more)
    for motion_id, texts in resolved.items():
        into = by_choice.setdefault(motion_id, {})
        for text, members in texts.items():
            into.setdefault(text, []).extend(members)
    return (by_choice, conflicts, duplicates), rows


def _figures(value: Any) -> Any:
    """A tally result with every message left blank: each object with a ``code`` (a reason, a
    note) or a ``rule`` (a conflict) has its string ``zh`` and ``en`` replaced by ``""`` (a
    missing or non-string one stays as it is)."""
    if isinstance(value, list):
        return [_figures(item) for item in value]
    if isinstance(value, dict):
        blank = "code" in value or "rule" in value
        return {
            key: "" if blank and key in ("zh", "en") and isinstance(item, str) else _figures(item)
            for key, item in value.items()
        }
    return value


def _first_difference(recorded: Any, computed: Any, path: str = "$") -> str:
    if isinstance(recorded, dict) and isinstance(computed, dict):
        for key in sorted(set(recorded) | set(computed)):
            if recorded.get(key) != computed.get(key):
                return _first_difference(recorded.get(key), computed.get(key), f"{path}.{key}")
    if isinstance(recorded, list) and isinstance(computed, list) and len(recorded) == len(computed):
        for i, (a, b) in enumerate(zip(recorded, computed, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path} the signed tally has {_short(recorded)}, the recount {_short(computed)}"


def _short(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."
