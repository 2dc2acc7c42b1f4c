"""Plain Chinese (and English) texts for msgspec's validation errors.

msgspec explains a refused value in English parser terms ("Expected `str` of
length >= 8 - at `$.password`"). Users of the API and of the ballot page read
Chinese first, so every such text is turned into a sentence naming the field
and the rule ("字段 password 至少 8 个字符"); the English sentence keeps
msgspec's own wording, which is precise and what developers search for.

:func:`describe` does the translation. A message that matches none of the
known shapes still gets a Chinese sentence ("字段 … 的值无效"), never the
English text, so no parser wording leaks into a Chinese message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Described", "describe", "split_location"]

# msgspec's type names in its messages -> what a Chinese reader calls them.
_TYPE_ZH: Final[dict[str, str]] = {
    "int": "整数",
    "float": "数字",
    "str": "字符串",
    "bool": "布尔值（true 或 false）",
    "null": "null",
    "object": "JSON 对象",
    "array": "数组",
    "datetime": "带时区的 ISO-8601 时间",
    "date": "ISO-8601 日期",
    "uuid": "UUID",
    "bytes": "base64 字符串",
    "decimal": "十进制数字字符串",
}

_LOCATION: Final = re.compile(r" - at `(?P<where>[^`]*)`(?: in `(?P<container>[^`]*)`)?$")
_EXPECTED_TYPE: Final = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_LENGTH: Final = re.compile(r"^Expected `(?P<kind>\w+)` of length (?P<op>[<>]=?) (?P<n>\d+)$")
_BOUND: Final = re.compile(r"^Expected `(?P<kind>int|float)` (?P<op>[<>]=?) (?P<n>-?[\d.e+]+)$")
_PATTERN: Final = re.compile(r"^Expected `str` matching regex ")
_MISSING: Final = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_UNKNOWN: Final = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_ENUM: Final = re.compile(r"^Invalid enum value (?P<value>.+)$")
_TIME_RANGE: Final = re.compile(
    r"^`(?P<field>\w+)` must be from (?P<earliest>[\d-]+) and before (?P<latest>[\d-]+) \(UTC\)$"
)
_INVALID_KIND: Final = re.compile(r"^Invalid (?P<kind>RFC3339 encoded datetime|UUID|.+)$")

_OP_ZH: Final[dict[str, str]] = {">=": "大于等于", "<=": "小于等于", ">": "大于", "<": "小于"}
_LENGTH_ZH: Final[dict[str, str]] = {">=": "至少", "<=": "最多", ">": "多于", "<": "少于"}


@dataclass(frozen=True, slots=True)
class Described:
    """A validation problem in both languages, and the field it concerns (None: the whole body)."""

    zh: str
    en: str
    key: str | None


def split_location(message: str) -> tuple[str, str | None]:
    """msgspec's message without its `` - at `$.a.b` `` suffix, and the key ``a.b``.

    A problem with a mapping key (`` - at `key` in `$.choices` ``) is keyed
    by the mapping (``choices``).
    """
    match = _LOCATION.search(message)
    if match is None:
        return message, None
    where = match.group("container") or match.group("where")
    key = where.removeprefix("$").removeprefix(".") or None
    return message[: match.start()], key


def _type_zh(names: str) -> str:
    parts = [name.strip() for name in names.split("|")]
    wanted = " 或 ".join(_TYPE_ZH.get(name, name) for name in parts if name != "null")
    if "null" in parts:
        return f"{wanted}（或 null）" if wanted else "null"
    return wanted


def _field_zh(key: str | None, field_label: str, whole: str) -> str:
    return f"{field_label} {key}" if key else whole


def describe(
    message: str, key: str | None = None, *, field_label: str = "字段", whole: str = "请求体"
) -> Described:
    """The Chinese and English sentences for one msgspec (or Litestar) validation message.

    ``key`` is the field when the caller knows it (Litestar's parameter errors);
    otherwise it is taken from the message. ``field_label`` names what the key
    is ("字段" for a body field, "查询参数" for a query parameter …), ``whole``
    what the message is about when no key is known ("请求体", "选票" …).
    """
    text, found = split_location(message)
    if match := _TIME_RANGE.match(text):  # votes.service.schemas: a time out of range
        found = found or match.group("field")
    key = key or found
    subject = _field_zh(key, field_label, whole)
    en_subject = f"{key}: " if key else ""
    zh = _describe_zh(text, subject, key, whole)
    return Described(zh=zh, en=f"{en_subject}{text}", key=key)


def _describe_zh(text: str, subject: str, key: str | None, whole: str) -> str:
    if match := _EXPECTED_TYPE.match(text):
        wanted = _type_zh(match.group("want"))
        if key is None and match.group("want") == "object":
            return f"{whole}必须是 JSON 对象"
        return f"{subject} 必须是{' ' if wanted[:1].isascii() else ''}{wanted}"
    if match := _LENGTH.match(text):
        unit = "个字符" if match.group("kind") == "str" else "项"
        return f"{subject} {_LENGTH_ZH[match.group('op')]} {match.group('n')} {unit}"
    if match := _BOUND.match(text):
        return f"{subject} 必须{_OP_ZH[match.group('op')]} {match.group('n')}"
    if _PATTERN.match(text):
        return f"{subject} 的格式不正确"
    if match := _MISSING.match(text):
        field = match.group("field")
        return f"缺少必填字段 {key}.{field}" if key else f"缺少必填字段 {field}"
    if match := _UNKNOWN.match(text):
        field = match.group("field")
        return f"不允许的字段 {key}.{field}" if key else f"不允许的字段 {field}"
    if match := _TIME_RANGE.match(text):
        earliest, latest = match.group("earliest"), match.group("latest")
        return f"{subject} 必须不早于 {earliest}、早于 {latest}（UTC）"
    if _ENUM.match(text):
        return f"{subject} 的取值不在允许范围内"
    if match := _INVALID_KIND.match(text):
        kind = match.group("kind")
        if kind == "RFC3339 encoded datetime":
            return f"{subject} 必须是带时区的 ISO-8601 时间"
        if kind == "UUID":
            return f"{subject} 必须是 UUID"
    return f"{subject} 的值无效"
