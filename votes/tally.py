"""The tally: a pure function from roster, motions, ballots and settings to a result per motion.

How every number is computed, with the docs/legal.md article for each rule, is in
docs/tally.md; the JSON form (:func:`votes.tally_json.result_to_dict`) is
specified in docs/tally-json.md. All areas are integers in 0.01 m²; every threshold is
decided by :func:`votes.rules.meets` (cross-multiplication); percentages are
display strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from votes.duplicates import ByChoice, Conflict, Duplicate, resolve_by_choice
from votes.model import (
    BallotRow,
    Choice,
    InvalidBallots,
    Member,
    Motion,
    MotionType,
    NonVoterRule,
    Roster,
    TallySettings,
)
from votes.roster import weighted_areas
from votes.rules import Threshold, format_area, meets, requirements

__all__ = [
    "Count",
    "DimensionCheck",
    "MotionResult",
    "NonVoters",
    "Note",
    "OptionResult",
    "Reason",
    "TallyResult",
    "ThresholdCheck",
    "tally",
    "tally_grouped",
]

# Words that are a choice on every motion type, so never a candidate or option name.
_RESERVED = frozenset({Choice.ABSTAIN.value, Choice.INVALID.value})


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True, slots=True)
class Count:
    """Area (0.01 m²) and heads of a set of voting members."""

    area: int = 0
    heads: int = 0


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something failed or was (not) applied: a stable code and a message in zh and en."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Note:
    """Something a reader of the result should know; ``members`` names the members concerned."""

    code: str
    zh: str
    en: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DimensionCheck:
    """``part / whole`` against a threshold in one dimension (area or heads)."""

    part: int
    whole: int
    met: bool


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    """One threshold applied in both dimensions; met only when both are met.

    ``of`` names the numerator (``participating`` for a quorum, ``agree`` for
    consent); ``threshold.base`` names the denominator.
    """

    threshold: Threshold
    of: str
    area: DimensionCheck
    heads: DimensionCheck

    @property
    def met(self) -> bool:
        return self.area.met and self.heads.met


@dataclass(frozen=True, slots=True)
class OptionResult:
    """One election candidate or choose-one option."""

    name: str
    agree: Count
    consent: ThresholdCheck
    reached: bool  # the consent threshold is met in area and heads
    won: bool  # elected (election) or chosen (choose-one)


@dataclass(frozen=True, slots=True)
class NonVoters:
    """What the non-voter rule did on one motion."""

    rule: NonVoterRule
    applied: bool
    direction: Choice | None  # AGREE or OPPOSE when applied
    count: Count  # the in-scope members without a ballot on this motion
    reason: Reason


@dataclass(frozen=True, slots=True)
class MotionResult:
    motion: Motion
    totals: Count
    participating: Count
    agree: Count
    oppose: Count
    abstain: Count
    invalid: Count
    quorum: ThresholdCheck | None  # None when the rulebook has no quorum
    consent: ThresholdCheck | None  # None for elections and choose-one (see options)
    quorum_met: bool
    passed: bool
    reason: Reason | None  # None exactly when passed
    options: tuple[OptionResult, ...]  # candidates or options; () for yes/no motions
    won: tuple[str, ...]  # elected candidates (rank order) or the chosen option
    tie: tuple[str, ...]  # candidates/options whose tie blocks the last seat(s)
    non_voters: NonVoters
    notes: tuple[Note, ...]


@dataclass(frozen=True, slots=True)
class TallyResult:
    settings: TallySettings
    motions: tuple[MotionResult, ...]
    conflicts: tuple[Conflict, ...]
    notes: tuple[Note, ...]


# --------------------------------------------------------------------------- validation


def _check_motions(motions: Sequence[Motion]) -> None:
    seen: set[str] = set()
    for motion in motions:
        if motion.id in seen:
            raise ValueError(f"duplicate motion id {motion.id!r}")
        seen.add(motion.id)
        kind = MotionType(motion.type)
        if kind == MotionType.YES_NO:
            continue
        names = motion.candidates
        label = "candidate" if kind == MotionType.ELECTION else "option"
        if not names:
            raise ValueError(f"motion {motion.id!r} ({kind.value}) has no {label}s")
        if len(set(names)) != len(names):
            raise ValueError(f"motion {motion.id!r} lists a {label} twice: {list(names)!r}")
        for name in names:
            if not name.strip() or name != name.strip() or ";" in name or name in _RESERVED:
                raise ValueError(
                    f"motion {motion.id!r}: {label} name {name!r} is empty, padded, "
                    "contains ';' or is a reserved choice"
                )
        if kind == MotionType.ELECTION and motion.seats < 1:
            raise ValueError(f"motion {motion.id!r}: seats must be at least 1, got {motion.seats}")


def _member_index(roster: Roster) -> dict[str, Member]:
    index = {member.id: member for member in roster.members}
    if len(index) != len(roster.members):
        seen: set[str] = set()
        for member in roster.members:
            if member.id in seen:
                raise ValueError(f"duplicate member id {member.id!r} in roster")
            seen.add(member.id)
    return index


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True, slots=True)
class _Weights:
    """Area of every member that carries weight in one scope; each is one head.

    ``member_weight`` gives a head of 1 to every member with a counted unit and
    0 otherwise, so a member's heads are 1 exactly when it is in ``area``.
    """

    area: dict[str, int]
    total: Count


def _weights(
    candidates: Iterable[Member], *, include_parking: bool, scope: frozenset[str] | None
) -> _Weights:
    area = weighted_areas(candidates, include_parking=include_parking, scope=scope)
    return _Weights(area, Count(sum(area.values()), len(area)))


def _check(threshold: Threshold, of: str, part: Count, whole: Count) -> ThresholdCheck:
    return ThresholdCheck(
        threshold=threshold,
        of=of,
        area=DimensionCheck(part.area, whole.area, meets(threshold, part.area, whole.area)),
        heads=DimensionCheck(part.heads, whole.heads, meets(threshold, part.heads, whole.heads)),
    )


_BASE_ZH = {"total": "总数", "participating": "参与表决"}
_OF_ZH = {"participating": "参与表决", "agree": "同意"}


def _shortfall(check: ThresholdCheck) -> tuple[str, str]:
    """The dimensions that missed ``check``, with their numbers, in zh and en."""
    zh: list[str] = []
    en: list[str] = []
    if not check.area.met:
        a, w = format_area(check.area.part), format_area(check.area.whole)
        zh.append(f"面积 {a} / {w} m²")
        en.append(f"area {a} / {w} m²")
    if not check.heads.met:
        zh.append(f"人数 {check.heads.part} / {check.heads.whole}")
        en.append(f"heads {check.heads.part} / {check.heads.whole}")
    return "；".join(zh), "; ".join(en)


def _quorum_reason(check: ThresholdCheck) -> Reason:
    zh, en = _shortfall(check)
    rule = check.threshold.rule
    return Reason(
        "quorum-not-met",
        f"参与表决未达到法定要求（须达总数 {rule}）：{zh}",
        f"quorum not met (needs {rule} of the total): {en}",
    )


def _consent_reason(check: ThresholdCheck) -> Reason:
    zh, en = _shortfall(check)
    rule = check.threshold.rule
    base = check.threshold.base
    return Reason(
        "consent-not-met",
        f"同意未达到要求（须达{_BASE_ZH[base]} {rule}）：{zh}",
        f"consent not met (needs {rule} of {base}): {en}",
    )


_EMPTY_SCOPE = Reason(
    "empty-scope",
    "表决范围内没有计入的专有部分，无法表决",
    "no counted exclusive part in the motion's scope; nothing can pass",
)
_NO_PARTICIPATION = Reason(
    "no-participation",
    "无人参与表决",
    "nobody participated",
)


def _notes_for_rows(
    *,
    motion: Motion,
    members: Mapping[str, Member],
    include_parking: bool,
    out_of_scope: list[str],
    unknown: list[str],
    unrecognised: list[str],
    duplicates: Sequence[Duplicate],
) -> list[Note]:
    notes: list[Note] = []
    if unknown:
        notes.append(
            Note(
                "unknown-member",
                "选票所属业主不在名册中，未计入",
                "ballot rows from members not in the roster were not counted",
                tuple(sorted(unknown)),
            )
        )
    if out_of_scope:
        # Members whose only units in scope are parking spaces, when those do not count.
        with_parking = (
            {}
            if include_parking
            else weighted_areas(
                [members[member_id] for member_id in out_of_scope],
                include_parking=True,
                scope=motion.scope,
            )
        )
        scoped: list[str] = []
        parking: list[str] = []
        for member_id in out_of_scope:
            (parking if member_id in with_parking else scoped).append(member_id)
        if scoped:
            notes.append(
                Note(
                    "out-of-scope",
                    "业主在本议题表决范围内没有专有部分，其选票未计入",
                    "members with no exclusive part in the motion's scope; their rows were "
                    "not counted",
                    tuple(sorted(scoped)),
                )
            )
        if parking:
            notes.append(
                Note(
                    "parking-not-counted",
                    "业主在表决范围内只有车位，车位面积不计入，其选票未计入",
                    "members holding only parking spaces in scope, which do not count; their "
                    "rows were not counted",
                    tuple(sorted(parking)),
                )
            )
    if unrecognised:
        notes.append(
            Note(
                "unrecognised-choice",
                "选票内容无法识别（或超选），按无效票计",
                "choices that are not valid for this motion (or select too many) count as invalid",
                tuple(sorted(unrecognised)),
            )
        )
    if duplicates:
        rows = sum(d.rows for d in duplicates)
        notes.append(
            Note(
                "agreeing-duplicates",
                f"{len(duplicates)} 位业主提交了内容一致的多张选票（共 {rows} 张），各计一次",
                f"{len(duplicates)} members sent several rows that agree ({rows} rows); "
                "each counted once",
                tuple(sorted(d.member_id for d in duplicates)),
            )
        )
    if motion.item == 4:
        notes.append(
            Note(
                "firing-notice",
                "解聘物业服务企业的，应当提前60日书面通知物业服务人（民法典第946条）",
                "firing the property firm needs 60 days' written notice to the firm "
                "(Civil Code art 946)",
            )
        )
    return notes


# --------------------------------------------------------------------------- counting

_YES_NO_CODES = {
    Choice.AGREE.value: 0,
    Choice.OPPOSE.value: 1,
    Choice.ABSTAIN.value: 2,
    Choice.INVALID.value: 3,
}


@dataclass(frozen=True, slots=True)
class _Cast:
    """What the effective rows of one motion add up to, before thresholds."""

    agree: Count  # yes/no: agree; election/choose-one: a valid selection
    oppose: Count
    abstain: Count
    invalid: Count
    per_option: dict[str, Count]
    out_of_scope: list[str]
    unknown: list[str]
    unrecognised: list[str]


_AGREE, _OPPOSE, _ABSTAIN, _INVALID, _UNRECOGNISED = range(5)

Classified = int | tuple[str, ...]


def _classify(motion: Motion, choice: str, names: frozenset[str]) -> Classified:
    """A row's choice as a code, or the candidates/option it selects."""
    text = choice.strip()
    if motion.type == MotionType.YES_NO:
        return _YES_NO_CODES.get(text, _UNRECOGNISED)
    if text == Choice.ABSTAIN.value:
        return _ABSTAIN
    if text == Choice.INVALID.value:
        return _INVALID
    if motion.type == MotionType.CHOOSE_ONE:
        return (text,) if text in names else _UNRECOGNISED
    parts = tuple(map(str.strip, text.split(";")))
    if (
        not 1 <= len(parts) <= motion.seats
        or len(set(parts)) != len(parts)
        or not names.issuperset(parts)
    ):
        return _UNRECOGNISED
    return parts


def _count_rows(
    motion: Motion,
    by_choice: Mapping[str, list[str]],
    weights: _Weights,
    members: Mapping[str, Member],
) -> _Cast:
    """Sum the weights of the members behind each distinct choice text of one motion."""
    area = weights.area
    names = frozenset(motion.candidates)
    totals = [[0, 0] for _ in range(4)]
    per_option = {name: [0, 0] for name in motion.candidates}
    outside: set[str] = set()
    unrecognised: list[str] = []
    for choice, ids in by_choice.items():
        # Members without weight in the scope add 0 here and are noted below;
        # every member with weight is one head.
        # One dict lookup per member: memory access to the ids is the cost.
        found = list(map(area.get, ids))
        group_heads = len(found) - found.count(None)
        group_area = sum(filter(None, found))
        if group_heads < len(ids):
            outside.update(set(ids).difference(area))
        kind = _classify(motion, choice, names)
        if isinstance(kind, tuple):
            slot = totals[_AGREE]
            for name in kind:
                per_option[name][0] += group_area
                per_option[name][1] += group_heads
        elif kind == _UNRECOGNISED:
            slot = totals[_INVALID]
            unrecognised.extend(m for m in ids if m in area)
        else:
            slot = totals[kind]
        slot[0] += group_area
        slot[1] += group_heads
    return _Cast(
        agree=Count(*totals[_AGREE]),
        oppose=Count(*totals[_OPPOSE]),
        abstain=Count(*totals[_ABSTAIN]),
        invalid=Count(*totals[_INVALID]),
        per_option={name: Count(*acc) for name, acc in per_option.items()},
        out_of_scope=[m for m in outside if m in members],
        unknown=[m for m in outside if m not in members],
        unrecognised=unrecognised,
    )


def _non_voter_outcome(
    rule: NonVoterRule, motion: Motion, agree: Count, oppose: Count, absent: Count
) -> NonVoters:
    """The follow-the-majority rule (docs/tally.md §Non-voters), or why it was not applied."""
    if rule == NonVoterRule.STRICT:
        return NonVoters(
            rule,
            False,
            None,
            absent,
            Reason("strict", "未投票者不计入表决", "strict: non-voters do not participate"),
        )
    if motion.type != MotionType.YES_NO:
        return NonVoters(
            rule,
            False,
            None,
            absent,
            Reason(
                "not-yes-no",
                "选举及多选一议题不适用“未投票视为同意多数意见”",
                "follow-the-majority applies to yes/no motions only",
            ),
        )
    if absent.heads == 0:
        return NonVoters(
            rule,
            False,
            None,
            absent,
            Reason("no-non-voters", "没有未投票的业主", "every member in scope voted"),
        )
    if agree.area > oppose.area and agree.heads > oppose.heads:
        return NonVoters(
            rule,
            True,
            Choice.AGREE,
            absent,
            Reason(
                "follow-agree",
                "已投票中同意的面积和人数均多于反对，未投票者计入同意",
                "agree exceeds oppose in area and heads among cast ballots; non-voters "
                "counted as agreeing",
            ),
        )
    if oppose.area > agree.area and oppose.heads > agree.heads:
        return NonVoters(
            rule,
            True,
            Choice.OPPOSE,
            absent,
            Reason(
                "follow-oppose",
                "已投票中反对的面积和人数均多于同意，未投票者计入反对",
                "oppose exceeds agree in area and heads among cast ballots; non-voters "
                "counted as opposing",
            ),
        )
    return NonVoters(
        rule,
        False,
        None,
        absent,
        Reason(
            "no-clear-majority",
            "已投票中同意与反对未在面积和人数上同时占多数，不适用",
            "neither agree nor oppose leads in both area and heads among cast ballots; not applied",
        ),
    )


def _rank_key(option: OptionResult) -> tuple[int, int]:
    # Rank by agreeing heads, then agreeing area (docs/tally.md §Elections).
    return (option.agree.heads, option.agree.area)


def _elect(
    options: list[OptionResult], seats: int, quorum_met: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(elected in rank order, tied candidates) among those that reached the threshold."""
    if not quorum_met:
        return (), ()
    reached = sorted((o for o in options if o.reached), key=_rank_key, reverse=True)
    if len(reached) <= seats:
        return tuple(o.name for o in reached), ()
    cut = _rank_key(reached[seats - 1])
    if cut != _rank_key(reached[seats]):
        return tuple(o.name for o in reached[:seats]), ()
    elected = tuple(o.name for o in reached if _rank_key(o) > cut)
    tie = tuple(o.name for o in reached if _rank_key(o) == cut)
    return elected, tie


def _tally_motion(
    motion: Motion,
    *,
    by_choice: Mapping[str, list[str]],
    weights: _Weights,
    members: Mapping[str, Member],
    settings: TallySettings,
    duplicates: Sequence[Duplicate],
) -> MotionResult:
    need = requirements(settings.rulebook, motion.item)
    totals = weights.total
    cast = _count_rows(motion, by_choice, weights, members)
    agree, oppose, abstain, invalid = cast.agree, cast.oppose, cast.abstain, cast.invalid
    voted = Count(
        agree.area + oppose.area + abstain.area + invalid.area,
        agree.heads + oppose.heads + abstain.heads + invalid.heads,
    )
    absent = Count(totals.area - voted.area, totals.heads - voted.heads)

    non_voters = _non_voter_outcome(settings.non_voters, motion, agree, oppose, absent)
    if non_voters.applied and non_voters.direction == Choice.AGREE:
        agree = Count(agree.area + absent.area, agree.heads + absent.heads)
    elif non_voters.applied:
        oppose = Count(oppose.area + absent.area, oppose.heads + absent.heads)

    counted_invalid = settings.invalid_ballots == InvalidBallots.PARTICIPATING
    participating = Count(
        agree.area + oppose.area + abstain.area + (invalid.area if counted_invalid else 0),
        agree.heads + oppose.heads + abstain.heads + (invalid.heads if counted_invalid else 0),
    )

    quorum = None
    if need.quorum is not None:
        quorum = _check(need.quorum, "participating", participating, totals)
    quorum_met = quorum is None or quorum.met
    consent_whole = participating if need.consent.base == "participating" else totals

    consent: ThresholdCheck | None = None
    options: list[OptionResult] = []
    won: tuple[str, ...] = ()
    tie: tuple[str, ...] = ()
    if motion.type == MotionType.YES_NO:
        consent = _check(need.consent, "agree", agree, consent_whole)
        decided = consent.met
    else:
        for name in motion.candidates:
            votes = cast.per_option[name]
            check = _check(need.consent, "agree", votes, consent_whole)
            options.append(OptionResult(name, votes, check, check.met, False))
        seats = motion.seats if motion.type == MotionType.ELECTION else 1
        won, tie = _elect(options, seats, quorum_met)
        options = [
            OptionResult(o.name, o.agree, o.consent, o.reached, o.name in won) for o in options
        ]
        decided = len(won) == seats

    reason: Reason | None = None
    if totals.heads == 0:
        reason = _EMPTY_SCOPE
    elif participating.heads == 0:
        reason = _NO_PARTICIPATION
    elif quorum is not None and not quorum.met:
        reason = _quorum_reason(quorum)
    elif not decided:
        reason = _undecided_reason(motion, consent, won, tie)
    passed = reason is None

    notes = _notes_for_rows(
        motion=motion,
        members=members,
        include_parking=settings.include_parking_area,
        out_of_scope=cast.out_of_scope,
        unknown=cast.unknown,
        unrecognised=cast.unrecognised,
        duplicates=duplicates,
    )
    return MotionResult(
        motion=motion,
        totals=totals,
        participating=participating,
        agree=agree,
        oppose=oppose,
        abstain=abstain,
        invalid=invalid,
        quorum=quorum,
        consent=consent,
        quorum_met=quorum_met,
        passed=passed,
        reason=reason,
        options=tuple(options),
        won=won,
        tie=tie,
        non_voters=non_voters,
        notes=tuple(notes),
    )


def _undecided_reason(
    motion: Motion, consent: ThresholdCheck | None, won: tuple[str, ...], tie: tuple[str, ...]
) -> Reason:
    if consent is not None:
        return _consent_reason(consent)
    if motion.type == MotionType.CHOOSE_ONE:
        if tie:
            return Reason(
                "tie",
                f"多个选项同时达到要求（{'、'.join(tie)}），未能确定",
                f"several options reached the threshold ({', '.join(tie)}); none chosen",
            )
        return Reason(
            "no-option-reached",
            "没有选项达到同意要求",
            "no option reached the required consent",
        )
    seats = motion.seats
    if tie:
        blocked = seats - len(won)
        return Reason(
            "tie-blocks-seats",
            f"应选 {seats} 名，当选 {len(won)} 名；候选人 {'、'.join(tie)} 得票相同，"
            f"{blocked} 个席位未能确定",
            f"{len(won)} of {seats} seats filled; a tie between {', '.join(tie)} blocks "
            f"{blocked} seat(s)",
        )
    return Reason(
        "seats-unfilled",
        f"应选 {seats} 名，达到同意要求并当选的只有 {len(won)} 名",
        f"only {len(won)} of {seats} seats filled by candidates reaching the required consent",
    )


# --------------------------------------------------------------------------- entry point


def tally(
    *,
    roster: Roster,
    motions: Sequence[Motion],
    ballots: Sequence[BallotRow],
    settings: TallySettings,
) -> TallyResult:
    """Count every motion. Pure: the same inputs always give the same result.

    Raises ValueError for inputs that cannot be counted at all (duplicate
    motion or member ids, an item outside 1-9, an election without candidates).
    """
    members = _checked_members(roster, motions, settings)
    grouped = resolve_by_choice(ballots, settings.duplicate_policy)
    return _count(roster, members, motions, grouped, settings)


def tally_grouped(
    *,
    roster: Roster,
    motions: Sequence[Motion],
    grouped: tuple[ByChoice, Sequence[Conflict], Sequence[Duplicate]],
    settings: TallySettings,
) -> TallyResult:
    """:func:`tally` of ballot rows already resolved by :func:`votes.duplicates.resolve_by_choice`.

    For callers that hold the ballots in another form (the verifier reads
    them from log entries): ``grouped`` must be what ``resolve_by_choice``
    returns for the rows under ``settings.duplicate_policy`` (per motion, each
    member's effective choice text; the conflicts; the agreeing duplicates),
    in any order, or the union of its results for disjoint sets of members.
    """
    members = _checked_members(roster, motions, settings)
    return _count(roster, members, motions, grouped, settings)


def _checked_members(
    roster: Roster, motions: Sequence[Motion], settings: TallySettings
) -> dict[str, Member]:
    _check_motions(motions)
    for motion in motions:
        requirements(settings.rulebook, motion.item)
    return _member_index(roster)


def _count(
    roster: Roster,
    members: Mapping[str, Member],
    motions: Sequence[Motion],
    grouped: tuple[ByChoice, Sequence[Conflict], Sequence[Duplicate]],
    settings: TallySettings,
) -> TallyResult:
    by_motion, conflicts, duplicates = grouped
    duplicates_by_motion: dict[str, list[Duplicate]] = {}
    for duplicate in duplicates:
        duplicates_by_motion.setdefault(duplicate.motion_id, []).append(duplicate)

    # Weights are computed once per distinct scope.
    cache: dict[frozenset[str] | None, _Weights] = {}
    results: list[MotionResult] = []
    for motion in motions:
        weights = cache.get(motion.scope)
        if weights is None:
            weights = cache[motion.scope] = _weights(
                roster.members, include_parking=settings.include_parking_area, scope=motion.scope
            )
        results.append(
            _tally_motion(
                motion,
                by_choice=by_motion.get(motion.id, {}),
                weights=weights,
                members=members,
                settings=settings,
                duplicates=duplicates_by_motion.get(motion.id, ()),
            )
        )

    order = {motion.id: i for i, motion in enumerate(motions)}
    unknown_motions = sorted(set(by_motion) - set(order))
    notes: list[Note] = []
    if unknown_motions:
        notes.append(
            Note(
                "unknown-motion",
                f"选票涉及不存在的议题 {'、'.join(unknown_motions)}，未计入",
                f"ballot rows for motions that do not exist ({', '.join(unknown_motions)}) "
                "were not counted",
            )
        )
    ranked = sorted(
        conflicts, key=lambda c: (order.get(c.motion_id, len(order)), c.motion_id, c.member_id)
    )
    return TallyResult(
        settings=settings, motions=tuple(results), conflicts=tuple(ranked), notes=tuple(notes)
    )
