"""Helpers shared by the server-rendered pages: language, local time, embedded JSON."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

import msgspec
from litestar import Request

from web.errors import language_of
from web.i18n import Language

__all__ = ["SHANGHAI", "embed_json", "local_time", "page_language"]

#: China Standard Time (no daylight saving): instants are shown in Asia/Shanghai.
SHANGHAI: Final = timezone(timedelta(hours=8), "Asia/Shanghai")


def page_language(request: Request[Any, Any, Any]) -> Language:
    """Pages are Chinese unless the reader switches with ``?lang=en``.

    The browser's ``Accept-Language`` is deliberately not consulted: a notice
    of an owners' meeting is a Chinese document, and many owners' phones are
    set to English without the owner reading English.
    """
    if request.query_params.get("lang"):
        return language_of(request)
    settings = getattr(request.app.state, "settings", None)
    return "en" if settings is not None and settings.language == "en" else "zh-CN"


def local_time(moment: datetime | None, language: Language) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(SHANGHAI)
    if language == "en":
        return local.strftime("%Y-%m-%d %H:%M") + " (Beijing time)"
    return local.strftime("%Y-%m-%d %H:%M") + "（北京时间）"


def embed_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no HTML)."""
    text = msgspec.json.encode(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
