"""The JSON form of a tally result, specified in docs/tally-json.md.

:func:`result_to_dict` turns a :class:`votes.tally.TallyResult` into plain JSON
data (str/int/bool/None/list/dict only; no floats): `votes tally --json` prints
it, the tally-published entry carries it signed as canonical JSON, and the
verifier recomputes it and compares it key by key. Areas and percentages are
decimal strings.
"""

from __future__ import annotations

from typing import Any

from votes.duplicates import Conflict
from votes.model import BallotRow, MotionType
from votes.rules import format_area, percent
from votes.tally import Count, MotionResult, Note, OptionResult, Reason, TallyResult, ThresholdCheck

__all__ = ["RESULT_VERSION", "result_to_dict"]

#: Version of the shape produced by :func:`result_to_dict` (docs/tally-json.md).
RESULT_VERSION = 1


def _count_dict(count: Count) -> dict[str, Any]:
    return {"area": format_area(count.area), "heads": count.heads}


def _check_dict(check: ThresholdCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    t = check.threshold
    return {
        "rule": t.rule,
        "num": t.num,
        "den": t.den,
        "strict": t.strict,
        "of": check.of,
        "base": t.base,
        "area": {
            "part": format_area(check.area.part),
            "whole": format_area(check.area.whole),
            "percent": percent(check.area.part, check.area.whole),
            "met": check.area.met,
        },
        "heads": {
            "part": check.heads.part,
            "whole": check.heads.whole,
            "percent": percent(check.heads.part, check.heads.whole),
            "met": check.heads.met,
        },
        "met": check.met,
    }


def _reason_dict(reason: Reason | None) -> dict[str, Any] | None:
    return None if reason is None else {"code": reason.code, "zh": reason.zh, "en": reason.en}


def _note_dict(note: Note) -> dict[str, Any]:
    return {"code": note.code, "zh": note.zh, "en": note.en, "members": list(note.members)}


def _option_dict(option: OptionResult, won_key: str) -> dict[str, Any]:
    return {
        "name": option.name,
        "agree": _count_dict(option.agree),
        "consent": _check_dict(option.consent),
        "reached": option.reached,
        won_key: option.won,
    }


def _row_dict(row: BallotRow) -> dict[str, Any]:
    return {
        "choice": row.choice,
        "channel": row.channel.value,
        "time": None if row.time is None else row.time.isoformat(),
        "seq": row.seq,
        "unit": row.unit,
    }


def _motion_dict(result: MotionResult) -> dict[str, Any]:
    motion = result.motion
    election = motion.type == MotionType.ELECTION
    choose = motion.type == MotionType.CHOOSE_ONE
    nv = result.non_voters
    return {
        "id": motion.id,
        "title": motion.title,
        "item": motion.item,
        "type": motion.type.value,
        "seats": motion.seats if election else None,
        "scope": None if motion.scope is None else sorted(motion.scope),
        "quorum_met": result.quorum_met,
        "passed": result.passed,
        "reason": _reason_dict(result.reason),
        "totals": _count_dict(result.totals),
        "participating": _count_dict(result.participating),
        "agree": _count_dict(result.agree),
        "oppose": _count_dict(result.oppose),
        "abstain": _count_dict(result.abstain),
        "invalid": _count_dict(result.invalid),
        "thresholds": {
            "quorum": _check_dict(result.quorum),
            "consent": _check_dict(result.consent),
        },
        "candidates": [_option_dict(o, "elected") for o in result.options] if election else [],
        "options": [_option_dict(o, "chosen") for o in result.options] if choose else [],
        "elected": list(result.won),
        "tie": list(result.tie),
        "non_voters": {
            "rule": nv.rule.value,
            "applied": nv.applied,
            "direction": None if nv.direction is None else nv.direction.value,
            "count": _count_dict(nv.count),
            "reason": _reason_dict(nv.reason),
        },
        "notes": [_note_dict(n) for n in result.notes],
    }


def _conflict_dict(conflict: Conflict) -> dict[str, Any]:
    return {
        "member": conflict.member_id,
        "motion": conflict.motion_id,
        "rows": [_row_dict(r) for r in conflict.rows],
        "taken": conflict.taken_index,
        "rule": conflict.rule,
        "zh": conflict.zh,
        "en": conflict.en,
    }


def result_to_dict(result: TallyResult) -> dict[str, Any]:
    """The result as plain JSON data (str/int/bool/None/list/dict only; no floats).

    The exact shape is specified in docs/tally-json.md.
    """
    s = result.settings
    return {
        "version": RESULT_VERSION,
        "rulebook": s.rulebook.value,
        "settings": {
            "rulebook": s.rulebook.value,
            "duplicate_policy": s.duplicate_policy.value,
            "invalid_ballots": s.invalid_ballots.value,
            "non_voters": s.non_voters.value,
            "include_parking_area": s.include_parking_area,
        },
        "motions": [_motion_dict(m) for m in result.motions],
        "conflicts": [_conflict_dict(c) for c in result.conflicts],
        "notes": [_note_dict(n) for n in result.notes],
    }
