"""Language negotiation: Chinese by default, English on request."""

from __future__ import annotations

import pytest

from web.i18n import language_from_header, request_language, web_message


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en;q=0.3, zh-TW;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr-FR, de;q=0.5", "zh-CN"),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("en;q=bogus, zh", "zh-CN"),
    ],
)
def test_accept_language_picks_the_first_supported_tag_by_quality(
    header: str | None, expected: str
) -> None:
    assert language_from_header(header, default="zh-CN") == expected


def test_default_applies_when_nothing_matches() -> None:
    assert language_from_header("fr", default="en") == "en"


def test_query_lang_wins_over_the_header() -> None:
    assert request_language(query_lang="en", accept_language="zh-CN", default="zh-CN") == "en"
    assert request_language(query_lang="zh", accept_language="en", default="en") == "zh-CN"


def test_unknown_query_lang_falls_back_to_the_header() -> None:
    assert request_language(query_lang="fr", accept_language="en", default="zh-CN") == "en"


def test_web_messages_exist_in_both_languages_and_fill_values() -> None:
    assert web_message("rate_limited", "en", retry_after=7) == (
        "too many requests; try again in 7 seconds"
    )
    assert "7" in web_message("rate_limited", "zh-CN", retry_after=7)


def test_unknown_code_gets_the_generic_message() -> None:
    assert web_message("no_such_code", "en", detail="x") == "the request failed: x"
