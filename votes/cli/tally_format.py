"""Presenting a tally result to people: rich tables, Chinese labels with English beside.

Display only, for ``votes tally`` (votes/cli/tally_cmd.py): every number shown
is computed by :mod:`votes.tally`; the percentages come from
:func:`votes.rules.percent` (rounded half up).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from votes.duplicates import Conflict
from votes.model import MotionType
from votes.rules import format_area, percent
from votes.tally import Count, MotionResult, Note, TallyResult, ThresholdCheck

__all__ = ["describe_check", "render_result"]

_MAX_MEMBERS_SHOWN = 12

_ROWS = (
    ("totals", "总计 total"),
    ("participating", "参与 participating"),
    ("agree", "同意 agree"),
    ("oppose", "反对 oppose"),
    ("abstain", "弃权 abstain"),
    ("invalid", "无效 invalid"),
)

_NUMERATOR = {"participating": "参与 participating", "agree": "同意 agree"}
_DENOMINATOR = {"total": "总计 total", "participating": "参与 participating"}


def _pct(part: int, whole: int) -> str:
    value = percent(part, whole)
    return "—" if value is None else f"{value}%"


def _met(met: bool) -> str:
    return "达到 met" if met else "未达到 not met"


def describe_check(check: ThresholdCheck) -> list[str]:
    """One line per dimension, e.g. ``面积 area: 参与 participating 2000.00 / 总计 total
    3000.00 = 66.67% vs ≥ 2/3 → 达到 met``."""
    rule = check.threshold.rule
    num = _NUMERATOR.get(check.of, check.of)
    den = _DENOMINATOR[check.threshold.base]
    area, heads = check.area, check.heads
    return [
        f"面积 area: {num} {format_area(area.part)} / {den} {format_area(area.whole)} m² "
        f"= {_pct(area.part, area.whole)} vs {rule} → {_met(area.met)}",
        f"人数 heads: {num} {heads.part} / {den} {heads.whole} "
        f"= {_pct(heads.part, heads.whole)} vs {rule} → {_met(heads.met)}",
    ]


def _counts_table(result: MotionResult) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("面积 area (m²)", justify="right")
    table.add_column("%", justify="right")
    table.add_column("人数 heads", justify="right")
    table.add_column("%", justify="right")
    totals, participating = result.totals, result.participating
    for key, label in _ROWS:
        count: Count = getattr(result, key)
        # participation as a share of the totals; choices as a share of participation
        base = totals if key == "participating" else participating
        if key == "totals":
            shares = ("", "")
        else:
            shares = (_pct(count.area, base.area), _pct(count.heads, base.heads))
        table.add_row(label, format_area(count.area), shares[0], str(count.heads), shares[1])
    return table


def _options_table(result: MotionResult) -> Table:
    election = result.motion.type == MotionType.ELECTION
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("候选人 candidate" if election else "选项 option")
    table.add_column("同意面积 agree area (m²)", justify="right")
    table.add_column("%", justify="right")
    table.add_column("同意人数 agree heads", justify="right")
    table.add_column("%", justify="right")
    table.add_column("达到要求 reached")
    table.add_column("当选 elected" if election else "选定 chosen")
    for option in result.options:
        check = option.consent
        table.add_row(
            option.name,
            format_area(option.agree.area),
            _pct(check.area.part, check.area.whole),
            str(option.agree.heads),
            _pct(check.heads.part, check.heads.whole),
            "是 yes" if option.reached else "否 no",
            "[bold green]是 yes[/]"
            if option.won
            else ("平票 tie" if option.name in result.tie else ""),
        )
    return table


def _members(members: Sequence[str]) -> str:
    shown = ", ".join(members[:_MAX_MEMBERS_SHOWN])
    more = len(members) - _MAX_MEMBERS_SHOWN
    return f"{shown} … (+{more})" if more > 0 else shown


def _note_lines(notes: Sequence[Note]) -> list[str]:
    lines = []
    for note in notes:
        line = f"• {note.zh} — {note.en}"
        if note.members:
            line += f" [{_members(note.members)}]"
        lines.append(line)
    return lines


def _motion_panel(result: MotionResult) -> Panel:
    motion = result.motion
    scope = (
        "全体 whole estate"
        if motion.scope is None
        else "楼栋 buildings " + "、".join(sorted(motion.scope))
    )
    parts: list[RenderableType] = [
        Text(
            f"第278条第{motion.item}项 item {motion.item} · 类型 type {motion.type.value}"
            f" · 表决范围 scope: {scope}"
        ),
        _counts_table(result),
    ]
    if result.quorum is not None:
        parts.append(Text("法定参与 quorum:", style="bold"))
        parts.extend(Text("  " + line) for line in describe_check(result.quorum))
    else:
        parts.append(Text("法定参与 quorum: 本规则无要求 none under this rulebook"))
    if result.consent is not None:
        parts.append(Text("同意 consent:", style="bold"))
        parts.extend(Text("  " + line) for line in describe_check(result.consent))
    if result.options:
        rule = result.options[0].consent.threshold.rule
        base = _DENOMINATOR[result.options[0].consent.threshold.base]
        parts.append(
            Text(f"每个候选/选项须达 each needs {rule} of {base}（面积和人数 area and heads）")
        )
        parts.append(_options_table(result))
        if motion.type == MotionType.ELECTION:
            elected = "、".join(result.won) or "无 none"
            parts.append(Text(f"当选 elected ({len(result.won)}/{motion.seats}): {elected}"))
        if result.tie:
            parts.append(Text(f"平票 tie: {'、'.join(result.tie)}", style="yellow"))
    nv = result.non_voters
    applied = f"已适用 applied → {nv.direction}" if nv.applied else "未适用 not applied"
    parts.append(
        Text(
            f"未投票 non-voters: {format_area(nv.count.area)} m², {nv.count.heads} 人 heads — "
            f"{nv.rule.value}: {applied} ({nv.reason.zh} / {nv.reason.en})"
        )
    )
    if result.passed:
        parts.append(Text("通过 PASS", style="bold green"))
    else:
        reason = result.reason
        assert reason is not None
        parts.append(Text(f"未通过 FAIL — {reason.zh} / {reason.en}", style="bold red"))
    if result.notes:
        parts.append(Text("说明 notes:", style="bold"))
        parts.extend(Text(line) for line in _note_lines(result.notes))
    return Panel(Group(*parts), title=f"{motion.id} {motion.title}", title_align="left")


def _row_text(conflict: Conflict) -> str:
    lines = []
    for i, row in enumerate(conflict.rows):
        mark = "→" if i == conflict.taken_index else " "
        when = row.time.isoformat() if row.time else "无时间 no time"
        unit = f" {row.unit}" if row.unit else ""
        lines.append(f"{mark} {row.choice} · {row.channel.value} · {when} · #{row.seq}{unit}")
    return "\n".join(lines)


def _conflicts_table(conflicts: Sequence[Conflict]) -> Table:
    table = Table(title="重复且不一致的选票 conflicting ballots", title_justify="left")
    table.add_column("业主 member")
    table.add_column("议题 motion")
    table.add_column("选票 rows (→ 采用 taken)")
    table.add_column("依据 why")
    for c in conflicts:
        table.add_row(c.member_id, c.motion_id, _row_text(c), f"{c.zh}\n{c.en}")
    return table


def render_result(result: TallyResult, console: Console) -> None:
    """Print the whole result: settings, one panel per motion, conflicts, notes."""
    s = result.settings
    console.print(
        f"规则 rulebook: {s.rulebook.value} · 重复投票 duplicates: {s.duplicate_policy.value} · "
        f"无效票 invalid: {s.invalid_ballots.value} · 未投票 non-voters: {s.non_voters.value} · "
        f"车位面积 parking area: {'计入 included' if s.include_parking_area else '不计入 excluded'}"
    )
    for motion in result.motions:
        console.print(_motion_panel(motion))
    if result.conflicts:
        console.print(_conflicts_table(result.conflicts))
    else:
        console.print("重复且不一致的选票 conflicting ballots: 无 none")
    for line in _note_lines(result.notes):
        console.print(line)
