"""The numbered verification checklist for a meeting bundle (docs/verification.md §Checks).

:func:`verify_bundle` runs every check in :data:`CHECKS` order and returns a
:class:`Report`; nothing here trusts the server.  The order is chosen so that
each kind of tampering is reported by the check designed for it, even when a
malicious server re-signs its own checkpoints and tally (it cannot forge
member or officer signatures).

The parts: the report (:mod:`.report`), the runner (:mod:`.runner`), the
checks (:mod:`.checks`, one module per group of checks), what they share
(:mod:`.helpers`) and the per-ballot work in worker processes
(:mod:`.parallel`).
"""

from votes.record.verify.report import CHECKS, CheckResult, CheckSpec, Finding, Report
from votes.record.verify.runner import verify_bundle

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "Finding",
    "Report",
    "verify_bundle",
]
