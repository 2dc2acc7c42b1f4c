"""Read a ballots file (选票录入表): one row per ballot cast, CSV or XLSX.

Columns: ``unit`` 房号, ``motion`` 议题 (the motion id), ``choice`` 表决意见,
optional ``channel`` 渠道 (default paper) and ``time`` 时间 (ISO 8601; a time
without an offset is China Standard Time, UTC+8, which is what Asia/Shanghai
has been without daylight saving since 1991).

Choices: ``agree`` 同意 / ``oppose`` 反对 / ``abstain`` 弃权 / ``invalid`` 无效 on a
yes/no motion; a candidate name (several separated by ``;`` or ``；``) on an
election; one option name on a choose-one. ``abstain`` and ``invalid`` are
accepted on every motion type. An election ballot selecting more candidates
than seats, or a choose-one ballot selecting several options, is a spoilt
ballot and becomes ``invalid`` (with a warning); an unknown name is an input
error because it is most likely a typo.

Each row is mapped to the voting member of its unit; a ballot whose member
has no unit inside the motion's scope is an input error. ``seq`` is the
spreadsheet row number, so it follows row order and points back at the row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from votes.inputs.problems import InputError, Problem
from votes.inputs.tabular import (
    Column,
    Table,
    bind_columns,
    normalize_text,
    parse_enum_cell,
    parse_word,
    read_table,
)
from votes.model import BallotRow, Channel, Choice, Member, Motion, MotionType, Roster

__all__ = [
    "BALLOT_COLUMNS",
    "CHINA_STANDARD_TIME",
    "BallotsImport",
    "import_ballots",
    "import_ballots_table",
    "read_ballots",
]

BALLOT_COLUMNS: tuple[Column, ...] = (
    Column("unit", ("房号",), required=True),
    Column("motion", ("议题",), required=True),
    Column("choice", ("表决意见",), required=True),
    Column("channel", ("渠道",)),
    Column("time", ("时间",)),
)

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")

_CHOICE_WORDS = {
    "同意": Choice.AGREE,
    "反对": Choice.OPPOSE,
    "弃权": Choice.ABSTAIN,
    "无效": Choice.INVALID,
}
_CHANNEL_WORDS = {"网络": Channel.ONLINE, "纸质": Channel.PAPER, "委托": Channel.PROXY}
_SEPARATORS = re.compile(r"[;；]")


@dataclass(frozen=True, slots=True)
class BallotsImport:
    rows: tuple[BallotRow, ...]
    warnings: tuple[Problem, ...]  # e.g. over-voted ballots turned invalid


class _RowChecker:
    def __init__(self, row: int, choice_column: str) -> None:
        self.row = row
        self.choice_column = choice_column
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(self.row, column, code, message))

    def choice(self, motion: Motion, raw: str) -> str | None:
        text = normalize_text(raw)
        column = self.choice_column
        if not text:
            self.error(column, "empty-choice", "表决意见为空 choice is empty")
            return None
        fixed = parse_word(text, Choice, _CHOICE_WORDS)
        if fixed in (Choice.ABSTAIN, Choice.INVALID):
            return fixed.value
        if motion.type is MotionType.YES_NO:
            if fixed is None:
                self.error(
                    column,
                    "unknown-choice",
                    f"未知表决意见 unknown choice '{text}' "
                    "(allowed: 同意 agree, 反对 oppose, 弃权 abstain, 无效 invalid)",
                )
                return None
            return fixed.value
        if fixed is not None:
            self.error(
                column,
                "choice-not-for-motion",
                f"此议题不能用“{text}”表决 choice '{text}' is not valid for a "
                f"{motion.type.value} motion: name a candidate/option, "
                "弃权 abstain or 无效 invalid",
            )
            return None
        return self._names(motion, text)

    def _names(self, motion: Motion, text: str) -> str | None:
        canonical = {c.casefold(): c for c in motion.candidates}
        before = len(self.problems)
        picked: list[str] = []
        for part in (normalize_text(p) for p in _SEPARATORS.split(text)):
            if not part:
                continue
            name = canonical.get(part.casefold())
            if name is None:
                self.error(
                    self.choice_column,
                    "unknown-candidate",
                    f"议题 {motion.id} 没有该候选人或选项 motion '{motion.id}' has no "
                    f"candidate/option '{part}' (has: {', '.join(motion.candidates)})",
                )
            elif name in picked:
                self.error(
                    self.choice_column,
                    "candidate-twice",
                    f"同一候选人填了两次 candidate/option listed twice: '{name}'",
                )
            else:
                picked.append(name)
        if len(self.problems) > before:
            return None
        if not picked:
            self.error(
                self.choice_column, "empty-choice", f"表决意见为空 choice is empty: '{text}'"
            )
            return None
        limit = motion.seats if motion.type is MotionType.ELECTION else 1
        if len(picked) > limit:
            self.warnings.append(
                Problem(
                    self.row,
                    self.choice_column,
                    "over-voted",
                    f"选择了 {len(picked)} 个，超过可选 {limit} 个，按无效票计 "
                    f"{len(picked)} selected but at most {limit} allowed: counted as invalid",
                )
            )
            return Choice.INVALID.value
        order = {name: i for i, name in enumerate(motion.candidates)}
        return ";".join(sorted(picked, key=order.__getitem__))


def _parse_time(text: str) -> datetime | str | None:
    """The time, None when empty, or an error message."""
    value = normalize_text(text)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"时间格式错误 not an ISO 8601 time: '{value}' (e.g. 2024-06-03T19:42:00+08:00)"
    if len(value) <= 10:  # a bare date carries no order within the day
        return f"时间缺少时分 time of day missing: '{value}'"
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CHINA_STANDARD_TIME)


def _in_scope(member: Member, motion: Motion) -> bool:
    return motion.scope is None or any(u.building in motion.scope for u in member.units)


def import_ballots_table(
    table: Table, *, roster: Roster, motions: Sequence[Motion]
) -> BallotsImport:
    """Validate an already-read ballots table; raises :class:`InputError` with every problem."""
    bound, problems = bind_columns(table, BALLOT_COLUMNS)
    members = {m.id: m for m in roster.members}
    member_of_unit = roster.member_of_unit()
    motion_by_id = {m.id: m for m in motions}
    rows: list[BallotRow] = []
    warnings = bound.unknown_column_warnings()
    col = bound.column_of
    for row in table.rows:
        check = _RowChecker(row.row, col("choice"))
        unit = normalize_text(bound.cell(row, "unit"))
        member_id = member_of_unit.get(unit)
        if not bound.has("unit"):
            pass  # reported once as a missing column
        elif not unit:
            check.error(col("unit"), "empty-unit", "房号为空 unit number is empty")
        elif member_id is None:
            check.error(
                col("unit"), "unknown-unit", f"名册中没有该房号 unit not in the roster: '{unit}'"
            )
        motion_text = normalize_text(bound.cell(row, "motion"))
        motion = motion_by_id.get(motion_text)
        if not bound.has("motion"):
            pass
        elif not motion_text:
            check.error(col("motion"), "empty-motion", "议题为空 motion is empty")
        elif motion is None:
            check.error(
                col("motion"), "unknown-motion", f"没有该议题 unknown motion: '{motion_text}'"
            )
        choice = None
        if motion is not None and bound.has("choice"):
            choice = check.choice(motion, bound.cell(row, "choice"))
        if (
            motion is not None
            and member_id is not None
            and not _in_scope(members[member_id], motion)
        ):
            scope = ", ".join(sorted(motion.scope or ()))
            check.error(
                col("unit"),
                "out-of-scope",
                f"该业主不在议题 {motion.id} 的表决范围（{scope}）内 the owner of unit '{unit}' "
                f"has no unit inside the scope of motion '{motion.id}' ({scope})",
            )
        channel = parse_enum_cell(
            bound.cell(row, "channel"), Channel, _CHANNEL_WORDS, Channel.PAPER
        )
        if channel is None:
            check.error(
                col("channel"),
                "unknown-channel",
                f"未知渠道 unknown channel '{normalize_text(bound.cell(row, 'channel'))}' "
                "(allowed: 网络 online, 纸质 paper, 委托 proxy)",
            )
        time = _parse_time(bound.cell(row, "time"))
        if isinstance(time, str):
            check.error(col("time"), "bad-time", time)
        problems.extend(check.problems)
        warnings.extend(check.warnings)
        if check.problems or choice is None or member_id is None or motion is None:
            continue
        assert channel is not None
        assert not isinstance(time, str)
        rows.append(
            BallotRow(
                member_id=member_id,
                motion_id=motion.id,
                choice=choice,
                channel=channel,
                time=time,
                seq=row.row,
                unit=unit,
            )
        )
    if problems:
        raise InputError(problems, source=table.source)
    return BallotsImport(rows=tuple(rows), warnings=tuple(warnings))


def import_ballots(path: Path | str, *, roster: Roster, motions: Sequence[Motion]) -> BallotsImport:
    """Read a ballots file, keeping the warnings (over-voted ballots, unknown columns)."""
    return import_ballots_table(read_table(path), roster=roster, motions=motions)


def read_ballots(path: Path | str, *, roster: Roster, motions: Sequence[Motion]) -> list[BallotRow]:
    """Read a ballots CSV/XLSX file; raises :class:`InputError` listing every problem."""
    return list(import_ballots(path, roster=roster, motions=motions).rows)
