"""Reading and validating the motions JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from votes.inputs.motions_file import read_motions
from votes.inputs.problems import InputError, UnreadableFileError
from votes.model import Motion, MotionType, Roster, Unit
from votes.roster import group_members

REPO = Path(__file__).resolve().parents[3]

YES_NO = {"id": "M1", "title": "划线停车", "item": 8, "type": "yes-no"}
ELECTION = {
    "id": "M3",
    "title": "选举业委会",
    "item": 3,
    "type": "election",
    "seats": 2,
    "candidates": ["张*明", "李*华", "王*芳"],
}
CHOOSE = {
    "id": "M2",
    "title": "选聘物业",
    "item": 4,
    "type": "choose-one",
    "options": ["安居物业", "恒信物业"],
}


def _file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "motions.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _problems(tmp_path: Path, data: Any) -> list[tuple[int, str | None, str]]:
    with pytest.raises(InputError) as info:
        read_motions(_file(tmp_path, data))
    return [(p.row, p.column, p.code) for p in info.value.problems]


def test_each_motion_type_is_read(tmp_path: Path) -> None:
    scoped = {**YES_NO, "id": "M4", "item": 5, "scope": ["2", "3"]}
    motions = read_motions(_file(tmp_path, [YES_NO, ELECTION, CHOOSE, scoped]))
    assert motions == [
        Motion("M1", "划线停车", 8),
        Motion("M3", "选举业委会", 3, MotionType.ELECTION, 2, ("张*明", "李*华", "王*芳")),
        Motion("M2", "选聘物业", 4, MotionType.CHOOSE_ONE, 1, ("安居物业", "恒信物业")),
        Motion("M4", "划线停车", 5, scope=frozenset({"2", "3"})),
    ]


def test_type_defaults_to_yes_no_and_null_scope_is_the_whole_estate(tmp_path: Path) -> None:
    (motion,) = read_motions(_file(tmp_path, [{"id": "A", "title": "t", "item": 9, "scope": None}]))
    assert (motion.type, motion.scope) == (MotionType.YES_NO, None)


def test_the_sample_motions_are_valid() -> None:
    motions = read_motions(REPO / "examples" / "huafu" / "motions.json")
    assert [(m.id, m.item, m.type) for m in motions] == [
        ("M1", 8, MotionType.YES_NO),
        ("M2", 4, MotionType.CHOOSE_ONE),
        ("M3", 3, MotionType.ELECTION),
        ("M4", 5, MotionType.YES_NO),
        ("M5", 9, MotionType.YES_NO),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": None}, ("id", "missing-id")),
        ({"id": ""}, ("id", "bad-id")),
        ({"id": 7}, ("id", "bad-id")),
        ({"title": None}, ("title", "missing-title")),
        ({"item": 0}, ("item", "bad-item")),
        ({"item": 10}, ("item", "bad-item")),
        ({"item": "4"}, ("item", "bad-item")),
        ({"item": 4.0}, ("item", "bad-item")),
        ({"item": True}, ("item", "bad-item")),
        ({"type": "ranked"}, ("type", "bad-type")),
        ({"scope": []}, ("scope", "bad-scope")),
        ({"scope": "2"}, ("scope", "bad-scope")),
        ({"scope": ["2", ""]}, ("scope", "bad-scope")),
        ({"scop": ["2"]}, ("scop", "unknown-key")),
        ({"candidates": ["a", "b"]}, ("candidates", "unknown-key")),
    ],
)
def test_bad_yes_no_field_is_reported_with_its_position_and_key(
    tmp_path: Path, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    motion = {k: v for k, v in {**YES_NO, **change}.items() if v is not None}
    assert _problems(tmp_path, [CHOOSE, motion]) == [(2, *expected)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"seats": 0}, ("seats", "bad-seats")),
        ({"seats": 4}, ("seats", "too-many-seats")),
        ({"seats": None}, ("seats", "bad-seats")),
        ({"candidates": []}, ("candidates", "bad-candidates")),
        ({"candidates": ["张*明", ""]}, ("candidates", "bad-candidates")),
        ({"candidates": ["张*明", "张*明"]}, ("candidates", "duplicate-name")),
        ({"candidates": ["Ann", "ANN"]}, ("candidates", "duplicate-name")),
        ({"candidates": ["张*明;李*华"]}, ("candidates", "name-has-separator")),
        ({"candidates": ["张*明；李*华"]}, ("candidates", "name-has-separator")),
        ({"candidates": ["张*明", "Abstain"]}, ("candidates", "reserved-name")),
        ({"candidates": ["张*明", "弃权"]}, ("candidates", "reserved-name")),
        ({"candidates": ["张*明", "同意"]}, ("candidates", "reserved-name")),
        ({"options": ["a", "b"]}, ("options", "unknown-key")),
    ],
)
def test_bad_election_field_is_reported(
    tmp_path: Path, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    motion = {k: v for k, v in {**ELECTION, **change}.items() if v is not None}
    if change.get("candidates") == []:
        motion["seats"] = 1
    assert _problems(tmp_path, [motion]) == [(1, *expected)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"options": ["only one"]}, ("options", "bad-options")),
        ({"options": None}, ("options", "bad-options")),
        ({"options": ["a", "invalid"]}, ("options", "reserved-name")),
        ({"seats": 1}, ("seats", "unknown-key")),
    ],
)
def test_bad_choose_one_field_is_reported(
    tmp_path: Path, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    motion = {k: v for k, v in {**CHOOSE, **change}.items() if v is not None}
    assert _problems(tmp_path, [motion]) == [(1, *expected)]


def test_duplicate_ids_are_refused_on_the_later_motion(tmp_path: Path) -> None:
    assert _problems(tmp_path, [YES_NO, {**CHOOSE, "id": "M1"}]) == [(2, "id", "duplicate-id")]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = [{**YES_NO, "item": 11}, ELECTION, {**CHOOSE, "options": ["x"], "title": ""}]
    assert _problems(tmp_path, data) == [
        (1, "item", "bad-item"),
        (3, "title", "bad-title"),
        (3, "options", "bad-options"),
    ]


@pytest.mark.parametrize(
    ("data", "code"), [({"motions": []}, "not-a-list"), ([], "no-motions"), ([3], "not-an-object")]
)
def test_wrong_shape_is_refused(tmp_path: Path, data: Any, code: str) -> None:
    assert [c for _, _, c in _problems(tmp_path, data)] == [code]


def test_invalid_json_is_unreadable_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "motions.json"
    path.write_text('[{"id": "M1",\n  "title": }]', encoding="utf-8")
    with pytest.raises(UnreadableFileError) as info:
        read_motions(path)
    (problem,) = info.value.problems
    assert problem.code == "bad-json"
    assert "line 2" in problem.message


def test_names_are_normalised_so_full_width_and_spaces_do_not_matter(tmp_path: Path) -> None:
    (motion,) = read_motions(
        _file(tmp_path, [{**CHOOSE, "id": " M２ ", "options": [" 安居物业", "Ａ物业 "]}])
    )
    assert (motion.id, motion.candidates) == ("M2", ("安居物业", "A物业"))


def test_scope_must_name_buildings_of_the_roster_when_given_one(tmp_path: Path) -> None:
    roster: Roster = group_members([Unit("1-101", "1", 100, frozenset({"A"}))])
    path = _file(
        tmp_path, [{**YES_NO, "scope": ["1"]}, {**YES_NO, "id": "M9", "scope": ["1", "9"]}]
    )
    with pytest.raises(InputError) as info:
        read_motions(path, roster=roster)
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (2, "scope", "unknown-building")
    ]
    assert len(read_motions(path)) == 2  # without a roster, scopes are not checked
