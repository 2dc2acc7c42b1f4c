"""The region tree, estates, and roster import (all-or-nothing)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy import delete, insert, select

from votes.enums import RegionLevel, StaffRole
from votes.inputs.problems import InputError
from votes.inputs.roster import RosterImport, import_roster_table
from votes.inputs.tabular import read_table
from votes.rules import format_area
from votes.service._common import audit
from votes.service.actors import (
    Actor,
    estate_not_found,
    require_estate,
    require_role,
    subdistrict_not_found,
)
from votes.service.context import ServiceContext
from votes.service.errors import Conflict, Invalid, PayloadTooLarge, from_input_error
from votes.service.schemas import (
    CreateEstateRequest,
    CreateRegionRequest,
    EstateOut,
    ProblemOut,
    RegionOut,
    RosterImportOut,
)
from votes.storage.models import (
    Building,
    Estate,
    Region,
    Unit,
    UnitOwner,
    VotingMember,
)

__all__ = [
    "MAX_ROSTER_BYTES",
    "create_estate",
    "create_region",
    "get_estate",
    "import_roster",
    "list_estates",
    "list_regions",
]

#: Largest roster upload accepted (a 20,000-unit XLSX is about 1 MB).
MAX_ROSTER_BYTES = 20 * 1024 * 1024

_PARENT_LEVEL = {
    RegionLevel.CITY: None,
    RegionLevel.DISTRICT: RegionLevel.CITY,
    RegionLevel.SUBDISTRICT: RegionLevel.DISTRICT,
}


def _region_out(region: Region) -> RegionOut:
    return RegionOut(
        id=region.id,
        level=region.level,
        name=region.name,
        parent_id=region.parent_id,
        code=region.code,
    )


def _estate_out(estate: Estate) -> EstateOut:
    return EstateOut(
        id=estate.id,
        subdistrict_id=estate.subdistrict_id,
        name=estate.name,
        address=estate.address,
    )


async def create_region(
    ctx: ServiceContext, request: CreateRegionRequest, *, actor: Actor, ip: str | None = None
) -> RegionOut:
    """A city (no parent), district (parent: a city) or subdistrict (parent: a district)."""
    require_role(actor, StaffRole.OPERATOR)
    async with ctx.sessions.begin() as session:
        wanted = _PARENT_LEVEL[request.level]
        if wanted is None:
            if request.parent_id is not None:
                raise Invalid("bad_parent", "城市不能有上级", "a city has no parent region")
        else:
            parent = (
                None if request.parent_id is None else await session.get(Region, request.parent_id)
            )
            if parent is None or parent.level != wanted:
                raise Invalid(
                    "bad_parent",
                    f"上级区域必须是{wanted.value}（给出的是 {request.parent_id}）",
                    f"the parent of a {request.level.value} must be a {wanted.value} "
                    f"(got {request.parent_id})",
                    details={"parent_id": request.parent_id},
                )
        clash = await session.scalar(
            select(Region.id).where(
                Region.parent_id.is_(None)
                if request.parent_id is None
                else Region.parent_id == request.parent_id,
                Region.name == request.name,
            )
        )
        if clash is not None:
            raise Conflict(
                "region_exists", f"区域 {request.name!r} 已存在", f"region {request.name!r} exists"
            )
        region = Region(
            level=request.level,
            name=request.name,
            parent_id=request.parent_id,
            code=request.code,
            created_at=ctx.now(),
        )
        session.add(region)
        await session.flush()
        await audit(
            session,
            ctx,
            actor,
            "region.create",
            estate_id=None,
            target=f"region:{region.id}",
            details={"level": request.level.value, "name": request.name},
            ip=ip,
        )
        return _region_out(region)


async def list_regions(ctx: ServiceContext) -> list[RegionOut]:
    async with ctx.readers() as session:
        rows = await session.execute(select(Region).order_by(Region.id))
        return [_region_out(r) for r in rows.scalars()]


async def create_estate(
    ctx: ServiceContext, request: CreateEstateRequest, *, actor: Actor, ip: str | None = None
) -> EstateOut:
    require_role(actor, StaffRole.OPERATOR)
    async with ctx.sessions.begin() as session:
        region = await session.get(Region, request.subdistrict_id)
        if region is None or region.level != RegionLevel.SUBDISTRICT:
            raise subdistrict_not_found(request.subdistrict_id)
        estate = Estate(
            subdistrict_id=request.subdistrict_id,
            name=request.name,
            address=request.address,
            created_at=ctx.now(),
        )
        session.add(estate)
        await session.flush()
        await audit(
            session,
            ctx,
            actor,
            "estate.create",
            estate_id=estate.id,
            target=f"estate:{estate.id}",
            details={"name": request.name},
            ip=ip,
        )
        return _estate_out(estate)


async def list_estates(ctx: ServiceContext, *, actor: Actor) -> list[EstateOut]:
    """The estates within the actor's scope."""
    async with ctx.readers() as session:
        statement = select(Estate).order_by(Estate.id)
        if actor.role == StaffRole.CONVENER:
            statement = statement.where(Estate.id.in_(sorted(actor.estate_ids)))
        elif actor.role == StaffRole.OFFICER:
            statement = statement.where(Estate.subdistrict_id.in_(sorted(actor.subdistrict_ids)))
        return [_estate_out(e) for e in (await session.execute(statement)).scalars()]


async def get_estate(ctx: ServiceContext, estate_id: int, *, actor: Actor) -> EstateOut:
    async with ctx.readers() as session:
        estate = await session.get(Estate, estate_id)
        if estate is None:
            raise estate_not_found(estate_id)
        require_estate(actor, estate.id, estate.subdistrict_id)
        return _estate_out(estate)


def _parse_upload(filename: str, content: bytes) -> RosterImport:
    # read_table detects CSV/XLSX from the content; it reads from a path.
    suffix = Path(filename).suffix if Path(filename).suffix.lower() in {".csv", ".xlsx"} else ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"roster{suffix}"
        path.write_bytes(content)
        table = read_table(path)
    return import_roster_table(table)


async def import_roster(
    ctx: ServiceContext,
    estate_id: int,
    filename: str,
    content: bytes,
    *,
    actor: Actor,
    ip: str | None = None,
) -> RosterImportOut:
    """Replace the estate's roster with the uploaded CSV/XLSX; any problem imports nothing.

    Meetings already submitted keep their frozen snapshot; drafts take a new
    snapshot with ``update_draft(refresh_roster=True)``.
    """
    require_role(actor, StaffRole.CONVENER, StaffRole.OPERATOR)
    if len(content) > MAX_ROSTER_BYTES:
        raise PayloadTooLarge(
            "roster_too_large",
            f"名册文件过大（{len(content)} 字节，上限 {MAX_ROSTER_BYTES}）",
            f"the roster file is {len(content)} bytes; the limit is {MAX_ROSTER_BYTES}",
        )
    async with ctx.readers() as session:
        estate = await session.get(Estate, estate_id)
        if estate is None:
            raise estate_not_found(estate_id)
        require_estate(actor, estate.id, estate.subdistrict_id)
    try:
        imported = await asyncio.to_thread(_parse_upload, filename or "roster", content)
    except InputError as exc:
        raise from_input_error(exc) from None
    async with ctx.sessions.begin() as session:
        await session.execute(delete(Unit).where(Unit.estate_id == estate_id))
        await session.execute(delete(VotingMember).where(VotingMember.estate_id == estate_id))
        await session.execute(delete(Building).where(Building.estate_id == estate_id))
        buildings: dict[str, Building] = {}
        for unit in imported.units:
            if unit.building not in buildings:
                buildings[unit.building] = Building(estate_id=estate_id, name=unit.building)
        session.add_all(buildings.values())
        await session.flush()
        now = ctx.now()
        await session.execute(
            insert(VotingMember),
            [
                {
                    "estate_id": estate_id,
                    "id": m.id,
                    "is_developer": m.is_developer,
                    "created_at": now,
                }
                for m in imported.roster.members
            ],
        )
        member_of = imported.roster.member_of_unit()
        unit_rows = []
        owner_rows: list[dict[str, object]] = []
        for unit in imported.units:
            row = Unit(
                estate_id=estate_id,
                number=unit.number,
                building_id=buildings[unit.building].id,
                kind=unit.kind,
                status=unit.status,
                area=unit.area,
                area_source=unit.area_source,
                delivered=unit.status != "undelivered",
                member_id=member_of[unit.number],
                source_row=unit.row,
            )
            unit_rows.append(row)
        session.add_all(unit_rows)
        await session.flush()
        for unit, row in zip(imported.units, unit_rows, strict=True):
            owner_rows.extend(
                {"estate_id": estate_id, "unit_id": row.id, "owner_key": owner}
                for owner in sorted(unit.owners)
            )
        if owner_rows:
            await session.execute(insert(UnitOwner), owner_rows)
        total = sum(u.area for u in imported.units)
        await audit(
            session,
            ctx,
            actor,
            "roster.import",
            estate_id=estate_id,
            target=f"estate:{estate_id}",
            details={
                "filename": filename,
                "units": len(imported.units),
                "members": len(imported.roster.members),
                "total_area": format_area(total),
            },
            ip=ip,
        )
    return RosterImportOut(
        estate_id=estate_id,
        units=len(imported.units),
        members=len(imported.roster.members),
        total_area=format_area(total),
        warnings=[
            ProblemOut(row=p.row, column=p.column, code=p.code, message=p.message)
            for p in imported.warnings
        ],
    )
