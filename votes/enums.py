"""The states, roles and kinds the whole system speaks.

Pages, schemas, the service and the ORM models name a meeting state or a staff
role from here, so none of them has to import the storage package to do so. The
database stores each as its string value (``votes.storage.models.base.enum_type``).
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
    """A level of the region tree: city → district → subdistrict (docs/design.md §3)."""

    CITY = "city"
    DISTRICT = "district"
    SUBDISTRICT = "subdistrict"


class StaffRole(StrEnum):
    """A staff account's role (docs/design.md §2); what each may do is votes/service/actors.py."""

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
    """A member's per-meeting credential (the letter): issued, then perhaps revoked or replaced."""

    ISSUED = "issued"
    REVOKED = "revoked"
    REPLACED = "replaced"


class CosignatureKind(StrEnum):
    """What an officer's cosignature of a checkpoint goes with: an approval or a certification."""

    APPROVAL = "approval"
    CERTIFICATION = "certification"


class ObjectionState(StrEnum):
    """An objection by a member or staff: open until the officer answers it (docs/lifecycle.md)."""

    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class CertificationDecision(StrEnum):
    """The officer's decision on a tallied result: certify it, or return it (docs/design.md §3)."""

    CERTIFIED = "certified"
    RETURNED = "returned"


class CredentialChangeKind(StrEnum):
    """What a convener asks for a member's credential; logged only once the officer signs it."""

    REVOKE = "revoke"  # revoked without a replacement: credential-revoked
    REPLACE = "replace"  # revoked and replaced by a new letter: credential-replaced


class CredentialRequestState(StrEnum):
    """A credential change request: pending until the officer signs (approves) or refuses it."""

    PENDING = "pending"
    APPROVED = "approved"  # signed by the officer and logged
    REFUSED = "refused"
