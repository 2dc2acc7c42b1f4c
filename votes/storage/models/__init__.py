"""SQLAlchemy models of the vote service, one module per area (docs/storage.md)."""

from __future__ import annotations

from votes.storage.models.accounts import (
    AuditEvent,
    OfficerKey,
    StaffAccount,
    StaffEstateScope,
    StaffSubdistrictScope,
)
from votes.storage.models.ballots import Ballot
from votes.storage.models.base import Base, UTCDateTime, utcnow
from votes.storage.models.credential_requests import (
    CredentialChangeKind,
    CredentialRequest,
    CredentialRequestState,
)
from votes.storage.models.enums import (
    CertificationDecision,
    CosignatureKind,
    CredentialStatus,
    MeetingState,
    ObjectionState,
    RegionLevel,
    StaffRole,
)
from votes.storage.models.estate import Building, Unit, UnitOwner, VotingMember
from votes.storage.models.log import Checkpoint, Cosignature, LogEntry, LogHead, LogNode
from votes.storage.models.meetings import (
    Certification,
    Credential,
    Meeting,
    MeetingCode,
    Motion,
    Objection,
    RosterMember,
    TallyRecord,
)
from votes.storage.models.regions import Estate, Region

__all__ = [
    "AuditEvent",
    "Ballot",
    "Base",
    "Building",
    "Certification",
    "CertificationDecision",
    "Checkpoint",
    "Cosignature",
    "CosignatureKind",
    "Credential",
    "CredentialChangeKind",
    "CredentialRequest",
    "CredentialRequestState",
    "CredentialStatus",
    "Estate",
    "LogEntry",
    "LogHead",
    "LogNode",
    "Meeting",
    "MeetingCode",
    "MeetingState",
    "Motion",
    "Objection",
    "ObjectionState",
    "OfficerKey",
    "Region",
    "RegionLevel",
    "RosterMember",
    "StaffAccount",
    "StaffEstateScope",
    "StaffRole",
    "StaffSubdistrictScope",
    "TallyRecord",
    "UTCDateTime",
    "Unit",
    "UnitOwner",
    "VotingMember",
    "utcnow",
]
