"""Reading ballots files: mapping to members, choice words, channels, times, scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from votes.inputs.ballots_file import import_ballots, read_ballots
from votes.inputs.motions_file import read_motions
from votes.inputs.problems import InputError
from votes.inputs.roster import read_roster
from votes.model import BallotRow, Channel, Motion, MotionType, Unit, UnitStatus
from votes.roster import group_members

REPO = Path(__file__).resolve().parents[3]
HUAFU = REPO / "examples" / "huafu"

ROSTER = group_members(
    [
        Unit("1-101", "1", 8950, frozenset({"A"})),
        Unit("1-102", "1", 7600, frozenset({"B", "C"})),
        Unit("2-101", "2", 9000, frozenset({"A"})),  # A owns flats in buildings 1 and 2
        Unit("2-102", "2", 9000, frozenset({"D"}), status=UnitStatus.UNSOLD),
    ]
)
MOTIONS = [
    Motion("M1", "yes/no", 8),
    Motion("M2", "firm", 4, MotionType.CHOOSE_ONE, candidates=("安居物业", "Hengxin")),
    Motion(
        "M3", "committee", 3, MotionType.ELECTION, seats=2, candidates=("张*明", "李*华", "王*芳")
    ),
    Motion("M4", "lift", 5, scope=frozenset({"2"})),
]
CST = timezone(timedelta(hours=8))


def _csv(tmp_path: Path, *rows: str, header: str = "unit,motion,choice,channel,time") -> Path:
    path = tmp_path / "ballots.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _read(
    tmp_path: Path, *rows: str, header: str = "unit,motion,choice,channel,time"
) -> list[BallotRow]:
    return read_ballots(_csv(tmp_path, *rows, header=header), roster=ROSTER, motions=MOTIONS)


def _problems(tmp_path: Path, *rows: str) -> list[tuple[int, str | None, str]]:
    with pytest.raises(InputError) as info:
        _read(tmp_path, *rows)
    return [(p.row, p.column, p.code) for p in info.value.problems]


def _choice(tmp_path: Path, motion: str, choice: str) -> str:
    (row,) = _read(tmp_path, f"1-101,{motion},{choice},,")
    return row.choice


def test_rows_map_units_to_members_and_keep_unit_and_row_order(tmp_path: Path) -> None:
    rows = _read(tmp_path, "1-102,M1,agree,online,2024-06-03T10:00:00+08:00", "2-102,M1,oppose,,")
    assert rows == [
        BallotRow(
            "member:1-102",
            "M1",
            "agree",
            Channel.ONLINE,
            datetime(2024, 6, 3, 10, 0, tzinfo=CST),
            seq=2,
            unit="1-102",
        ),
        BallotRow("developer", "M1", "oppose", Channel.PAPER, None, seq=3, unit="2-102"),
    ]


def test_two_units_of_one_buyer_map_to_the_same_member(tmp_path: Path) -> None:
    rows = _read(tmp_path, "1-101,M1,agree,,", "2-101,M1,oppose,,")
    assert [r.member_id for r in rows] == ["member:1-101", "member:1-101"]


@pytest.mark.parametrize(
    ("word", "choice"),
    [
        ("同意", "agree"),
        ("反对", "oppose"),
        ("弃权", "abstain"),
        ("无效", "invalid"),
        ("Agree", "agree"),
        (" OPPOSE ", "oppose"),
    ],
)
def test_yes_no_choice_words_are_normalised(tmp_path: Path, word: str, choice: str) -> None:
    assert _choice(tmp_path, "M1", word) == choice


def test_abstain_and_invalid_are_accepted_on_elections_and_choose_one(tmp_path: Path) -> None:
    assert [_choice(tmp_path, m, w) for m, w in [("M2", "弃权"), ("M3", "无效")]] == [
        "abstain",
        "invalid",
    ]


def test_choose_one_option_matches_case_insensitively_to_its_canonical_name(
    tmp_path: Path,
) -> None:
    assert _choice(tmp_path, "M2", "hengxin") == "Hengxin"


def test_election_names_split_on_either_semicolon_in_the_motions_order(tmp_path: Path) -> None:
    assert _choice(tmp_path, "M3", "王*芳；张*明") == "张*明;王*芳"


def test_election_with_more_names_than_seats_is_an_invalid_ballot_with_a_warning(
    tmp_path: Path,
) -> None:
    path = _csv(tmp_path, "1-101,M3,张*明;李*华;王*芳,,")
    imported = import_ballots(path, roster=ROSTER, motions=MOTIONS)
    assert [r.choice for r in imported.rows] == ["invalid"]
    assert [(w.row, w.code) for w in imported.warnings] == [(2, "over-voted")]


def test_choose_one_with_two_options_is_an_invalid_ballot(tmp_path: Path) -> None:
    assert _choice(tmp_path, "M2", "安居物业;Hengxin") == "invalid"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("9-999,M1,agree,,", (2, "unit", "unknown-unit")),
        (",M1,agree,,", (2, "unit", "empty-unit")),
        ("1-101,M9,agree,,", (2, "motion", "unknown-motion")),
        ("1-101,,agree,,", (2, "motion", "empty-motion")),
        ("1-101,M1,,,", (2, "choice", "empty-choice")),
        ("1-101,M1,yes,,", (2, "choice", "unknown-choice")),
        ("1-101,M1,安居物业,,", (2, "choice", "unknown-choice")),
        ("1-101,M2,同意,,", (2, "choice", "choice-not-for-motion")),
        ("1-101,M3,agree,,", (2, "choice", "choice-not-for-motion")),
        ("1-101,M2,万家物业,,", (2, "choice", "unknown-candidate")),
        ("1-101,M3,张*明;张三,,", (2, "choice", "unknown-candidate")),
        ("1-101,M3,张*明;张*明,,", (2, "choice", "candidate-twice")),
        ("1-101,M3,;,,", (2, "choice", "empty-choice")),
        ("1-101,M1,agree,email,", (2, "channel", "unknown-channel")),
        ("1-101,M1,agree,,yesterday", (2, "time", "bad-time")),
        ("1-101,M1,agree,,2024/06/03 10:00", (2, "time", "bad-time")),
        ("1-101,M1,agree,,2024-06-03", (2, "time", "bad-time")),
        ("1-102,M4,agree,,", (2, "unit", "out-of-scope")),
    ],
)
def test_each_bad_row_is_reported_with_row_and_column(
    tmp_path: Path, row: str, expected: tuple[int, str, str]
) -> None:
    assert _problems(tmp_path, row) == [expected]


def test_a_member_with_a_unit_in_scope_may_vote_through_another_of_its_units(
    tmp_path: Path,
) -> None:
    # A owns 1-101 and 2-101; the building-2 motion is A's to vote on, whichever unit is named.
    (row,) = _read(tmp_path, "1-101,M4,agree,,")
    assert row.member_id == "member:1-101"


@pytest.mark.parametrize(
    ("word", "channel"),
    [
        ("网络", Channel.ONLINE),
        ("纸质", Channel.PAPER),
        ("委托", Channel.PROXY),
        ("Online", Channel.ONLINE),
    ],
)
def test_channel_words_are_normalised(tmp_path: Path, word: str, channel: Channel) -> None:
    (row,) = _read(tmp_path, f"1-101,M1,agree,{word},")
    assert row.channel is channel


def test_channel_defaults_to_paper_when_the_column_is_absent(tmp_path: Path) -> None:
    (row,) = _read(tmp_path, "1-101,M1,agree", header="unit,motion,choice")
    assert (row.channel, row.time) == (Channel.PAPER, None)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-06-03T10:00:00+08:00", datetime(2024, 6, 3, 2, 0, tzinfo=UTC)),
        ("2024-06-03T02:00:00Z", datetime(2024, 6, 3, 2, 0, tzinfo=UTC)),
        ("2024-06-03 10:00", datetime(2024, 6, 3, 2, 0, tzinfo=UTC)),  # China time
        ("2024-06-03T10:00:00", datetime(2024, 6, 3, 2, 0, tzinfo=UTC)),
    ],
)
def test_times_are_instants_and_naive_times_are_china_standard_time(
    tmp_path: Path, text: str, moment: datetime
) -> None:
    (row,) = _read(tmp_path, f"1-101,M1,agree,,{text}")
    assert row.time == moment
    assert row.time is not None
    assert row.time.utcoffset() is not None


def test_chinese_headers_are_accepted(tmp_path: Path) -> None:
    rows = _read(tmp_path, "1-101,M1,同意,网络,", header="房号,议题,表决意见,渠道,时间")
    assert [(r.unit, r.choice, r.channel) for r in rows] == [("1-101", "agree", Channel.ONLINE)]


def test_xlsx_ballots_with_a_datetime_cell_are_read(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["房号", "议题", "表决意见", "时间"])
    workbook.active.append(["1-101", "M1", "同意", datetime(2024, 6, 3, 10, 0)])
    path = tmp_path / "ballots.xlsx"
    workbook.save(path)
    (row,) = read_ballots(path, roster=ROSTER, motions=MOTIONS)
    assert row.time == datetime(2024, 6, 3, 10, 0, tzinfo=CST)


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _read(tmp_path, "1-101,agree", header="unit,choice")
    assert [(p.row, p.column, p.code) for p in info.value.problems] == [
        (1, "motion", "missing-column")
    ]


def test_every_problem_is_reported_and_nothing_is_returned(tmp_path: Path) -> None:
    assert _problems(
        tmp_path,
        "1-101,M1,agree,,",
        "9-999,M1,agree,,",
        "1-101,M1,maybe,fax,",
    ) == [
        (3, "unit", "unknown-unit"),
        (4, "choice", "unknown-choice"),
        (4, "channel", "unknown-channel"),
    ]


def test_the_sample_ballots_are_valid_and_show_duplicates_and_channels() -> None:
    roster = read_roster(HUAFU / "roster.csv")
    motions = read_motions(HUAFU / "motions.json", roster=roster)
    imported = import_ballots(HUAFU / "ballots.csv", roster=roster, motions=motions)
    rows = imported.rows
    pairs = [(r.member_id, r.motion_id) for r in rows]
    assert len(pairs) > len(set(pairs))  # some members voted twice on a motion
    assert {r.channel for r in rows} == set(Channel)
    assert [w.code for w in imported.warnings] == ["over-voted"]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
