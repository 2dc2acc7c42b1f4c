"""Regions, estates and roster import (all-or-nothing, problems with row and column)."""

from __future__ import annotations

import pytest

from tests.votes.service.conftest import World
from votes.service import meetings, regions
from votes.service.errors import ServiceError
from votes.service.schemas import CreateRegionRequest
from votes.storage.models import RegionLevel


async def test_roster_import_counts_units_members_and_area(world: World) -> None:
    out = await regions.import_roster(
        world.ctx,
        world.convener_a,
        world.estate_a,
        "r.csv",
        b"unit,building,area,owner\n1-1,1,10.50,A\n1-2,1,20.25,A\n1-3,1,5.00,B\n",
    )
    assert (out.units, out.members, out.total_area) == (3, 2, "35.75")


async def test_bad_roster_imports_nothing_and_lists_every_problem(world: World) -> None:
    good = await regions.import_roster(
        world.ctx,
        world.convener_a,
        world.estate_a,
        "r.csv",
        b"unit,building,area,owner\n1-1,1,10.50,A\n",
    )
    bad = b"unit,building,area,owner\n1-1,1,10.50,A\n1-1,1,-3,B\n1-3,1,abc,C\n"
    with pytest.raises(ServiceError) as caught:
        await regions.import_roster(world.ctx, world.convener_a, world.estate_a, "r.csv", bad)
    assert (caught.value.code, caught.value.status) == ("input_invalid", 422)
    rows = {p["row"] for p in caught.value.details["problems"]}
    assert rows == {3, 4}
    # The earlier roster is intact: a new draft still snapshots it.
    code = await world.draft()

    assert (
        await meetings.get_meeting(world.ctx, code, world.convener_a)
    ).roster_members == good.members


async def test_region_needs_the_right_parent(world: World) -> None:
    with pytest.raises(ServiceError) as caught:
        await regions.create_region(
            world.ctx,
            world.operator,
            CreateRegionRequest(level=RegionLevel.SUBDISTRICT, name="x", parent_id=None),
        )
    assert caught.value.code == "bad_parent"
