"""The region tree (city → district → subdistrict) and the estates in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from votes.enums import RegionLevel
from votes.storage.models.base import Base, BigId, enum_type, utcnow

__all__ = ["Estate", "Region"]


class Region(Base):
    """One node of the region tree. A reference table: small, global, read everywhere."""

    __tablename__ = "regions"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("regions.id", ondelete="RESTRICT"), index=True
    )
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel))
    name: Mapped[str] = mapped_column(String(200))
    # Official administrative division code (行政区划代码), when known.
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Estate(Base):
    """An estate (物业管理区域). ``id`` is the distribution key of all estate data."""

    __tablename__ = "estates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subdistrict_id: Mapped[int] = mapped_column(
        ForeignKey("regions.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
