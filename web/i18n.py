"""Language negotiation and the web layer's own bilingual messages.

Chinese (zh-CN) is the default of every response; English is chosen by
``Accept-Language: en`` (API) or ``?lang=en`` (pages, which a phone user can
switch with a link). Messages of service errors come with both languages from
the service itself; this module holds only the texts the web layer adds.
"""

from __future__ import annotations

from typing import Any, Final, Literal

__all__ = [
    "DEFAULT_LANGUAGE",
    "Language",
    "language_from_header",
    "request_language",
    "web_message",
]

Language = Literal["zh-CN", "en"]
DEFAULT_LANGUAGE: Final[Language] = "zh-CN"

# code -> (Chinese, English). Codes are stable; see docs/api-errors.md "Web layer codes".
_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "invalid_request": ("请求格式错误：{detail}", "the request is malformed: {detail}"),
    "not_found": ("找不到 {path}", "{path} was not found"),
    "method_not_allowed": (
        "{path} 不支持 {method} 方法",
        "method {method} is not allowed on {path}",
    ),
    "unauthenticated": ("请先登录", "please log in first"),
    "forbidden": ("无权执行此操作", "you are not allowed to do this"),
    "csrf_failed": (
        "CSRF 校验失败：请在 X-CSRFToken 请求头中带上本次登录获得的令牌（csrftoken）",
        "CSRF check failed: send this login's token (csrftoken) in the X-CSRFToken header",
    ),
    "payload_too_large": (
        "请求体过大（上限 {limit} 字节）",
        "the request body is too large (the limit is {limit} bytes)",
    ),
    "rate_limited": (
        "请求过于频繁，请 {retry_after} 秒后再试",
        "too many requests; try again in {retry_after} seconds",
    ),
    "session_store_unavailable": (
        "登录会话存储暂时不可用，请稍后再试（投票不受影响）",
        "the session store is unavailable; please try again later (voting is not affected)",
    ),
    "service_unavailable": ("服务暂时不可用，请稍后再试", "the service is unavailable; try later"),
    "internal_error": (
        "服务器内部错误（编号 {incident}）",
        "internal server error (incident {incident})",
    ),
    "http_error": ("请求失败：{detail}", "the request failed: {detail}"),
}


def language_from_header(accept_language: str | None, *, default: Language) -> Language:
    """The language of the first supported tag in an ``Accept-Language`` header.

    Only Chinese and English exist, so the q-ordered list is scanned for the
    first tag that is ``zh*`` or ``en*``; anything else falls back to the default.
    """
    if not accept_language:
        return default
    tags: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        tags.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(tags):
        if negative_quality >= 0:
            continue  # q=0 means "not acceptable"
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return default


def request_language(
    *, query_lang: str | None, accept_language: str | None, default: Language
) -> Language:
    """``?lang=`` wins (pages), then ``Accept-Language``, then the configured default."""
    if query_lang:
        lowered = query_lang.strip().lower()
        if lowered.startswith("en"):
            return "en"
        if lowered.startswith("zh"):
            return "zh-CN"
    return language_from_header(accept_language, default=default)


def web_message(code: str, language: Language, **values: Any) -> str:
    """The message for one of the web layer's codes, formatted with ``values``."""
    zh, en = _MESSAGES.get(code, _MESSAGES["http_error"])
    template = en if language == "en" else zh
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template
