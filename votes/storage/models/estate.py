"""An estate's buildings, units, their owners as imported, and voting members.

Every table here is distributed by ``estate_id``: it leads every primary key,
and foreign keys between these tables include it (docs/design.md §7, docs/storage.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from votes.model import AreaSource, UnitKind, UnitStatus
from votes.storage.models.base import Base, enum_type, utcnow

__all__ = ["Building", "Unit", "UnitOwner", "VotingMember"]


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))


class VotingMember(Base):
    """A voting member (one head, docs/legal.md §2) of the estate's current roster.

    ``id`` is the roster grouping's member id: ``developer`` or
    ``member:<smallest unit number>``.
    """

    __tablename__ = "voting_members"

    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    is_developer: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Unit(Base):
    """One exclusive part (专有部分). ``area`` in 0.01 m² (an exact integer)."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        ForeignKeyConstraint(
            ["estate_id", "building_id"],
            ["buildings.estate_id", "buildings.id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["estate_id", "member_id"],
            ["voting_members.estate_id", "voting_members.id"],
        ),
        Index(None, "estate_id", "building_id"),
        Index(None, "estate_id", "member_id"),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(100))
    building_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[UnitKind] = mapped_column(enum_type(UnitKind), default=UnitKind.RESIDENTIAL)
    status: Mapped[UnitStatus] = mapped_column(enum_type(UnitStatus), default=UnitStatus.SOLD)
    area: Mapped[int] = mapped_column()  # 0.01 m²
    area_source: Mapped[AreaSource] = mapped_column(
        enum_type(AreaSource), default=AreaSource.REGISTRY
    )
    delivered: Mapped[bool] = mapped_column(default=True)
    member_id: Mapped[str | None] = mapped_column(String(100))
    # 1-based data row of the roster import this unit came from (0: entered by hand).
    source_row: Mapped[int] = mapped_column(default=0)


class UnitOwner(Base):
    """An owner key of a unit exactly as imported (owner plus any co-owners)."""

    __tablename__ = "unit_owners"
    __table_args__ = (
        ForeignKeyConstraint(
            ["estate_id", "unit_id"], ["units.estate_id", "units.id"], ondelete="CASCADE"
        ),
    )

    estate_id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_key: Mapped[str] = mapped_column(String(200), primary_key=True)
