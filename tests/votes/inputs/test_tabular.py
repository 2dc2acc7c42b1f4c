"""Reading CSV/XLSX into text rows, and binding columns by header."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from votes.inputs.problems import UnreadableFileError
from votes.inputs.tabular import Column, bind_columns, cell_text, parse_csv, read_table

CHINESE_CSV = "房号,面积,业主\n1-101,89.50,张*明\n1-102,76.00,李*华\n"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cells(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    table = read_table(path)
    return [(table.header_row, table.header), *((r.row, r.cells) for r in table.rows)]


EXPECTED_CELLS = [
    (1, ("房号", "面积", "业主")),
    (2, ("1-101", "89.50", "张*明")),
    (3, ("1-102", "76.00", "李*华")),
]


def test_utf8_without_bom_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", CHINESE_CSV.encode("utf-8"))
    assert _cells(path) == EXPECTED_CELLS


def test_utf8_with_bom_is_read_without_the_bom_in_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", CHINESE_CSV.encode("utf-8-sig"))
    assert _cells(path) == EXPECTED_CELLS


def test_gb18030_is_read(tmp_path: Path) -> None:
    data = CHINESE_CSV.replace("\n", "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the test only means something if this is not UTF-8
    path = _write(tmp_path / "r.csv", data)
    assert _cells(path) == EXPECTED_CELLS


def test_utf16_tab_separated_excel_unicode_text_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.txt", CHINESE_CSV.replace(",", "\t").encode("utf-16"))
    assert _cells(path) == EXPECTED_CELLS


def test_blank_rows_are_skipped_but_keep_their_spreadsheet_numbers() -> None:
    table = parse_csv("\nunit,area\n1-101,1\n,\n1-102,2\n")
    assert table.header_row == 2
    assert [r.row for r in table.rows] == [3, 5]


def test_quoted_multiline_cell_is_one_spreadsheet_row() -> None:
    table = parse_csv('unit,note\n1-101,"two\nlines"\n1-102,x\n')
    assert [(r.row, r.cells[0]) for r in table.rows] == [(2, "1-101"), (3, "1-102")]


def test_xlsx_cells_arrive_as_text_with_spreadsheet_row_numbers(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["unit", "area", "time"])
    sheet.append(["1-101", 89.5, datetime(2024, 6, 3, 19, 42)])
    sheet.append([None, None, None])
    sheet.append(["1-102", 76, None])
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.header == ("unit", "area", "time")
    assert [(r.row, r.cells) for r in table.rows] == [
        (2, ("1-101", "89.5", "2024-06-03T19:42:00")),
        (4, ("1-102", "76", "")),
    ]


def test_xlsx_is_detected_by_content_not_by_name(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["unit"])
    workbook.active.append(["1-101"])
    path = tmp_path / "roster.csv"
    workbook.save(path)
    assert read_table(path).rows[0].cells == ("1-101",)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (89.5, "89.5"),
        (89.12, "89.12"),
        (0.1 + 0.2, "0.30000000000000004"),  # a computed value keeps its true digits
        (1e16, "10000000000000000"),
        (120.0, "120"),
        (7, "7"),
        (None, ""),
        (True, "TRUE"),
        ("  89.50 ", "  89.50 "),
    ],
)
def test_cell_text_writes_what_the_cell_holds(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_legacy_xls_is_refused_with_advice(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(UnreadableFileError) as info:
        read_table(path)
    assert [p.code for p in info.value.problems] == ["xls-not-supported"]


def test_bytes_in_no_supported_encoding_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", b"unit\n\xff\xff\xff\n")
    with pytest.raises(UnreadableFileError) as info:
        read_table(path)
    assert [p.code for p in info.value.problems] == ["bad-encoding"]


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as info:
        read_table(tmp_path / "nope.csv")
    assert [p.code for p in info.value.problems] == ["unreadable"]


def test_empty_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as info:
        read_table(_write(tmp_path / "r.csv", b"\n\n"))
    assert [p.code for p in info.value.problems] == ["empty-file"]


def test_damaged_xlsx_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as info:
        read_table(_write(tmp_path / "r.xlsx", b"PK\x03\x04 not really a zip"))
    assert [p.code for p in info.value.problems] == ["bad-xlsx"]


COLUMNS = (
    Column("unit", ("房号",), required=True),
    Column("area", ("面积", "建筑面积"), required=True),
    Column("co_owners", ("共有人",)),
)


def test_headers_match_trimmed_case_insensitive_and_in_chinese() -> None:
    table = parse_csv(" UNIT ,建筑面积(㎡),Co-Owners\n1,2,3\n")
    bound, problems = bind_columns(table, COLUMNS)
    assert problems == []
    assert [bound.cell(table.rows[0], n) for n in ("unit", "area", "co_owners")] == ["1", "2", "3"]
    assert bound.column_of("area") == "建筑面积(㎡)"


def test_unknown_headers_are_listed_not_refused() -> None:
    bound, problems = bind_columns(parse_csv("房号,面积,备注,phone\n1,2,3,4\n"), COLUMNS)
    assert problems == []
    assert bound.unknown == ("备注", "phone")


def test_missing_required_column_is_a_problem_on_the_header_row_naming_it() -> None:
    _, problems = bind_columns(parse_csv("房号,共有人\n1,2\n"), COLUMNS)
    assert [(p.row, p.column, p.code) for p in problems] == [(1, "area", "missing-column")]
    assert "面积" in problems[0].message


def test_a_column_given_twice_is_a_problem() -> None:
    _, problems = bind_columns(parse_csv("房号,面积,建筑面积\n1,2,3\n"), COLUMNS)
    assert [(p.row, p.column, p.code) for p in problems] == [(1, "建筑面积", "duplicate-column")]


def test_absent_optional_column_reads_as_empty() -> None:
    table = parse_csv("unit,area\n1,2\n")
    bound, _ = bind_columns(table, COLUMNS)
    assert bound.cell(table.rows[0], "co_owners") == ""
