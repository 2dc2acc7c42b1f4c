"""``votes tally`` end to end on the sample estate and on broken inputs.

Expected figures for examples/huafu come from its README, which were worked
out by a separate script from the roster and docs/legal.md (not by this command).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from votes.cli import main


@pytest.fixture
def huafu(repo_root: Path) -> list[str]:
    base = repo_root / "examples" / "huafu"
    return [
        "--roster",
        str(base / "roster.csv"),
        "--ballots",
        str(base / "ballots.csv"),
        "--motions",
        str(base / "motions.json"),
    ]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["tally", *args])


def as_json(*args: str) -> dict[str, Any]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def motions_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in data["motions"]}


def test_table_shows_each_motion_with_its_outcome(huafu: list[str]) -> None:
    result = invoke(*huafu)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for label in ("总计 total", "参与 participating", "同意 agree", "反对 oppose", "弃权 abstain"):
        assert label in out
    assert "通过 PASS" in out
    assert "未通过 FAIL" in out
    assert "4702.83" in out
    assert "conflicting ballots" in out


def test_json_matches_the_independently_worked_sample_result(huafu: list[str]) -> None:
    motions = motions_by_id(as_json(*huafu))
    m1 = motions["M1"]
    assert m1["participating"] == {"area": "6188.82", "heads": 63}
    assert m1["totals"] == {"area": "7579.71", "heads": 78}
    assert m1["agree"] == {"area": "4702.83", "heads": 45}
    assert m1["passed"] is False
    assert m1["thresholds"]["consent"]["area"]["met"] is True
    assert m1["thresholds"]["consent"]["heads"]["met"] is False
    m2 = motions["M2"]
    assert m2["elected"] == ["安居物业"]
    assert {o["name"]: o["agree"] for o in m2["options"]}["安居物业"] == {
        "area": "4448.81",
        "heads": 44,
    }
    m3 = motions["M3"]
    assert set(m3["elected"]) == {"王*芳", "张*明", "刘*强", "李*华", "陈*静"}
    assert m3["passed"] is True
    m4 = motions["M4"]
    assert m4["scope"] == ["2"]
    assert m4["totals"] == {"area": "2882.02", "heads": 29}
    assert m4["participating"] == {"area": "2327.00", "heads": 23}
    assert m4["agree"] == {"area": "1653.32", "heads": 18}
    assert m4["passed"] is True
    m5 = motions["M5"]
    assert m5["agree"] == {"area": "2113.73", "heads": 23}
    assert m5["passed"] is False
    assert all(m["quorum_met"] for m in motions.values())


def test_json_lists_the_settings_and_conflicts(huafu: list[str]) -> None:
    data = as_json(*huafu)
    assert data["rulebook"] == "civil-code-2021"
    assert data["settings"]["duplicate_policy"] == "one-vote-only"
    conflicts = {(c["member"], c["motion"]): c for c in data["conflicts"]}
    conflict = conflicts[("member:2-301", "M2")]
    assert [r["channel"] for r in conflict["rows"]] == ["online", "paper"]
    assert conflict["taken"] == 0


def test_duplicate_policy_option_changes_which_row_is_taken(huafu: list[str]) -> None:
    data = as_json(*huafu, "--duplicate-policy", "paper-prevails")
    conflicts = {(c["member"], c["motion"]): c for c in data["conflicts"]}
    conflict = conflicts[("member:2-301", "M2")]
    assert conflict["rows"][conflict["taken"]]["channel"] == "paper"
    assert conflict["rule"] == "paper-prevails"


def test_include_parking_uses_the_larger_totals(huafu: list[str]) -> None:
    motions = motions_by_id(as_json(*huafu, "--include-parking"))
    assert motions["M1"]["totals"] == {"area": "7790.98", "heads": 82}


def test_property_law_counts_the_lift_repair_against_the_building_total(
    huafu: list[str],
) -> None:
    # 1653.32 of 2882.02 m² is below 2/3 of all of building 2
    motions = motions_by_id(as_json(*huafu, "--rulebook", "property-law-2007"))
    m4 = motions["M4"]
    assert m4["thresholds"]["quorum"] is None
    assert m4["passed"] is False
    assert m4["reason"]["code"] == "consent-not-met"


def test_invalid_and_non_voter_options_reach_the_settings(huafu: list[str]) -> None:
    data = as_json(*huafu, "--invalid", "excluded", "--non-voters", "follow-majority")
    assert data["settings"]["invalid_ballots"] == "excluded"
    assert data["settings"]["non_voters"] == "follow-majority"
    m5 = motions_by_id(data)["M5"]
    assert m5["non_voters"]["applied"] is True
    assert m5["non_voters"]["direction"] == "oppose"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_invalid_roster_exits_2_naming_row_and_column(tmp_path: Path, huafu: list[str]) -> None:
    roster = _write(
        tmp_path, "roster.csv", "unit,building,area,owner\n1-101,1,89.5,O1\n1-102,1,-3,O2\n"
    )
    result = invoke("--roster", roster, *huafu[2:])
    assert result.exit_code == 2
    assert "row 3" in result.stderr
    assert "area" in result.stderr
    assert result.stdout == ""


def test_a_missing_file_exits_2(tmp_path: Path, huafu: list[str]) -> None:
    result = invoke(*huafu[:4], "--motions", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json" in result.stderr


def test_bad_ballots_exit_2_with_every_problem(tmp_path: Path, huafu: list[str]) -> None:
    ballots = _write(tmp_path, "ballots.csv", "房号,议题,表决意见\n9-999,M1,同意\n1-101,M1,也许\n")
    result = invoke(*huafu[:2], "--ballots", ballots, *huafu[4:])
    assert result.exit_code == 2
    assert "row 2" in result.stderr
    assert "row 3" in result.stderr


def test_an_unknown_rulebook_is_a_usage_error(huafu: list[str]) -> None:
    result = invoke(*huafu, "--rulebook", "made-up")
    assert result.exit_code == 2
    assert "made-up" in result.stderr
