"""The fifteen checks of docs/verification.md §Checks, one method each.

One object runs them all (:class:`Checks`): a check reads what earlier ones
left in its :class:`~votes.record.verify.checks.base.VerifyState`. The
methods are grouped by the part of the record they check, one module per
group, and joined here.
"""

from __future__ import annotations

from votes.record.verify.checks.ballots import BallotChecks
from votes.record.verify.checks.log import LogChecks
from votes.record.verify.checks.meeting import MeetingChecks
from votes.record.verify.checks.result import ResultChecks

__all__ = ["Checks"]


class Checks(LogChecks, MeetingChecks, BallotChecks, ResultChecks):
    """Every check, as a method taking the list its findings go to and returning a summary."""
