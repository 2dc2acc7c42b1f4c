"""``votes roster check``: validate a roster file and show how it groups into voting members.

Exit status: 0 the roster is valid (warnings may be shown), 1 the roster has
problems (every one is listed), 2 the file cannot be read at all (missing,
not CSV/XLSX, undecodable) — click's own usage errors are 2 as well.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from votes.inputs.problems import InputError, Problem, UnreadableFileError
from votes.inputs.roster import RosterImport, import_roster
from votes.model import Member, Unit
from votes.roster import member_weight
from votes.rules import format_area

__all__ = ["build_report", "roster"]


def _natural(text: str) -> list[tuple[int, int | str]]:
    # Display order only ("2" before "10"); member ids use plain code-point order.
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text)]


def _member_dict(member: Member, *, include_parking: bool) -> dict[str, Any]:
    weight = member_weight(member, include_parking=include_parking, scope=None)
    return {
        "id": member.id,
        "developer": member.is_developer,
        "owners": sorted(member.owners),
        "units": [u.number for u in member.units],
        "area": format_area(weight.area),
        "heads": weight.heads,
    }


def build_report(imported: RosterImport, *, include_parking: bool) -> dict[str, Any]:
    """Everything ``roster check`` shows, as JSON-able data (areas as "1234.56" text)."""
    roster = imported.roster
    members = roster.members
    weights = [member_weight(m, include_parking=include_parking, scope=None) for m in members]
    buildings = sorted({u.building for u in imported.units}, key=_natural)
    per_building = []
    for building in buildings:
        scoped = [
            member_weight(m, include_parking=include_parking, scope=frozenset({building}))
            for m in members
        ]
        per_building.append(
            {
                "building": building,
                "units": sum(1 for u in imported.units if u.building == building),
                "area": format_area(sum(w.area for w in scoped)),
                "heads": sum(w.heads for w in scoped),
            }
        )
    developer = next((m for m in members if m.is_developer), None)
    owner_members: dict[str, list[str]] = {}
    for m in members:
        for key in m.owners:
            owner_members.setdefault(key, []).append(m.id)

    def counts(values: list[str]) -> dict[str, int]:
        return dict(sorted(Counter(values).items()))

    units: tuple[Unit, ...] = imported.units
    return {
        "ok": True,
        "include_parking": include_parking,
        "totals": {
            "units": len(units),
            "members": len(members),
            "area": format_area(sum(w.area for w in weights)),
            "heads": sum(w.heads for w in weights),
        },
        "buildings": per_building,
        "kinds": counts([u.kind.value for u in units]),
        "statuses": counts([u.status.value for u in units]),
        "area_sources": counts([u.area_source.value for u in units]),
        "developer": (
            None if developer is None else _member_dict(developer, include_parking=include_parking)
        ),
        "multi_unit_members": [
            _member_dict(m, include_parking=include_parking)
            for m in members
            if len(m.units) > 1 and not m.is_developer
        ],
        "co_owned_units": [
            {"unit": u.number, "owners": sorted(u.owners)}
            for u in sorted(units, key=lambda u: _natural(u.number))
            if len(u.owners) > 1
        ],
        "owners_in_several_members": [
            {"owner": key, "members": ids}
            for key, ids in sorted(owner_members.items())
            if len(ids) > 1
        ],
        "members": [_member_dict(m, include_parking=include_parking) for m in members],
        "warnings": [p.to_dict() for p in imported.warnings],
    }


def _problems_table(title: str, problems: list[dict[str, Any]]) -> RichTable:
    table = RichTable(title=title, title_justify="left")
    table.add_column("行 row", justify="right")
    table.add_column("列 column")
    table.add_column("问题 problem")
    for p in problems:
        table.add_row(str(p["row"]), p["column"] or "", p["message"])
    return table


def _render(console: Console, report: dict[str, Any], *, show_members: bool) -> None:
    totals = report["totals"]
    parking = "计入 counted" if report["include_parking"] else "不计入 not counted"
    console.print(
        f"[bold]名册有效 roster valid[/bold]: {totals['units']} 户 units, "
        f"{totals['members']} 表决成员 voting members"
    )
    console.print(
        f"总面积 total area: {totals['area']} m²  总人数 total heads: {totals['heads']}  "
        f"(车位面积 parking area: {parking})"
    )

    table = RichTable(title="按楼栋 per building", title_justify="left")
    for name in ("楼栋 building", "户数 units", "面积 area m²", "人数 heads"):
        table.add_column(name, justify="left" if name.startswith("楼栋") else "right")
    for b in report["buildings"]:
        table.add_row(b["building"] or "—", str(b["units"]), b["area"], str(b["heads"]))
    console.print(table)
    console.print(
        "注：一人在多栋有房时在每栋各计一人 "
        "(a member with units in several buildings is a head in each)"
    )

    summary = RichTable(title="房屋分类 units by", title_justify="left")
    summary.add_column("类型 kind")
    summary.add_column("状态 status")
    summary.add_column("面积来源 area source")
    summary.add_row(
        *(
            ", ".join(f"{k} {v}" for k, v in report[key].items())
            for key in ("kinds", "statuses", "area_sources")
        )
    )
    console.print(summary)

    developer = report["developer"]
    if developer is None:
        console.print("开发商成员 developer member: 无 none")
    else:
        console.print(
            f"开发商成员 developer member ({', '.join(developer['owners'])}): "
            f"{len(developer['units'])} 户 units, {developer['area']} m², "
            f"{developer['heads']} 人 head — {', '.join(developer['units'])}"
        )

    groups = RichTable(title="一人多户 members with several units", title_justify="left")
    for name in ("成员 member", "业主 owners", "房号 units", "面积 area m²", "人数 heads"):
        groups.add_column(name)
    for m in report["multi_unit_members"]:
        groups.add_row(
            m["id"], "; ".join(m["owners"]), ", ".join(m["units"]), m["area"], str(m["heads"])
        )
    console.print(groups if report["multi_unit_members"] else f"{groups.title}: 无 none")

    co_owned = RichTable(title="共有房屋 co-owned units", title_justify="left")
    co_owned.add_column("房号 unit")
    co_owned.add_column("共有人 owners")
    for u in report["co_owned_units"]:
        co_owned.add_row(u["unit"], "; ".join(u["owners"]))
    console.print(co_owned if report["co_owned_units"] else f"{co_owned.title}: 无 none")

    if report["owners_in_several_members"]:
        several = RichTable(
            title="同一业主标识在多个成员中 owner keys in several members", title_justify="left"
        )
        several.add_column("业主 owner")
        several.add_column("成员 members")
        for o in report["owners_in_several_members"]:
            several.add_row(o["owner"], ", ".join(o["members"]))
        console.print(several)

    if show_members:
        members = RichTable(title="表决成员 voting members", title_justify="left")
        for name in ("成员 member", "业主 owners", "房号 units", "面积 area m²", "人数 heads"):
            members.add_column(name)
        for m in report["members"]:
            members.add_row(
                m["id"], "; ".join(m["owners"]), ", ".join(m["units"]), m["area"], str(m["heads"])
            )
        console.print(members)

    if report["warnings"]:
        console.print(_problems_table("警告 warnings", report["warnings"]))
    else:
        console.print("警告 warnings: 无 none")


@click.group()
def roster() -> None:
    """业主名册 Roster files."""


@roster.command()
@click.argument("roster_file", metavar="ROSTER", type=click.Path(dir_okay=False))
@click.option(
    "--include-parking",
    is_flag=True,
    help="车位面积计入表决权重 count parking-space area toward voting weight.",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 print JSON.")
@click.option(
    "--members/--no-members",
    default=True,
    show_default=True,
    help="列出全部表决成员 list every voting member.",
)
def check(roster_file: str, include_parking: bool, as_json: bool, members: bool) -> None:
    """检查名册 Check a roster (CSV/XLSX) and show its voting members.

    Exit 0 valid, 1 invalid (every problem listed), 2 unreadable file.
    """
    console = Console(highlight=False)
    try:
        imported = import_roster(roster_file)
    except InputError as exc:
        code = 2 if isinstance(exc, UnreadableFileError) else 1
        problems: list[Problem] = list(exc.problems)
        if as_json:
            click.echo(
                json.dumps(
                    {"ok": False, "problems": [p.to_dict() for p in problems]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            title = (
                "无法读取名册 cannot read the roster"
                if code == 2
                else f"名册有 {len(problems)} 个问题，未导入 roster refused: "
                f"{len(problems)} problem(s), nothing imported"
            )
            console.print(_problems_table(title, [p.to_dict() for p in problems]))
        raise click.exceptions.Exit(code) from None
    report = build_report(imported, include_parking=include_parking)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _render(console, report, show_members=members)
