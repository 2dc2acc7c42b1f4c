"""Strict decoding of every JSON request body.

Litestar decodes a body leniently: msgspec turns ``"5"`` into ``5`` for an
integer field, a repeated key silently keeps its last value, and the raw
decoder lets invalid UTF-8, ``\\u0000`` and integers of any size through to
the service and the database (a 500 on PostgreSQL, a NUL stored on SQLite).
:class:`StrictJsonRequest` replaces the request's ``json()`` for the whole
app, so every JSON post goes through :func:`decode_json_body` once:

1. the bytes must be UTF-8 and JSON (no ``NaN``/``Infinity``);
2. no object may repeat a key, nesting is bounded (Python's recursion limit
   while parsing; :data:`MAX_DEPTH` for a route without a body type, whose
   value is not bounded by a schema), every integer fits in 64 bits and no
   string (key or value) holds a NUL or an unpaired surrogate (``\\ud800``,
   which no UTF-8 text, database or signature can carry);
3. the value is converted to the route's body type in msgspec's strict mode
   (no numeric strings for numbers, no strings for booleans).

Any refusal is a :class:`BodyInvalid` — 400 ``invalid_request`` with a
Chinese and an English sentence per problem — and nothing reaches the
service. The result of step 3 is the route's Struct itself, which Litestar's
own (lenient) conversion passes through unchanged, so the strict path costs
one parse, as before: on a ballot POST a few microseconds (C JSON parser,
one hook call per object).
"""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

from votes.validation import Described, describe

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "BodyInvalid",
    "StrictJsonRequest",
    "decode_json_body",
]

INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)
#: Deepest nesting of arrays and objects a body may have (the schemas need 4).
MAX_DEPTH: Final = 32
_NUL_ESCAPE: Final = "\\u0000"


class BodyInvalid(ValidationException):
    """A JSON body refused before it reached the service; ``problems`` in both languages."""

    def __init__(self, problems: list[Described]) -> None:
        super().__init__(detail="; ".join(problem.en for problem in problems))
        self.problems = problems


def _refuse(zh: str, en: str, key: str | None = None) -> BodyInvalid:
    return BodyInvalid([Described(zh=zh, en=en, key=key)])


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _OutOfRangeError(ValueError):
    def __init__(self, digits: str) -> None:
        super().__init__(digits)
        self.digits = digits


class _NotJsonError(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _integer(digits: str) -> int:
    # 64-bit integers have at most 19 digits (20 characters with the sign): longer
    # strings are refused unconverted, shorter than 19 characters always fit.
    if len(digits) > 20:
        raise _OutOfRangeError(digits)
    value = int(digits)
    if len(digits) >= 19 and not INT64_MIN <= value <= INT64_MAX:
        raise _OutOfRangeError(digits)
    return value


def _constant(name: str) -> Any:
    raise _NotJsonError(name)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_integer, parse_constant=_constant
)


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True iff ``value`` nests arrays/objects deeper than ``limit`` (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _text_problem(text: str) -> str | None:
    """What is wrong with ``text``: "nul", "surrogate" (an unpaired ``\\ud800``), or None."""
    if "\x00" in text:
        return "nul"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return None


def _bad_text(value: Any) -> tuple[str, str] | None:
    """(key path, problem) of the first string or object key that is not good text.

    The path ``""`` is the whole body (a bare string); None means every string is fine.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if problem := _text_problem(item):
                return where, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                if problem := _text_problem(key):
                    return where, problem
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


_TEXT_PROBLEMS: Final[dict[str, tuple[str, str]]] = {
    "nul": ("含有不允许的 NUL 字符（\\u0000）", "contains a NUL character (\\u0000)"),
    "surrogate": (
        "含有不成对的 UTF-16 代理项（如 \\ud800），不是有效的文本",
        "contains an unpaired UTF-16 surrogate (such as \\ud800)",
    ),
}


def _parse(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(
            f"请求体不是有效的 UTF-8 文本（第 {exc.start} 字节）",
            f"the request body is not valid UTF-8 (at byte {exc.start})",
        ) from None
    try:
        value = _DECODER.decode(text)
    except _DuplicateKeyError as exc:
        raise _refuse(
            f"请求体中字段 {exc.key} 出现了不止一次",
            f"the key {exc.key!r} appears more than once in an object",
            exc.key,
        ) from None
    except _OutOfRangeError as exc:
        shown = exc.digits if len(exc.digits) <= 40 else exc.digits[:40] + "…"
        raise _refuse(
            f"请求体中的整数 {shown} 超出 64 位整数范围",
            f"the integer {shown} in the request body is outside the 64-bit range",
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except (_NotJsonError, ValueError) as exc:  # JSONDecodeError, or an integer too long to convert
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else None
        where_zh = f"（第 {position} 个字符附近）" if position is not None else ""
        raise _refuse(
            f"请求体不是有效的 JSON{where_zh}",
            f"the request body is not valid JSON: {exc}",
        ) from None
    # Only an escape can put a NUL or a lone surrogate into a decoded string
    # (raw ones are not valid JSON or not valid UTF-8): look closer only then.
    if _NUL_ESCAPE in text or "\\ud" in text or "\\uD" in text:
        found = _bad_text(value)
        if found is not None:
            where, problem = found
            zh, en = _TEXT_PROBLEMS[problem]
            raise _refuse(
                f"字段 {where} {zh}" if where else f"请求体{zh}",
                f"{where or 'the body'} {en}, which is not allowed",
                where or None,
            )
    return value


def _too_deep() -> BodyInvalid:
    return _refuse(
        f"请求体嵌套过深（最多 {MAX_DEPTH} 层）",
        f"the request body is nested too deeply (at most {MAX_DEPTH} levels)",
    )


def decode_json_body(body: bytes, target: Any = Any) -> Any:
    """``body`` parsed and checked as described in the module docstring, converted to ``target``.

    Raises :class:`BodyInvalid` for anything refused.
    """
    value = _parse(body or b"null")
    if target is Any:
        # Typed targets bound the nesting themselves (every request Struct refuses
        # unknown fields, and no field takes arbitrary JSON); a raw value is checked.
        if isinstance(value, dict | list) and _depth_exceeds(value, MAX_DEPTH):
            raise _too_deep()
        return value
    try:
        return msgspec.convert(value, target, strict=True, str_keys=True)
    except msgspec.ValidationError as exc:
        raise BodyInvalid([describe(str(exc))]) from None


class StrictJsonRequest(Request[Any, Any, Any]):
    """The app's request class: ``json()`` decodes through :func:`decode_json_body`.

    The target type is the route's ``data`` parameter, so the body arrives
    already validated strictly; routes without one get the checked raw value.
    """

    __slots__ = ()

    async def json(self) -> Any:
        if self._json is Empty:
            field = self.route_handler.parsed_data_field
            target = Any if field is None else field.annotation
            self._json = decode_json_body(await self.body(), target)
        return self._json
