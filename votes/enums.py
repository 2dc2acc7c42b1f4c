"""The states, roles and kinds the whole system speaks.

Pages, schemas, the service and the ORM models name a meeting state or a staff
role from here, so none of them has to import the storage package to do so. The
database stores each as its string value (``votes.storage.models.enums.enum_type``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CertificationDecision",
    "CosignatureKind",
    "CredentialChangeKind",
    "CredentialRequestState",
    "CredentialStatus",
    "MeetingState",
    "ObjectionState",
    "RegionLevel",
    "StaffRole",
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


class CredentialChangeKind(StrEnum):
    REVOKE = "revoke"  # revoked without a replacement: credential-revoked
    REPLACE = "replace"  # revoked and replaced by a new letter: credential-replaced


class CredentialRequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # signed by the officer and logged
    REFUSED = "refused"
