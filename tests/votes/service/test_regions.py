"""Regions, estates and roster import (all-or-nothing, problems with row and column)."""

from __future__ import annotations

import pytest

from tests.votes.service.conftest import World
from votes.enums import RegionLevel
from votes.inputs.roster import MAX_BUILDING, MAX_UNIT_NUMBER
from votes.service import meetings, regions
from votes.service.errors import ServiceError
from votes.service.schemas import CreateRegionRequest


async def test_roster_import_counts_units_members_and_area(world: World) -> None:
    out = await regions.import_roster(
        world.ctx,
        world.estate_a,
        "r.csv",
        b"unit,building,area,owner\n1-1,1,10.50,A\n1-2,1,20.25,A\n1-3,1,5.00,B\n",
        actor=world.convener_a,
    )
    assert (out.units, out.members, out.total_area) == (3, 2, "35.75")


async def test_bad_roster_imports_nothing_and_lists_every_problem(world: World) -> None:
    good = await regions.import_roster(
        world.ctx,
        world.estate_a,
        "r.csv",
        b"unit,building,area,owner\n1-1,1,10.50,A\n",
        actor=world.convener_a,
    )
    bad = b"unit,building,area,owner\n1-1,1,10.50,A\n1-1,1,-3,B\n1-3,1,abc,C\n"
    with pytest.raises(ServiceError) as caught:
        await regions.import_roster(world.ctx, world.estate_a, "r.csv", bad, actor=world.convener_a)
    assert (caught.value.code, caught.value.status) == ("input_invalid", 422)
    rows = {p["row"] for p in caught.value.details["problems"]}
    assert rows == {3, 4}
    # The earlier roster is intact: a new draft still snapshots it.
    code = await world.draft()

    assert (
        await meetings.get_meeting(world.ctx, code, actor=world.convener_a)
    ).roster_members == good.members


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("1-2,1,99999999999999999999,B", "area", "area-too-large"),
        ("1-2,1,90071992547409.92,B", "area", "area-too-large"),
        ("1-" + "2" * 500 + ",1,10.00,B", "unit", "too-long"),
        ("1-2," + "楼" * 101 + ",10.00,B", "building", "too-long"),
        ("1-2,1,10.00," + "B" * 201, "owner", "too-long"),
        ("1-\x002,1,10.00,B", "unit", "control-character"),
    ],
)
async def test_roster_value_the_database_cannot_store_is_a_problem_row(
    world: World, row: str, column: str, problem: str
) -> None:
    # The same file on SQLite (which ignores VARCHAR sizes) and on PostgreSQL.
    content = f"unit,building,area,owner\n1-1,1,10.50,A\n{row}\n".encode()
    with pytest.raises(ServiceError) as caught:
        await regions.import_roster(
            world.ctx, world.estate_a, "r.csv", content, actor=world.convener_a
        )
    assert (caught.value.status, caught.value.code) == (422, "input_invalid")
    problems = [(p["row"], p["column"], p["code"]) for p in caught.value.details["problems"]]
    assert problems == [(3, column, problem)]


async def test_roster_with_the_longest_storable_unit_number_is_imported(world: World) -> None:
    number = "1" * MAX_UNIT_NUMBER
    content = f"unit,building,area,owner\n{number},{'楼' * MAX_BUILDING},10.50,A\n".encode()
    out = await regions.import_roster(
        world.ctx, world.estate_a, "r.csv", content, actor=world.convener_a
    )
    assert (out.units, out.members) == (1, 1)


async def test_region_needs_the_right_parent(world: World) -> None:
    with pytest.raises(ServiceError) as caught:
        await regions.create_region(
            world.ctx,
            CreateRegionRequest(level=RegionLevel.SUBDISTRICT, name="x", parent_id=None),
            actor=world.operator,
        )
    assert caught.value.code == "bad_parent"
