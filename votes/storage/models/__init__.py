"""SQLAlchemy models of the vote service, one module per area (docs/storage.md).

The enums the columns hold (meeting state, staff role, ...) are the domain's and
live in votes/enums.py; this package does not re-export them, so code that only
names a state never needs the ORM.
"""

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
from votes.storage.models.credential_requests import CredentialRequest
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
    "Checkpoint",
    "Cosignature",
    "Credential",
    "CredentialRequest",
    "Estate",
    "LogEntry",
    "LogHead",
    "LogNode",
    "Meeting",
    "MeetingCode",
    "Motion",
    "Objection",
    "OfficerKey",
    "Region",
    "RosterMember",
    "StaffAccount",
    "StaffEstateScope",
    "StaffSubdistrictScope",
    "TallyRecord",
    "UTCDateTime",
    "Unit",
    "UnitOwner",
    "VotingMember",
    "utcnow",
]
