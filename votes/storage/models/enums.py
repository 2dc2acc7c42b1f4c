"""Enumerations stored in the database (as their string values)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum

__all__ = [
    "CertificationDecision",
    "CosignatureKind",
    "CredentialStatus",
    "MeetingState",
    "ObjectionState",
    "RegionLevel",
    "StaffRole",
    "enum_type",
]


class RegionLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    SUBDISTRICT = "subdistrict"


class StaffRole(StrEnum):
    OPERATOR = "operator"  # 区/市 住建: regions, estates, accounts
    CONVENER = "convener"  # 召集人: scoped to estates
    OFFICER = "officer"  # 街道办: scoped to subdistricts


class MeetingState(StrEnum):
    """docs/design.md §3 lifecycle; the transitions themselves belong to the service layer."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    NOTICE = "notice"
    OPEN = "open"
    CLOSED = "closed"
    TALLIED = "tallied"
    CERTIFIED = "certified"
    RETURNED = "returned"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class CredentialStatus(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"
    REPLACED = "replaced"


class CosignatureKind(StrEnum):
    APPROVAL = "approval"
    CERTIFICATION = "certification"


class ObjectionState(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class CertificationDecision(StrEnum):
    CERTIFIED = "certified"
    RETURNED = "returned"


def enum_type(enum: type[StrEnum]) -> Enum:
    """A VARCHAR column holding the enum's *values* (not names), portable across backends."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
