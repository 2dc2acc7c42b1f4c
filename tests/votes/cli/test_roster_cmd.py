"""``votes roster check`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from votes.cli import main

REPO = Path(__file__).resolve().parents[3]
HUAFU = REPO / "examples" / "huafu"

# Hand-worked: A owns 1-101 (80.00) and P-001 (12.50, parking) -> one member;
# B and C co-own 2-101 (70.25); E owns only P-002 (13.00, parking);
# the developer holds 2-102 unsold (60.00) and 2-103 undelivered (55.50).
ROSTER = """房号,楼栋,面积,业主,共有人,类型,状态,备注
1-101,1,80.00,A,,住宅,已售,x
P-001,车库,12.50,A,,车位,已售,
2-101,2,70.25,B,C,住宅,已售,
P-002,车库,13.00,E,,车位,已售,
2-102,2,60.00,Dev,,住宅,未售,
2-103,2,55.50,Dev,,住宅,已售未交付,
"""


@pytest.fixture
def roster_file(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["roster", "check", *args], env={"COLUMNS": "200"})


def _json(*args: str) -> dict[str, Any]:
    result = _run(*args, "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    data["exit_code"] = result.exit_code
    return data


def test_valid_roster_exits_0_with_totals_without_parking(roster_file: Path) -> None:
    report = _json(str(roster_file))
    assert report["exit_code"] == 0
    # 80.00 + 70.25 + 60.00 + 55.50; heads: A, B+C, developer (E is parking-only).
    assert report["totals"] == {"units": 6, "members": 4, "area": "265.75", "heads": 3}


def test_include_parking_adds_parking_area_and_parking_only_heads(roster_file: Path) -> None:
    report = _json(str(roster_file), "--include-parking")
    assert report["totals"] == {"units": 6, "members": 4, "area": "291.25", "heads": 4}


def test_report_shows_per_building_developer_groups_and_warnings(roster_file: Path) -> None:
    report = _json(str(roster_file))
    assert report["buildings"] == [
        {"building": "1", "units": 1, "area": "80.00", "heads": 1},
        {"building": "2", "units": 3, "area": "185.75", "heads": 2},
        {"building": "车库", "units": 2, "area": "0.00", "heads": 0},
    ]
    assert report["developer"]["units"] == ["2-102", "2-103"]
    assert report["developer"]["owners"] == ["Dev"]
    assert [m["units"] for m in report["multi_unit_members"]] == [["1-101", "P-001"]]
    assert report["co_owned_units"] == [{"unit": "2-101", "owners": ["B", "C"]}]
    assert [(w["column"], w["code"]) for w in report["warnings"]] == [("备注", "unknown-column")]


def test_human_output_is_bilingual_and_names_the_developer(roster_file: Path) -> None:
    result = _run(str(roster_file))
    assert result.exit_code == 0
    for text in (
        "名册有效 roster valid",
        "总面积 total area: 265.75",
        "开发商成员 developer member",
        "备注",
    ):
        assert text in result.stdout


def test_invalid_roster_exits_1_and_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("unit,area,owner\n1-101,0,A\n1-101,abc,\n", encoding="utf-8")
    report = _json(str(path))
    assert report["exit_code"] == 1
    assert report["ok"] is False
    assert [(p["row"], p["column"], p["code"]) for p in report["problems"]] == [
        (2, "area", "area-not-positive"),
        (3, "unit", "duplicate-unit"),
        (3, "area", "area-not-a-number"),
        (3, "owner", "empty-owner"),
    ]


def test_invalid_roster_human_output_shows_rows_and_chinese_messages(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("unit,area,owner\n1-101,0,A\n", encoding="utf-8")
    result = _run(str(path))
    assert result.exit_code == 1
    assert "面积为零 area is zero" in result.stdout
    assert "未导入" in result.stdout


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "r.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    assert _run(str(path)).exit_code == 2


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert _run(str(tmp_path / "missing.csv")).exit_code == 2


def test_sample_estate_checks_clean_in_all_three_formats() -> None:
    reports = [
        _json(str(HUAFU / name)) for name in ("roster.csv", "roster-gb18030.csv", "roster.xlsx")
    ]
    assert all(r["exit_code"] == 0 and r["warnings"] == [] for r in reports)
    assert reports[0]["totals"] == reports[1]["totals"] == reports[2]["totals"]
