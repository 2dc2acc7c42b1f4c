"""Roster import: reading, validation and problem rows (votes/inputs/roster.py)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from votes.inputs.problems import InputError
from votes.inputs.roster import (
    MAX_AREA,
    MAX_BUILDING,
    MAX_MEMBER_ID,
    MAX_OWNER_KEY,
    MAX_UNIT_NUMBER,
    AreaError,
    import_roster,
    parse_area,
    read_roster,
)
from votes.model import (
    DEVELOPER_MEMBER_ID,
    AreaSource,
    Member,
    Roster,
    Unit,
    UnitKind,
    UnitStatus,
)
from votes.rules import format_area
from votes.storage import models as storage

REPO = Path(__file__).resolve().parents[3]
HUAFU = REPO / "examples" / "huafu"

HEADER = "unit,building,area,owner,co_owners,kind,status,area_source"


def _csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _problems(path: Path) -> list[tuple[int, str | None, str]]:
    with pytest.raises(InputError) as info:
        read_roster(path)
    return [(p.row, p.column, p.code) for p in info.value.problems]


def _by_id(roster: Roster) -> dict[str, Member]:
    return {m.id: m for m in roster.members}


# --------------------------------------------------------------------------- areas


@pytest.mark.parametrize(
    ("text", "centiares"),
    [
        ("89", 8900),
        ("89.5", 8950),
        ("89.50", 8950),
        ("0.01", 1),
        (" 120.07 ", 12007),
        ("1,234.56", 123456),
        ("1,234,567", 123456700),
        ("０８９.５", 8950),  # full-width digits typed with a Chinese IME
        ("+12.5", 1250),
    ],
)
def test_area_text_becomes_exact_hundredths(text: str, centiares: int) -> None:
    assert parse_area(text) == centiares


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "area-missing"),
        ("  ", "area-missing"),
        ("abc", "area-not-a-number"),
        ("89.5㎡", "area-not-a-number"),
        ("1e2", "area-not-a-number"),
        ("1,5", "area-not-a-number"),
        ("12,34.5", "area-not-a-number"),
        ("89.", "area-not-a-number"),
        (".5", "area-not-a-number"),
        ("nan", "area-not-a-number"),
        ("89.125", "area-too-precise"),
        ("89.10000000000001", "area-too-precise"),
        ("0", "area-not-positive"),
        ("0.00", "area-not-positive"),
        ("-0", "area-not-positive"),
        ("-5.5", "area-not-positive"),
        ("90071992547409.92", "area-too-large"),
        ("9" * 5000, "area-too-large"),
        ("-" + "9" * 5000, "area-not-positive"),
    ],
)
def test_bad_area_text_is_refused_with_its_code(text: str, code: str) -> None:
    with pytest.raises(AreaError) as info:
        parse_area(text)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("centiares", "text"), [(0, "0.00"), (5, "0.05"), (8950, "89.50"), (123456, "1234.56")]
)
def test_format_area_writes_two_decimals(centiares: int, text: str) -> None:
    assert format_area(centiares) == text


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=10**12))
def test_format_then_parse_area_is_identity(centiares: int) -> None:
    assert parse_area(format_area(centiares)) == centiares


# --------------------------------------------------------------------------- files and encodings

ENGLISH = [
    "1-101,1,89.50,O1,O2;O3,residential,sold,registry",
    "1-102,1,76.00,O4,,commercial,unsold,survey",
    "P-001,车库,12.50,O1,O2；O3,parking,undelivered,contract",
]
CHINESE_HEADER = "房号,楼栋,面积,业主,共有人,类型,状态,面积来源"
CHINESE = [
    "1-101,1,89.50,O1,O2;O3,住宅,已售,不动产登记",
    "1-102,1,76.00,O4,,商业,未售,实测",
    "P-001,车库,12.50,O1,O2；O3,车位,已售未交付,合同",
]


def test_english_roster_is_read_with_every_field(tmp_path: Path) -> None:
    imported = import_roster(_csv(tmp_path, *ENGLISH))
    assert imported.units == (
        Unit("1-101", "1", 8950, frozenset({"O1", "O2", "O3"}), row=2),
        Unit(
            "1-102",
            "1",
            7600,
            frozenset({"O4"}),
            UnitKind.COMMERCIAL,
            UnitStatus.UNSOLD,
            AreaSource.SURVEY,
            row=3,
        ),
        Unit(
            "P-001",
            "车库",
            1250,
            frozenset({"O1", "O2", "O3"}),
            UnitKind.PARKING,
            UnitStatus.UNDELIVERED,
            AreaSource.CONTRACT,
            row=4,
        ),
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_headers_and_words_in_any_supported_encoding_give_the_same_roster(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "zh.csv"
    path.write_bytes("\r\n".join([CHINESE_HEADER, *CHINESE]).encode(encoding))
    assert read_roster(path) == read_roster(_csv(tmp_path, *ENGLISH))


def test_xlsx_with_numeric_area_cells_gives_the_same_roster(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(CHINESE_HEADER.split(","))
    for line in CHINESE:
        cells: list[object] = list(line.split(","))
        cells[2] = float(str(cells[2]))
        sheet.append(cells)
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    assert read_roster(path) == read_roster(_csv(tmp_path, *ENGLISH))


def test_xlsx_numeric_area_with_three_decimals_is_refused(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["房号", "面积", "业主"])
    workbook.active.append(["1-101", 89.125, "O1"])
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    assert _problems(path) == [(2, "面积", "area-too-precise")]


def test_only_required_columns_give_the_defaults(tmp_path: Path) -> None:
    (unit,) = import_roster(_csv(tmp_path, "1-101,89.5,O1", header="unit,area,owner")).units
    assert (unit.building, unit.kind, unit.status, unit.area_source) == (
        "",
        UnitKind.RESIDENTIAL,
        UnitStatus.SOLD,
        AreaSource.REGISTRY,
    )


def test_empty_enum_cells_take_the_defaults(tmp_path: Path) -> None:
    (unit,) = import_roster(_csv(tmp_path, "1-101,1,89.5,O1,,,,")).units
    assert (unit.kind, unit.status, unit.area_source) == (
        UnitKind.RESIDENTIAL,
        UnitStatus.SOLD,
        AreaSource.REGISTRY,
    )


def test_english_enum_words_are_case_insensitive(tmp_path: Path) -> None:
    (unit,) = import_roster(_csv(tmp_path, "1-101,1,89.5,O1,,Parking,UNSOLD,Survey")).units
    assert (unit.kind, unit.status, unit.area_source) == (
        UnitKind.PARKING,
        UnitStatus.UNSOLD,
        AreaSource.SURVEY,
    )


def test_unknown_columns_are_warnings_not_errors(tmp_path: Path) -> None:
    imported = import_roster(
        _csv(tmp_path, "1-101,1,89.5,O1,x", header="unit,building,area,owner,备注")
    )
    assert [(w.row, w.column, w.code) for w in imported.warnings] == [(1, "备注", "unknown-column")]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",1,89.5,O9,,,,", (3, "unit", "empty-unit")),
        ("1-101,1,90,O9,,,,", (3, "unit", "duplicate-unit")),
        ("1-102,1,,O9,,,,", (3, "area", "area-missing")),
        ("1-102,1,八十,O9,,,,", (3, "area", "area-not-a-number")),
        ("1-102,1,89.555,O9,,,,", (3, "area", "area-too-precise")),
        ("1-102,1,0,O9,,,,", (3, "area", "area-not-positive")),
        ("1-102,1,-89.5,O9,,,,", (3, "area", "area-not-positive")),
        ("1-102,1,89.5,,,,,", (3, "owner", "empty-owner")),
        ("1-102,1,89.5,O9;O8,,,,", (3, "owner", "owner-has-separator")),
        ("1-102,1,89.5,O9,,villa,,", (3, "kind", "unknown-kind")),
        ("1-102,1,89.5,O9,,,rented,", (3, "status", "unknown-status")),
        ("1-102,1,89.5,O9,,,,guess", (3, "area_source", "unknown-area-source")),
        ("1-102,1,99999999999999999999,O9,,,,", (3, "area", "area-too-large")),
        ("1" * 94 + ",1,89.5,O9,,,,", (3, "unit", "too-long")),
        ("1-102," + "楼" * 101 + ",89.5,O9,,,,", (3, "building", "too-long")),
        ("1-102,1,89.5," + "O" * 201 + ",,,,", (3, "owner", "too-long")),
        ("1-102,1,89.5,O9,O8;" + "O" * 201 + ",,,", (3, "co_owners", "too-long")),
        ("1-1\x0002,1,89.5,O9,,,,", (3, "unit", "control-character")),
        ("1-102,1,89.5,O\x009,,,,", (3, "owner", "control-character")),
    ],
)
def test_each_bad_cell_is_reported_with_row_and_column(
    tmp_path: Path, row: str, expected: tuple[int, str, str]
) -> None:
    path = _csv(tmp_path, "1-101,1,89.5,O1,,,,", row)
    assert _problems(path) == [expected]


def test_longest_storable_values_are_accepted(tmp_path: Path) -> None:
    number = "1" * MAX_UNIT_NUMBER
    row = f"{number},{'楼' * MAX_BUILDING},89.5,{'O' * MAX_OWNER_KEY},{'C' * MAX_OWNER_KEY},,,"
    roster = read_roster(_csv(tmp_path, row))
    assert [m.id for m in roster.members] == [f"member:{number}"]
    assert len(roster.members[0].id) == MAX_MEMBER_ID


def test_total_area_above_the_record_limit_is_a_problem_on_the_row_that_crosses_it(
    tmp_path: Path,
) -> None:
    half = format_area(MAX_AREA // 2 + 1)
    path = _csv(tmp_path, f"1-101,1,{half},O1,,,,", f"1-102,1,{half},O2,,,,", "1-103,1,1,O3,,,,")
    assert _problems(path) == [(3, "area", "area-total-too-large")]


def test_roster_limits_are_the_storage_column_sizes() -> None:
    def size(column: object) -> int:
        length = column.type.length  # type: ignore[attr-defined]
        assert isinstance(length, int)
        return length

    tables = storage.Base.metadata.tables
    assert size(tables["units"].c.number) >= MAX_UNIT_NUMBER
    assert size(tables["buildings"].c.name) == MAX_BUILDING
    assert size(tables["unit_owners"].c.owner_key) == MAX_OWNER_KEY
    for column in (
        tables["voting_members"].c.id,
        tables["units"].c.member_id,
        tables["roster_members"].c.member_id,
        tables["credentials"].c.member_id,
        tables["objections"].c.member_id,
    ):
        assert size(column) == MAX_MEMBER_ID


def test_problem_names_the_column_as_written_in_the_file(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1-101,0,O1", header="房号,建筑面积（㎡）,业主")
    assert _problems(path) == [(2, "建筑面积（㎡）", "area-not-positive")]


def test_duplicate_unit_message_points_at_the_first_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1-101,1,1,O1,,,,", "1-102,1,1,O2,,,,", "1-101,1,1,O3,,,,")
    with pytest.raises(InputError) as info:
        read_roster(path)
    (problem,) = info.value.problems
    assert problem.row == 4
    assert "1-101" in problem.message
    assert "row 2" in problem.message


def test_every_problem_of_every_row_is_reported_at_once(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "1-101,1,89.5,O1,,,,",
        "1-102,1,abc,,,villa,,",
        "1-103,1,70,O3,,,,",
        "1-101,1,-1,O4,,,,",
    )
    assert _problems(path) == [
        (3, "area", "area-not-a-number"),
        (3, "owner", "empty-owner"),
        (3, "kind", "unknown-kind"),
        (5, "unit", "duplicate-unit"),
        (5, "area", "area-not-positive"),
    ]


def test_missing_required_columns_are_named_and_rows_are_still_checked(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1-101,O1", "1-101,O2", header="unit,owner")
    assert _problems(path) == [(1, "area", "missing-column"), (3, "unit", "duplicate-unit")]


def test_missing_unit_column_is_reported_once_not_on_every_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1,89.5,O1", "1,76,O2", header="building,area,owner")
    assert _problems(path) == [(1, "unit", "missing-column")]


def test_roster_without_units_is_refused(tmp_path: Path) -> None:
    assert _problems(_csv(tmp_path)) == [(0, None, "no-units")]


def test_a_file_with_any_error_imports_nothing(tmp_path: Path) -> None:
    good_rows = [f"1-{i:03d},1,80,O{i},,,," for i in range(1, 50)]
    path = _csv(tmp_path, *good_rows, "9-999,9,0,O999,,,,")
    with pytest.raises(InputError) as info:
        import_roster(path)
    # Refused as a whole: the one bad row is the only problem, and no roster came back.
    assert [(p.row, p.code) for p in info.value.problems] == [(51, "area-not-positive")]


# ------------------------------------------------------------------ grouping an imported file


def test_sold_unit_with_the_developers_key_is_not_in_the_developer_member(tmp_path: Path) -> None:
    imported = import_roster(_csv(tmp_path, "1-101,1,80,D,,,unsold,", "1-102,1,80,D,,,sold,"))
    assert sorted(m.id for m in imported.roster.members) == ["developer", "member:1-102"]
    assert [w.code for w in imported.warnings] == ["developer-key-on-sold-units"]


# --------------------------------------------------------------------------- the sample estate


def _sample_rows() -> list[dict[str, str]]:
    with (HUAFU / "roster.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_roster_is_the_same_in_csv_gb18030_and_xlsx() -> None:
    roster = read_roster(HUAFU / "roster.csv")
    assert read_roster(HUAFU / "roster-gb18030.csv") == roster
    assert read_roster(HUAFU / "roster.xlsx") == roster


def test_sample_roster_developer_holds_exactly_the_unsold_and_undelivered_rows() -> None:
    expected = sorted(r["unit"] for r in _sample_rows() if r["status"] != "sold")
    developer = _by_id(read_roster(HUAFU / "roster.csv"))[DEVELOPER_MEMBER_ID]
    assert [u.number for u in developer.units] == expected


def test_sample_roster_has_the_cases_it_is_meant_to_show() -> None:
    roster = read_roster(HUAFU / "roster.csv")
    members = [m for m in roster.members if not m.is_developer]
    assert any(len(m.units) > 1 for m in members)  # one buyer, several units
    assert any(len(m.owners) > 1 for m in members)  # co-owned
    assert any(
        all(u.kind is UnitKind.PARKING for u in m.units) for m in members
    )  # parking-only owners
    keys = [k for m in members for k in m.owners]
    assert len(keys) > len(set(keys))  # someone alone and jointly


def test_sample_files_regenerate_identically(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("roster.csv", "roster-gb18030.csv", "roster.xlsx", "motions.json", "ballots.csv"):
        assert (tmp_path / name).read_bytes() == (HUAFU / name).read_bytes(), name
