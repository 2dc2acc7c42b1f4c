"""The verifiable meeting record: log entries, ballots, receipts, bundles and the verifier.

See docs/verification.md for the formats and the numbered checks.
"""

from votes.record.ballot import (
    AcceptedBallot,
    Ballot,
    BallotContext,
    BallotError,
    BallotErrorCode,
    build_ballot,
    sign_ballot,
    validate_ballot,
)
from votes.record.bundle import Bundle, BundleError, read_bundle, write_bundle
from votes.record.entries import Entry, EntryError, KeyBook, MeetingSettings, entry_bytes
from votes.record.receipt import Receipt, ReceiptError, build_receipt, verify_receipt
from votes.record.verify import CHECKS, Report, verify_bundle

__all__ = [
    "CHECKS",
    "AcceptedBallot",
    "Ballot",
    "BallotContext",
    "BallotError",
    "BallotErrorCode",
    "Bundle",
    "BundleError",
    "Entry",
    "EntryError",
    "KeyBook",
    "MeetingSettings",
    "Receipt",
    "ReceiptError",
    "Report",
    "build_ballot",
    "build_receipt",
    "entry_bytes",
    "read_bundle",
    "sign_ballot",
    "validate_ballot",
    "verify_bundle",
    "verify_receipt",
    "write_bundle",
]
