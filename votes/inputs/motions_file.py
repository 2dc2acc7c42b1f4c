"""Read the motions file (议题): a JSON list of motion objects.

Each object has ``id``, ``title``, ``item`` (民法典 278 item 1..9), ``type``
(``yes-no`` | ``election`` | ``choose-one``); an election also has ``seats``
and ``candidates``, a choose-one has ``options``; any motion may have
``scope``, a list of buildings (absent or null = whole estate). Unknown keys
are refused: the file is written by hand and a misspelt ``scope`` would
silently widen a vote to the whole estate.

Problems use the 1-based position of the motion in the list as their row;
row 0 is the file as a whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from votes.inputs.problems import InputError, Problem, UnreadableFileError
from votes.inputs.tabular import decode_text, normalize_text, read_file
from votes.model import Choice, Motion, MotionType, Roster

__all__ = ["RESERVED_NAMES", "check_motion_scopes", "parse_motions", "read_motions"]

#: Words a candidate or option may not be called: they are ballot choices.
RESERVED_NAMES: frozenset[str] = frozenset(
    {*(c.value for c in Choice), "同意", "反对", "弃权", "无效"}
)

_COMMON_KEYS = {"id", "title", "item", "type", "scope"}
_ALLOWED_KEYS = {
    MotionType.YES_NO: _COMMON_KEYS,
    MotionType.ELECTION: _COMMON_KEYS | {"seats", "candidates"},
    MotionType.CHOOSE_ONE: _COMMON_KEYS | {"options"},
}


class _Collector:
    def __init__(self, row: int) -> None:
        self.row = row
        self.problems: list[Problem] = []

    def add(self, column: str | None, code: str, message: str) -> None:
        self.problems.append(Problem(self.row, column, code, message))


def _text(obj: dict[str, Any], key: str, out: _Collector, label: str) -> str | None:
    value = obj.get(key)
    if value is None:
        out.add(key, f"missing-{key}", f"缺少{label} missing '{key}'")
        return None
    if not isinstance(value, str) or not normalize_text(value):
        out.add(
            key, f"bad-{key}", f"{label}必须是非空文本 '{key}' must be non-empty text: {value!r}"
        )
        return None
    return normalize_text(value)


def _names(obj: dict[str, Any], key: str, out: _Collector, *, minimum: int) -> tuple[str, ...]:
    value = obj.get(key)
    if not isinstance(value, list) or len(value) < minimum:
        out.add(
            key,
            f"bad-{key}",
            f"'{key}' 必须是至少 {minimum} 个名字的列表 must be a list of at least {minimum} "
            f"names: {value!r}",
        )
        return ()
    names: list[str] = []
    folded: set[str] = set()
    for raw in value:
        if not isinstance(raw, str) or not normalize_text(raw):
            out.add(key, f"bad-{key}", f"名字必须是非空文本 name must be non-empty text: {raw!r}")
            continue
        name = normalize_text(raw)
        if ";" in name or "；" in name:
            out.add(
                key, "name-has-separator", f"名字不能含分号 name must not contain ';': '{name}'"
            )
        elif name.casefold() in RESERVED_NAMES:
            out.add(
                key,
                "reserved-name",
                f"名字不能是表决用语 name must not be a choice word: '{name}'",
            )
        elif name.casefold() in folded:
            out.add(key, "duplicate-name", f"名字重复 name given twice: '{name}'")
        else:
            names.append(name)
            folded.add(name.casefold())
    return tuple(names)


def _parse_one(
    obj: object, row: int, seen_ids: dict[str, int]
) -> tuple[Motion | None, list[Problem]]:
    out = _Collector(row)
    if not isinstance(obj, dict):
        out.add(
            None, "not-an-object", f"议题必须是 JSON 对象 a motion must be a JSON object: {obj!r}"
        )
        return None, out.problems

    motion_id = _text(obj, "id", out, "编号")
    if motion_id is not None:
        if motion_id in seen_ids:
            out.add(
                "id",
                "duplicate-id",
                f"议题编号重复 duplicate id '{motion_id}' (first at {seen_ids[motion_id]})",
            )
        else:
            seen_ids[motion_id] = row
    title = _text(obj, "title", out, "标题")

    item = obj.get("item")
    if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 9:
        out.add(
            "item", "bad-item", f"事项须为 1 到 9 的整数 'item' must be an integer 1..9: {item!r}"
        )

    type_text = obj.get("type", MotionType.YES_NO.value)
    try:
        motion_type = MotionType(type_text)
    except ValueError:
        allowed = ", ".join(t.value for t in MotionType)
        out.add("type", "bad-type", f"未知议题类型 unknown type {type_text!r} (allowed: {allowed})")
        motion_type = None

    if motion_type is not None:
        for key in sorted(set(obj) - _ALLOWED_KEYS[motion_type]):
            out.add(
                key,
                "unknown-key",
                f"此类议题不接受该字段 key not allowed for a {motion_type.value} motion: '{key}'",
            )
    else:
        for key in sorted(set(obj) - set().union(*_ALLOWED_KEYS.values())):
            out.add(key, "unknown-key", f"未知字段 unknown key: '{key}'")

    seats = 1
    candidates: tuple[str, ...] = ()
    if motion_type is MotionType.ELECTION:
        before = len(out.problems)
        candidates = _names(obj, "candidates", out, minimum=1)
        names_ok = len(out.problems) == before  # else seats vs. count would be a knock-on error
        raw_seats = obj.get("seats")
        if isinstance(raw_seats, bool) or not isinstance(raw_seats, int) or raw_seats < 1:
            out.add(
                "seats",
                "bad-seats",
                f"席位数须为正整数 'seats' must be a positive integer: {raw_seats!r}",
            )
        elif names_ok and raw_seats > len(candidates):
            out.add(
                "seats",
                "too-many-seats",
                f"席位数多于候选人 {raw_seats} seats but only {len(candidates)} candidates",
            )
        else:
            seats = raw_seats
    elif motion_type is MotionType.CHOOSE_ONE:
        candidates = _names(obj, "options", out, minimum=2)

    scope: frozenset[str] | None = None
    raw_scope = obj.get("scope")
    if raw_scope is not None:
        if (
            not isinstance(raw_scope, list)
            or not raw_scope
            or not all(isinstance(b, str) and normalize_text(b) for b in raw_scope)
        ):
            out.add(
                "scope",
                "bad-scope",
                f"范围须为楼栋名列表 'scope' must be a non-empty list of buildings: {raw_scope!r}",
            )
        else:
            scope = frozenset(normalize_text(b) for b in raw_scope)

    if out.problems:
        return None, out.problems
    assert motion_id is not None
    assert title is not None
    assert motion_type is not None
    assert isinstance(item, int)
    return (
        Motion(
            id=motion_id,
            title=title,
            item=item,
            type=motion_type,
            seats=seats,
            candidates=candidates,
            scope=scope,
        ),
        [],
    )


def parse_motions(data: object, *, source: str = "<motions>") -> list[Motion]:
    """Validate already-parsed JSON; raises :class:`InputError` with every problem."""
    if not isinstance(data, list):
        raise InputError(
            [
                Problem(
                    0,
                    None,
                    "not-a-list",
                    "议题文件必须是 JSON 列表 the motions file must be a JSON list",
                )
            ],
            source=source,
        )
    if not data:
        raise InputError([Problem(0, None, "no-motions", "没有任何议题 no motions")], source=source)
    motions: list[Motion] = []
    problems: list[Problem] = []
    seen_ids: dict[str, int] = {}
    for row, obj in enumerate(data, start=1):
        motion, found = _parse_one(obj, row, seen_ids)
        problems.extend(found)
        if motion is not None:
            motions.append(motion)
    if problems:
        raise InputError(problems, source=source)
    return motions


def check_motion_scopes(motions: Sequence[Motion], roster: Roster) -> list[Problem]:
    """Problems for scopes naming a building with no unit in the roster (likely a typo)."""
    buildings = {u.building for m in roster.members for u in m.units}
    problems: list[Problem] = []
    for row, motion in enumerate(motions, start=1):
        for building in sorted((motion.scope or frozenset()) - buildings):
            problems.append(
                Problem(
                    row,
                    "scope",
                    "unknown-building",
                    f"名册中没有该楼栋 no unit of the roster is in building '{building}'",
                )
            )
    return problems


def read_motions(path: Path | str, *, roster: Roster | None = None) -> list[Motion]:
    """Read and validate a motions JSON file; raises :class:`InputError` with every problem.

    With ``roster``, also refuses scopes that name buildings the roster does not have.
    """
    source, raw = read_file(path)
    text = decode_text(raw, source=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            [
                Problem(
                    0,
                    None,
                    "bad-json",
                    f"JSON 格式错误 invalid JSON at line {exc.lineno} "
                    f"column {exc.colno}: {exc.msg}",
                )
            ],
            source=source,
        ) from exc
    motions = parse_motions(data, source=source)
    if roster is not None:
        problems = check_motion_scopes(motions, roster)
        if problems:
            raise InputError(problems, source=source)
    return motions
