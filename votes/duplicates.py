"""One effective ballot per voting member and motion (docs/legal.md §3 "Duplicates").

A member votes once for all of its units. Several rows from one member on one
motion (rows entered against several of its units, two co-owners both
voting, a paper ballot and an online one, a changed vote) collapse to one
effective row, chosen by the meeting's :class:`~votes.model.DuplicatePolicy`.
Rows that disagree are reported as :class:`Conflict`; rows that agree are
only counted (:class:`Duplicate`).

The order of rows (documented in docs/tally.md) is a total order on the rows'
content, so the outcome never depends on the order rows are given in:

1. rows with a ``time`` come before rows without one (a row of unknown time
   is treated as cast at the close); timed rows by time (a naive time is read
   as UTC);
2. then by ``seq`` (order of arrival);
3. then, only to make the order total, by choice, channel and unit.

Policies, over that order:

* ``one-vote-only`` — the first row counts;
* ``latest-wins`` — the last row counts;
* ``online-prevails`` — the last ``online`` row counts; if there is none, the
  last row (paper or proxy);
* ``paper-prevails`` — the last ``paper`` row counts; if there is none, the
  last row (online or proxy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import filterfalse

from votes.model import BallotRow, Channel, DuplicatePolicy

__all__ = [
    "ByChoice",
    "Conflict",
    "Duplicate",
    "Resolution",
    "choice_key",
    "resolve_by_choice",
    "resolve_duplicates",
    "resolve_grouped",
    "row_order_key",
]

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)

RowKey = tuple[bool, datetime, int, str, str, str]


def row_order_key(row: BallotRow) -> RowKey:
    """The documented total order of one member's rows on one motion (earliest first)."""
    time = row.time
    if time is None:
        return (True, _EPOCH, row.seq, row.choice, row.channel.value, row.unit or "")
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return (False, time, row.seq, row.choice, row.channel.value, row.unit or "")


def choice_key(choice: str) -> str:
    """The form in which two rows' choices are compared.

    Surrounding spaces are ignored, and a multi-selection (election) choice is
    compared as a set: ``"a;b"`` and ``"b; a"`` agree.
    """
    text = choice.strip()
    if ";" not in text:
        return text
    return ";".join(sorted(part.strip() for part in text.split(";")))


@dataclass(frozen=True, slots=True)
class Conflict:
    """Rows of one member on one motion with different choices, and which one counts."""

    member_id: str
    motion_id: str
    rows: tuple[BallotRow, ...]  # every row, in the documented order
    taken: BallotRow
    rule: str  # the policy value that decided
    zh: str
    en: str

    @property
    def taken_index(self) -> int:
        return self.rows.index(self.taken)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Several rows of one member on one motion that all agree: counted once, no conflict."""

    member_id: str
    motion_id: str
    rows: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of :func:`resolve_duplicates`.

    ``effective`` holds one row per (member, motion), sorted by motion id then
    member id; ``conflicts`` and ``duplicates`` are sorted the same way.
    """

    effective: tuple[BallotRow, ...]
    conflicts: tuple[Conflict, ...]
    duplicates: tuple[Duplicate, ...]


_PREFERRED: dict[DuplicatePolicy, Channel] = {
    DuplicatePolicy.ONLINE_PREVAILS: Channel.ONLINE,
    DuplicatePolicy.PAPER_PREVAILS: Channel.PAPER,
}

_CHANNEL_ZH = {Channel.ONLINE: "网络投票", Channel.PAPER: "纸质投票", Channel.PROXY: "委托投票"}


def _pick(rows: Sequence[BallotRow], policy: DuplicatePolicy) -> tuple[BallotRow, str, str]:
    """The row that counts among ``rows`` (already sorted) and why, in Chinese and English."""
    if policy == DuplicatePolicy.ONE_VOTE_ONLY:
        return rows[0], "只计首次投票（按时间，再按序号）", "one vote only: the first row counts"
    if policy == DuplicatePolicy.LATEST_WINS:
        return rows[-1], "以最后一次投票为准", "latest wins: the last row counts"
    preferred = _PREFERRED.get(policy)
    if preferred is None:
        raise ValueError(f"unknown duplicate policy {policy!r}")
    favoured = [row for row in rows if row.channel == preferred]
    name = _CHANNEL_ZH[preferred]
    if favoured:
        return (
            favoured[-1],
            f"{name}优先：取最后一次{name}",
            f"{policy.value}: the last {preferred.value} row counts",
        )
    return (
        rows[-1],
        f"{name}优先，但无{name}：取最后一次投票",
        f"{policy.value}: no {preferred.value} row, so the last row counts",
    )


def _resolve_group(
    motion_id: str, member_id: str, group: list[BallotRow], policy: DuplicatePolicy
) -> tuple[BallotRow, Conflict | Duplicate]:
    ordered = sorted(group, key=row_order_key)
    taken, zh, en = _pick(ordered, policy)
    if len({choice_key(row.choice) for row in ordered}) > 1:
        return taken, Conflict(member_id, motion_id, tuple(ordered), taken, policy.value, zh, en)
    return taken, Duplicate(member_id, motion_id, len(ordered))


def _collect(
    motion_id: str,
    member_id: str,
    group: list[BallotRow],
    policy: DuplicatePolicy,
    *,
    conflicts: list[Conflict],
    duplicates: list[Duplicate],
) -> BallotRow:
    """Resolve one repeated member's rows, recording the conflict or duplicate."""
    taken, finding = _resolve_group(motion_id, member_id, group, policy)
    if isinstance(finding, Conflict):
        conflicts.append(finding)
    else:
        duplicates.append(finding)
    return taken


def _collect_choice(
    motion_id: str,
    member_id: str,
    group: list[BallotRow],
    policy: DuplicatePolicy,
    *,
    conflicts: list[Conflict],
    duplicates: list[Duplicate],
) -> str:
    """The choice text of the row that counts among ``group``; same findings as :func:`_collect`.

    Rows with one and the same choice text need no ordering: whichever row
    counts, its choice is that text and the rows agree.
    """
    text = group[0].choice
    for row in group:
        if row.choice != text:
            return _collect(
                motion_id, member_id, group, policy, conflicts=conflicts, duplicates=duplicates
            ).choice
    duplicates.append(Duplicate(member_id, motion_id, len(group)))
    return text


def resolve_grouped(
    rows: Sequence[BallotRow], policy: DuplicatePolicy
) -> tuple[dict[str, dict[str, BallotRow]], list[Conflict], list[Duplicate]]:
    """Effective rows as motion id -> member id -> row (unsorted); plus conflicts and duplicates.

    The plain reference form; :func:`resolve_by_choice` is the fast one the tally uses.
    """
    policy = DuplicatePolicy(policy)
    grouped: dict[str, dict[str, list[BallotRow]]] = {}
    for row in rows:
        grouped.setdefault(row.motion_id, {}).setdefault(row.member_id, []).append(row)
    conflicts: list[Conflict] = []
    duplicates: list[Duplicate] = []
    effective: dict[str, dict[str, BallotRow]] = {}
    for motion_id, by_member in grouped.items():
        chosen = effective[motion_id] = {}
        for member_id, group in by_member.items():
            if len(group) == 1:
                chosen[member_id] = group[0]
            else:
                chosen[member_id] = _collect(
                    motion_id, member_id, group, policy, conflicts=conflicts, duplicates=duplicates
                )
    return effective, conflicts, duplicates


ByChoice = dict[str, dict[str, list[str]]]  # motion id -> choice text -> member ids


def resolve_by_choice(
    rows: Iterable[BallotRow], policy: DuplicatePolicy
) -> tuple[ByChoice, list[Conflict], list[Duplicate]]:
    """Effective rows as motion id -> choice text -> member ids; plus conflicts and duplicates.

    Same outcome as :func:`resolve_grouped`, in the form the tally counts from,
    built in one pass over the rows (each row object is touched once: with
    half a million rows in arrival order, memory access is the cost). A
    member's first row files it under that row's choice; the few members with
    several rows are resolved afterwards and moved if another choice counts.
    """
    policy = DuplicatePolicy(policy)
    if not isinstance(rows, Sequence):
        rows = list(rows)
    first: dict[str, dict[str, BallotRow]] = {}
    by_choice: ByChoice = {}
    later: list[BallotRow] = []
    for row in rows:
        motion_id = row.motion_id
        seen = first.get(motion_id)
        if seen is None:
            seen = first[motion_id] = {}
            by_choice[motion_id] = {}
        member_id = row.member_id
        if seen.setdefault(member_id, row) is not row:  # not the member's first row here
            later.append(row)
            continue
        choices = by_choice[motion_id]
        choice = row.choice
        bucket = choices.get(choice)
        if bucket is None:
            choices[choice] = [member_id]
        else:
            bucket.append(member_id)
    if sum(len(ids) for choices in by_choice.values() for ids in choices.values()) != sum(
        map(len, first.values())
    ):
        # One row object given twice passed the identity test above as a first
        # row; the plain form handles that rare input.
        return _by_choice_from_grouped(rows, policy)
    groups: dict[tuple[str, str], list[BallotRow]] = {}
    for row in later:
        key = (row.motion_id, row.member_id)
        group = groups.get(key)
        if group is None:
            groups[key] = [first[key[0]][key[1]], row]
        else:
            group.append(row)
    conflicts: list[Conflict] = []
    duplicates: list[Duplicate] = []
    moved: dict[tuple[str, str], set[str]] = {}  # (motion, first row's choice) -> members
    for (motion_id, member_id), group in groups.items():
        taken = _collect_choice(
            motion_id, member_id, group, policy, conflicts=conflicts, duplicates=duplicates
        )
        if taken != group[0].choice:
            moved.setdefault((motion_id, group[0].choice), set()).add(member_id)
            by_choice[motion_id].setdefault(taken, []).append(member_id)
    for (motion_id, choice), members in moved.items():
        kept = list(filterfalse(members.__contains__, by_choice[motion_id][choice]))
        if kept:
            by_choice[motion_id][choice] = kept
        else:
            del by_choice[motion_id][choice]
    return by_choice, conflicts, duplicates


def _by_choice_from_grouped(
    rows: Iterable[BallotRow], policy: DuplicatePolicy
) -> tuple[ByChoice, list[Conflict], list[Duplicate]]:
    effective, conflicts, duplicates = resolve_grouped(list(rows), policy)
    by_choice: ByChoice = {}
    for motion_id, chosen in effective.items():
        choices = by_choice[motion_id] = {}
        for member_id, row in chosen.items():
            choices.setdefault(row.choice, []).append(member_id)
    return by_choice, conflicts, duplicates


def resolve_duplicates(rows: Sequence[BallotRow], policy: DuplicatePolicy) -> Resolution:
    """Collapse ``rows`` to one effective row per (member, motion) under ``policy``."""
    effective, conflicts, duplicates = resolve_grouped(rows, policy)
    flat = [
        row
        for motion_id in sorted(effective)
        for _member_id, row in sorted(effective[motion_id].items())
    ]
    return Resolution(
        effective=tuple(flat),
        conflicts=tuple(sorted(conflicts, key=lambda c: (c.motion_id, c.member_id))),
        duplicates=tuple(sorted(duplicates, key=lambda d: (d.motion_id, d.member_id))),
    )
