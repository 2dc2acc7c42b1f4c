"""Import the roster (业主名册) from CSV or XLSX: validation, problem rows and warnings.

Each row is one unit; the imported units are grouped into voting members by
:func:`votes.roster.group_members` (docs/legal.md §2, docs/roster.md). A file
with any error imports nothing; every problem of every row is reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from crypto.canonical import MAX_SAFE_INTEGER
from votes.inputs.problems import InputError, Problem
from votes.inputs.tabular import (
    BoundTable,
    Column,
    Table,
    TableRow,
    bind_columns,
    normalize_text,
    parse_enum_cell,
    read_table,
    text_problem,
)
from votes.model import AreaSource, Roster, Unit, UnitKind, UnitStatus
from votes.roster import group_members
from votes.rules import format_area

__all__ = [
    "MAX_AREA",
    "MAX_BUILDING",
    "MAX_MEMBER_ID",
    "MAX_OWNER_KEY",
    "MAX_UNIT_NUMBER",
    "ROSTER_COLUMNS",
    "AreaError",
    "RosterImport",
    "import_roster",
    "import_roster_table",
    "parse_area",
    "parse_roster_table",
    "read_roster",
    "split_keys",
]

#: The longest values the database stores (votes/storage/models: ``units.number``,
#: ``buildings.name`` and the member ids, ``unit_owners.owner_key``); a test keeps
#: them equal. A unit number leaves room for the ``member:`` prefix of the member
#: id made from it. Longer values are problem rows, so SQLite (which ignores
#: VARCHAR sizes) and PostgreSQL accept and refuse the same files.
MAX_MEMBER_ID = 100
MAX_UNIT_NUMBER = MAX_MEMBER_ID - len("member:")
MAX_BUILDING = 100
MAX_OWNER_KEY = 200

#: The largest area of a unit, and of all units together, in 0.01 m²: record
#: integers are exact in every JSON reader only up to 2**53 - 1 (docs/verification.md).
MAX_AREA = MAX_SAFE_INTEGER

ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("unit", ("房号",), required=True, max_length=MAX_UNIT_NUMBER),
    Column("building", ("楼栋",), max_length=MAX_BUILDING),
    Column("area", ("面积", "专有部分面积", "建筑面积"), required=True),
    Column("owner", ("业主",), required=True, max_length=MAX_OWNER_KEY),
    Column("co_owners", ("共有人",), max_length=MAX_OWNER_KEY),  # each key
    Column("kind", ("类型",)),
    Column("status", ("状态",)),
    Column("area_source", ("面积来源",)),
)

_KIND_WORDS = {
    "住宅": UnitKind.RESIDENTIAL,
    "商业": UnitKind.COMMERCIAL,
    "车位": UnitKind.PARKING,
    "储藏室": UnitKind.STORAGE,
    "其他": UnitKind.OTHER,
}
_STATUS_WORDS = {
    "已售": UnitStatus.SOLD,
    "未售": UnitStatus.UNSOLD,
    "已售未交付": UnitStatus.UNDELIVERED,
}
_SOURCE_WORDS = {
    "不动产登记": AreaSource.REGISTRY,
    "实测": AreaSource.SURVEY,
    "合同": AreaSource.CONTRACT,
}

#: The enum columns -> how a problem names them (Chinese, English); the English
#: name with hyphens is the problem code's tail ("unknown-area-source").
_ENUM_LABELS = {
    "kind": ("类型", "kind"),
    "status": ("状态", "status"),
    "area_source": ("面积来源", "area source"),
}

_KEY_SEPARATORS = re.compile(r"[;；]")
_COLUMN = {column.name: column for column in ROSTER_COLUMNS}


# --------------------------------------------------------------------------- areas


class AreaError(ValueError):
    """An area text was refused; ``code`` is the stable problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Digits with an optional decimal part; thousands separators only in strict
# groups of three ("1,234.56"), so "1,5" is never read as one and a half.
_AREA = re.compile(r"^([+-]?)(\d+|\d{1,3}(?:,\d{3})+)(?:\.(\d*))?$")


def parse_area(text: str) -> int:
    """Parse an area in m² written as text into integer 0.01 m² (never via float).

    Accepts ``89``, ``89.5``, ``89.50``, ``1,234.56`` (strict thousands groups);
    refuses empty text, anything non-numeric (including exponents and units),
    more than two decimals, zero and negative values, and areas above
    :data:`MAX_AREA` (``area-too-large``).
    """
    value = normalize_text(text)
    if not value:
        raise AreaError("area-missing", "面积为空 area is empty")
    match = _AREA.match(value)
    if match is None or match.group(3) == "":
        raise AreaError("area-not-a-number", f"面积不是数字 area is not a number: '{value}'")
    sign, whole, decimals = match.group(1), match.group(2).replace(",", ""), match.group(3) or ""
    # Compared by length first: int() of thousands of digits is slow, or refused.
    if len(whole.lstrip("0")) > len(str(MAX_AREA // 100)):
        if sign == "-":
            raise AreaError("area-not-positive", f"面积为负数 area is negative: '{value}'")
        raise _too_large(value)
    if len(decimals) > 2:
        raise AreaError(
            "area-too-precise",
            f"面积最多两位小数 area has more than 2 decimals: '{value}'",
        )
    centiares = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if sign == "-" and centiares:
        raise AreaError("area-not-positive", f"面积为负数 area is negative: '{value}'")
    if centiares == 0:
        raise AreaError("area-not-positive", f"面积为零 area is zero: '{value}'")
    if centiares > MAX_AREA:
        raise _too_large(value)
    return centiares


def _too_large(value: str) -> AreaError:
    return AreaError(
        "area-too-large",
        f"面积过大（最大 {format_area(MAX_AREA)}） area is larger than "
        f"{format_area(MAX_AREA)} m²: '{value}'",
    )


def split_keys(text: str) -> list[str]:
    """Split a ``;`` / ``；`` separated list of keys; empty parts are dropped."""
    return [part for part in (normalize_text(p) for p in _KEY_SEPARATORS.split(text)) if part]


# --------------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class RosterImport:
    """A successfully imported roster plus the warnings worth showing (never errors)."""

    roster: Roster
    units: tuple[Unit, ...]  # in file order
    warnings: tuple[Problem, ...]


_E = TypeVar("_E", bound=StrEnum)


def _allowed(enum: type[StrEnum], words: dict[str, _E]) -> str:
    chinese = {v: k for k, v in words.items()}
    return ", ".join(f"{chinese[member]} {member.value}" for member in enum)  # type: ignore[index]


def _parse_row(
    bound: BoundTable, row: TableRow, first_row_of: dict[str, int], problems: list[Problem]
) -> Unit | None:
    def problem(name: str, code: str, message: str) -> None:
        problems.append(Problem(row.row, bound.column_of(name), code, message))

    def stored(name: str, value: str) -> bool:
        """False (with a problem) if ``value`` does not fit the storage column."""
        found = text_problem(value, _COLUMN[name])
        if found is not None:
            problem(name, *found)
        return found is None

    def enum_cell(name: str, enum: type[_E], words: dict[str, _E], default: _E) -> _E | None:
        """The cell's member of ``enum`` (``default`` if empty); None, with a problem, if not."""
        text = bound.cell(row, name)
        value = parse_enum_cell(text, enum, words, default)
        if value is None:
            zh, en = _ENUM_LABELS[name]
            problem(
                name,
                f"unknown-{en.replace(' ', '-')}",
                f"未知{zh} unknown {en} '{normalize_text(text)}' "
                f"(allowed: {_allowed(enum, words)})",
            )
        return value

    before = len(problems)
    number = normalize_text(bound.cell(row, "unit"))
    if not bound.has("unit"):
        pass  # reported once as a missing column
    elif not number:
        problem("unit", "empty-unit", "房号为空 unit number is empty")
    elif not stored("unit", number):
        pass
    elif number in first_row_of:
        problem(
            "unit",
            "duplicate-unit",
            f"房号重复 duplicate unit '{number}' (first on row {first_row_of[number]})",
        )
    else:
        first_row_of[number] = row.row

    area = 0
    if bound.has("area"):
        try:
            area = parse_area(bound.cell(row, "area"))
        except AreaError as exc:
            problem("area", exc.code, exc.message)

    owner = normalize_text(bound.cell(row, "owner"))
    if bound.has("owner"):
        if not owner:
            problem("owner", "empty-owner", "业主为空 owner is empty")
        elif _KEY_SEPARATORS.search(owner):
            problem(
                "owner",
                "owner-has-separator",
                f"业主列只能填一个业主，其他人填共有人列 owner must be one key "
                f"(put further owners in 共有人 co_owners): '{owner}'",
            )
        else:
            stored("owner", owner)
    co_owners = split_keys(bound.cell(row, "co_owners"))
    for key in co_owners:
        if not stored("co_owners", key):
            break  # one problem per cell
    owners = frozenset([owner, *co_owners])
    building = normalize_text(bound.cell(row, "building"))
    stored("building", building)

    kind = enum_cell("kind", UnitKind, _KIND_WORDS, UnitKind.RESIDENTIAL)
    status = enum_cell("status", UnitStatus, _STATUS_WORDS, UnitStatus.SOLD)
    source = enum_cell("area_source", AreaSource, _SOURCE_WORDS, AreaSource.REGISTRY)
    if len(problems) > before or kind is None or status is None or source is None:
        return None
    return Unit(
        number, building, area, owners, kind=kind, status=status, area_source=source, row=row.row
    )


def _warnings(bound: BoundTable, units: Sequence[Unit], roster: Roster) -> list[Problem]:
    table = bound.table
    warnings = bound.unknown_column_warnings()
    if not bound.has("building"):
        warnings.append(
            Problem(
                table.header_row,
                "building",
                "no-building-column",
                "没有楼栋列：按楼栋范围表决的议题无法计票 "
                "no building column: motions scoped to buildings cannot count any unit",
            )
        )
    else:
        warnings.extend(
            Problem(
                u.row,
                bound.column_of("building"),
                "empty-building",
                f"楼栋为空：按楼栋范围表决时不计入 building is empty for unit '{u.number}': "
                "never inside a motion scoped to buildings",
            )
            for u in units
            if not u.building
        )
    developer = next((m for m in roster.members if m.is_developer), None)
    if developer is not None:
        shared = sorted(
            key
            for m in roster.members
            if not m.is_developer
            for key in m.owners
            if key in developer.owners
        )
        if shared:
            warnings.append(
                Problem(
                    0,
                    None,
                    "developer-key-on-sold-units",
                    "开发商的业主标识也出现在已售房屋上，这些房屋另计为独立成员 "
                    f"developer owner key(s) also on sold units, counted as separate members: "
                    f"{', '.join(dict.fromkeys(shared))}",
                )
            )
    return warnings


def import_roster_table(table: Table) -> RosterImport:
    """Validate and group an already-read table; raises :class:`InputError` with every problem."""
    bound, problems = bind_columns(table, ROSTER_COLUMNS)
    first_row_of: dict[str, int] = {}
    units: list[Unit] = []
    total = 0
    for row in table.rows:
        unit = _parse_row(bound, row, first_row_of, problems)
        if unit is not None:
            units.append(unit)
            total += unit.area
            if total > MAX_AREA >= total - unit.area:  # reported once, where it overflows
                problems.append(
                    Problem(
                        row.row,
                        bound.column_of("area"),
                        "area-total-too-large",
                        f"全部房屋面积合计超过 {format_area(MAX_AREA)} m² "
                        f"the units' total area exceeds {format_area(MAX_AREA)} m²",
                    )
                )
    if not table.rows:
        problems.append(Problem(0, None, "no-units", "名册没有任何房屋 the roster has no units"))
    if problems:
        raise InputError(problems, source=table.source)
    roster = group_members(units)
    return RosterImport(
        roster=roster, units=tuple(units), warnings=tuple(_warnings(bound, units, roster))
    )


def parse_roster_table(table: Table) -> Roster:
    """Same as :func:`read_roster` for an already-read table."""
    return import_roster_table(table).roster


def import_roster(path: Path | str) -> RosterImport:
    """Read, validate and group a roster file, keeping the warnings."""
    return import_roster_table(read_table(path))


def read_roster(path: Path | str) -> Roster:
    """Read a roster CSV/XLSX file; raises :class:`InputError` listing every problem.

    A file with any problem imports nothing.
    """
    return import_roster(path).roster
