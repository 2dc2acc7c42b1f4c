"""Regions, estates and roster import (multipart)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.web.conftest import StaffFactory, login
from tests.web.scenario import ROSTER, Scenario
from votes.enums import StaffRole


async def test_operator_builds_the_region_tree_and_an_estate(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("estate")
    regions = await s.call("GET", "/regions")
    assert [r["level"] for r in regions] == ["city", "district", "subdistrict", "subdistrict"]
    estates = await s.call("GET", "/estates")
    assert [e["name"] for e in estates] == ["华府小区"]
    assert (await s.call("GET", f"/estates/{s.estate_id}"))["id"] == s.estate_id


async def test_subdistrict_under_a_city_is_refused(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    city = (await client.post("/api/v1/regions", json={"level": "city", "name": "市"})).json()
    response = await client.post(
        "/api/v1/regions", json={"level": "subdistrict", "name": "街道", "parent_id": city["id"]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_parent"


async def test_unknown_region_level_is_400(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("op", StaffRole.OPERATOR)
    await login(client, "op")
    response = await client.post("/api/v1/regions", json={"level": "planet", "name": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_convener_sees_only_their_estates(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("estate")
    await s.as_user("conv")
    assert [e["id"] for e in await s.call("GET", "/estates")] == [s.estate_id]
    response = await client.get(f"/api/v1/estates/{s.estate_id + 1000}")
    assert response.status_code == 404


async def test_roster_import_counts_units(client: AsyncTestClient[Litestar], s: Scenario) -> None:
    await s.until("estate")
    await s.as_user("conv")
    result = await s.call(
        "POST",
        f"/estates/{s.estate_id}/roster",
        files={"file": ("roster.csv", ROSTER.read_bytes(), "text/csv")},
        expect=201,
    )
    rows = ROSTER.read_text(encoding="utf-8").strip().splitlines()
    assert result["units"] == len(rows) - 1  # header


async def test_bad_roster_is_refused_with_every_problem(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("estate")
    await s.as_user("conv")
    bad = (
        b"unit,building,area,owner,co_owners,kind,status,area_source\n"
        b"1-101,1,-5,O1,,residential,sold,registry\n"
        b"1-101,1,80.00,O2,,residential,sold,registry\n"
    )
    response = await client.post(
        f"/api/v1/estates/{s.estate_id}/roster", files={"file": ("roster.csv", bad, "text/csv")}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "input_invalid"
    rows = {problem["row"] for problem in body["details"]["problems"]}
    assert len(rows) >= 2


async def test_roster_upload_without_a_file_field_is_422(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("estate")
    await s.as_user("conv")
    response = await client.post(
        f"/api/v1/estates/{s.estate_id}/roster",
        files={"other": ("roster.csv", b"x", "text/csv")},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "file_missing"


async def test_roster_import_by_an_officer_is_403(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("estate")
    await s.as_user("stranger")
    response = await client.post(
        f"/api/v1/estates/{s.estate_id}/roster",
        files={"file": ("roster.csv", ROSTER.read_bytes(), "text/csv")},
    )
    assert response.status_code == 403


async def test_staff_account_creation_needs_an_operator(
    client: AsyncTestClient[Litestar], make_staff: StaffFactory
) -> None:
    await make_staff("conv", StaffRole.CONVENER)
    await login(client, "conv")
    response = await client.post(
        "/api/v1/staff",
        json={
            "username": "x",
            "password": "long enough password",
            "role": "operator",
            "display_name": "x",
        },
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_forbidden"
