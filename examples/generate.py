"""Generate the sample estate 华府小区 (examples/huafu/) deterministically.

    python examples/generate.py [--out examples/huafu]

Writes roster.csv (UTF-8, English headers), roster-gb18030.csv (GB18030,
Chinese headers and words, CRLF — what Excel in China saves), roster.xlsx
(via make_xlsx.py), motions.json and ballots.csv (UTF-8 with BOM, Chinese
headers). Everything is fictional: owner keys are O0001..., the developer is
D0001. Standard library only (plus openpyxl for the XLSX) and independent of
the importer, so the files are a fair test of it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from make_xlsx import write_roster_xlsx

SEED = 20240601
P_SMALL_AGREE_M1 = 0.55  # tuned: M1 passes on area (76%) but fails on heads (71%)
DEVELOPER = "D0001"

HEADERS = ["unit", "building", "area", "owner", "co_owners", "kind", "status", "area_source"]
CHINESE_HEADERS = ["房号", "楼栋", "面积", "业主", "共有人", "类型", "状态", "面积来源"]
CHINESE_WORDS = {
    "residential": "住宅",
    "commercial": "商业",
    "parking": "车位",
    "storage": "储藏室",
    "sold": "已售",
    "unsold": "未售",
    "undelivered": "已售未交付",
    "registry": "不动产登记",
    "survey": "实测",
    "contract": "合同",
}

# Floor plan per building: unit position -> base area in 0.01 m².
PLAN = {1: 8952, 2: 7618, 3: 7618, 4: 11836}


@dataclass
class Unit:
    number: str
    building: str
    area: int  # 0.01 m²
    owner: str = ""
    co_owners: list[str] = field(default_factory=list)
    kind: str = "residential"
    status: str = "sold"
    area_source: str = "registry"


def _area_text(centiares: int) -> str:
    return f"{centiares // 100}.{centiares % 100:02d}"


def build_units(rng: random.Random) -> list[Unit]:
    units: list[Unit] = []
    for building, floors in (("1", 6), ("2", 8), ("3", 6)):
        for floor in range(1, floors + 1):
            for pos, base in PLAN.items():
                units.append(
                    Unit(f"{building}-{floor}{pos:02d}", building, base + rng.randint(-40, 40))
                )
    units.append(Unit("3-S01", "3", 14520, kind="commercial"))
    units.append(Unit("3-S02", "3", 21075, kind="commercial"))
    units.append(Unit("1-C01", "1", 840, kind="storage"))
    units.append(Unit("1-C02", "1", 915, kind="storage"))
    for i in range(1, 17):
        units.append(Unit(f"P-{i:03d}", "车库", 1250 + rng.randint(0, 130), kind="parking"))

    by_number = {u.number: u for u in units}
    keys = iter(f"O{i:04d}" for i in range(1, 1000))
    for unit in units:
        if unit.kind in ("residential", "commercial"):
            unit.owner = next(keys)

    # The developer: unsold and sold-but-undelivered units, one voting member.
    for number in ("3-S02", "2-803", "P-014", "P-015", "P-016"):
        by_number[number].owner, by_number[number].status = DEVELOPER, "unsold"
    for number in ("2-704", "2-804"):
        by_number[number].owner, by_number[number].status = DEVELOPER, "undelivered"
    for number in ("2-704", "2-804", "2-803"):
        by_number[number].area_source = "contract"
    for number in ("2-701", "2-702", "2-703", "2-801", "2-802", "P-011", "P-012"):
        by_number[number].area_source = "survey"

    # Spouses and other co-owners of one unit.
    for number in (
        "1-101",
        "1-302",
        "1-504",
        "2-102",
        "2-301",
        "2-404",
        "2-603",
        "3-201",
        "3-403",
        "3-602",
    ):
        by_number[number].co_owners = [next(keys)]
    by_number["2-503"].co_owners = [next(keys), next(keys)]  # three siblings

    # One buyer, several units: the same owner set on each.
    by_number["2-802"].owner = by_number["2-801"].owner  # two flats on one floor
    by_number["1-C01"].owner = by_number["1-601"].owner  # flat + storage room
    by_number["1-C02"].owner = by_number["3-601"].owner
    for number, flat in (
        ("P-001", "1-104"),
        ("P-002", "1-204"),
        ("P-003", "2-104"),
        ("P-004", "2-204"),
        ("P-005", "2-304"),
        ("P-006", "3-104"),
        ("P-007", "3-204"),
        ("P-008", "1-101"),
        ("P-009", "2-404"),
    ):
        by_number[number].owner = by_number[flat].owner
        by_number[number].co_owners = list(by_number[flat].co_owners)
    # Parking-only owners (no flat here).
    for number in ("P-010", "P-011", "P-012", "P-013"):
        by_number[number].owner = next(keys)

    # One person who owns a flat alone and co-owns another: two members.
    by_number["3-403"].co_owners = [by_number["1-201"].owner]
    return units


MOTIONS = [
    {
        "id": "M1",
        "title": "在小区内部道路划定地面停车位并收取停车费",
        "item": 8,
        "type": "yes-no",
    },
    {
        "id": "M2",
        "title": "选聘物业服务企业",
        "item": 4,
        "type": "choose-one",
        "options": ["安居物业", "恒信物业", "美家物业"],
    },
    {
        "id": "M3",
        "title": "选举第二届业主委员会委员（5名）",
        "item": 3,
        "type": "election",
        "seats": 5,
        "candidates": ["张*明", "李*华", "王*芳", "刘*强", "陈*静", "杨*军", "赵*丽"],
    },
    {
        "id": "M4",
        "title": "2号楼电梯大修使用专项维修资金",
        "item": 5,
        "type": "yes-no",
        "scope": ["2"],
    },
    {
        "id": "M5",
        "title": "物业服务费由每月每平方米1.80元调整为2.20元",
        "item": 9,
        "type": "yes-no",
    },
]


def _groups(units: list[Unit]) -> list[list[Unit]]:
    """Units grouped the way the law groups voters (to decide who votes); file order."""
    groups: dict[object, list[Unit]] = {}
    for unit in units:
        key: object = (
            "developer" if unit.status != "sold" else frozenset([unit.owner, *unit.co_owners])
        )
        groups.setdefault(key, []).append(unit)
    return list(groups.values())


# Owners whose duplicate or spoilt ballots are added by hand below: they also vote normally.
ALWAYS_VOTE = {"2-301", "2-801", "1-302", "3-502"}


def build_ballots(units: list[Unit], rng: random.Random) -> list[list[str]]:
    rows: list[tuple[int, list[str]]] = []  # (minute of the voting period, row)
    voters = _groups(units)

    def when(channel: str, minute: int) -> str:
        day, rest = divmod(minute, 24 * 60)
        hour, mins = divmod(rest, 60)
        stamp = f"2024-06-{day + 3:02d}T{hour:02d}:{mins:02d}:00"
        # Online ballots carry the server's offset; paper rows are typed in local time.
        return stamp + "+08:00" if channel == "网络" else stamp.replace("T", " ")

    def add(unit: str, motion: str, choice: str, channel: str, minute: int) -> None:
        rows.append((minute, [unit, motion, choice, channel, when(channel, minute)]))

    candidates = MOTIONS[2]["candidates"]
    assert isinstance(candidates, list)
    for group in voters:
        flat = next((u for u in group if u.kind != "parking"), group[0])
        big = sum(u.area for u in group if u.kind != "parking") >= 11000
        developer = flat.status != "sold"
        numbers = {u.number for u in group}
        if not developer and not numbers & ALWAYS_VOTE and rng.random() < 0.16:
            continue  # did not vote at all
        channel = "网络" if developer else rng.choices(["网络", "纸质", "委托"], [60, 34, 6])[0]
        if "2-301" in numbers:
            channel = "网络"  # one spouse votes online; the other hands in paper (below)
        minute = rng.randint(0, 14 * 24 * 60)
        # M1: large owners want paid parking, most small owners are split.
        m1 = (
            "同意"
            if developer or big or rng.random() < P_SMALL_AGREE_M1
            else rng.choice(["反对", "反对", "弃权"])
        )
        add(flat.number, "M1", m1, channel, minute)
        m2 = rng.choices(["安居物业", "恒信物业", "美家物业", "弃权"], [66, 18, 12, 4])[0]
        add(flat.number, "M2", m2, channel, minute + 1)
        # Five well-known candidates and two outsiders; at most five names per ballot.
        likes = [0.85, 0.8, 0.8, 0.75, 0.75, 0.25, 0.2]
        picked = [c for c, p in zip(candidates, likes, strict=True) if rng.random() < p][:5]
        m3 = ";".join(picked) if rng.random() > 0.03 and picked else "弃权"
        if flat.number != "3-502":  # their (spoilt) M3 ballot is added below
            add(flat.number, "M3", m3, channel, minute + 2)
        in_building_2 = [u for u in group if u.building == "2"]
        if in_building_2:
            m4 = "同意" if rng.random() < 0.8 else rng.choice(["反对", "弃权"])
            add(in_building_2[0].number, "M4", m4, channel, minute + 3)
        m5 = "反对" if developer or rng.random() < 0.52 else rng.choice(["同意", "同意", "弃权"])
        add(flat.number, "M5", m5, channel, minute + 4)

    # Duplicates the tally must resolve (DuplicatePolicy), all kept in the file:
    # a co-owner also hands in paper after the spouse voted online ...
    add("2-301", "M2", "恒信物业", "纸质", 13 * 24 * 60)
    add("2-301", "M4", "同意", "纸质", 13 * 24 * 60 + 1)
    # ... the owner of two flats votes on each of them ...
    add("2-802", "M1", "同意", "纸质", 12 * 24 * 60)
    # ... and one owner changes their mind (online) before the close.
    first = next(r[1][2] for r in rows if r[1][:2] == ["1-302", "M5"])
    add("1-302", "M5", "反对" if first == "同意" else "同意", "网络", 13 * 24 * 60 + 600)
    # A spoilt election ballot: six names for five seats (counted invalid).
    add("3-502", "M3", ";".join(candidates[:6]), "纸质", 11 * 24 * 60)

    rows.sort(key=lambda r: (r[0], r[1]))
    return [row for _, row in rows]


def _write_csv(
    path: Path, header: list[str], rows: list[list[str]], *, encoding: str, newline: str = "\n"
) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "huafu")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    rng = random.Random(SEED)
    units = build_units(rng)
    english = [
        [
            u.number,
            u.building,
            _area_text(u.area),
            u.owner,
            ";".join(u.co_owners),
            u.kind,
            u.status,
            u.area_source,
        ]
        for u in units
    ]
    _write_csv(out / "roster.csv", HEADERS, english, encoding="utf-8")
    chinese = [
        [
            *row[:4],
            "；".join(row[4].split(";")) if row[4] else "",
            *(CHINESE_WORDS[w] for w in row[5:]),
        ]
        for row in english
    ]
    _write_csv(
        out / "roster-gb18030.csv", CHINESE_HEADERS, chinese, encoding="gb18030", newline="\r\n"
    )
    write_roster_xlsx(CHINESE_HEADERS, chinese, out / "roster.xlsx")

    (out / "motions.json").write_text(
        json.dumps(MOTIONS, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    ballots = build_ballots(units, rng)
    _write_csv(
        out / "ballots.csv",
        ["房号", "议题", "表决意见", "渠道", "时间"],
        ballots,
        encoding="utf-8-sig",
    )


if __name__ == "__main__":
    main()
