"""The server-rendered pages: the ballot page and the public bulletin."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.web.scenario import Scenario


def _embedded(html: str, element_id: str) -> Any:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


async def test_ballot_page_embeds_the_meeting_for_the_phone(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/b/{demo.meeting_code}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    data = _embedded(response.text, "meeting-data")
    meeting = (await client.get(f"/api/v1/meetings/{demo.meeting_code}")).json()
    assert data["meeting"]["id"] == meeting["id"]
    assert data["meeting"]["roster_root"] == meeting["roster_root"]
    assert [m["id"] for m in data["meeting"]["motions"]] == [m["id"] for m in meeting["motions"]]
    assert data["api"]["ballots"] == f"/api/v1/meetings/{demo.meeting_code}/ballots"


async def test_ballot_page_is_chinese_first(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(f"/b/{demo.meeting_code}")
    assert '<html lang="zh-CN">' in response.text
    assert "提交选票" in response.text


async def test_ballot_page_in_english_with_lang_en(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/b/{demo.meeting_code}?lang=en")
    assert '<html lang="en">' in response.text
    assert "Submit ballot" in response.text


async def test_ballot_page_is_not_cached_and_sends_no_referrer(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/b/{demo.meeting_code}")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers


async def test_embedded_json_cannot_close_the_script_element(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/b/{demo.meeting_code}")
    block = response.text.split('id="meeting-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block


async def test_ballot_page_of_unknown_meeting_is_404(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/b/NOSUCH")
    assert response.status_code == 404
    assert response.json()["code"] == "meeting_not_found"


async def test_ballot_script_is_served(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/static/ballot.js")
    assert response.status_code == 200
    assert "owner-vote/ballot/v1" in response.text


async def test_bulletin_of_an_open_meeting_shows_turnout_and_record_links(
    client: AsyncTestClient[Litestar], demo: Any
) -> None:
    response = await client.get(f"/bulletin/{demo.meeting_code}")
    assert response.status_code == 200
    assert "投票中" in response.text
    assert f"/api/v1/meetings/{demo.meeting_code}/bundle" in response.text
    assert f"/api/v1/meetings/{demo.meeting_code}/checkpoint" in response.text
    assert 'id="turnout"' in response.text
    live = _embedded(response.text, "bulletin-data")
    assert live["stream"] == f"/api/v1/meetings/{demo.meeting_code}/turnout/stream"


async def test_bulletin_in_english(client: AsyncTestClient[Litestar], demo: Any) -> None:
    response = await client.get(f"/bulletin/{demo.meeting_code}?lang=en")
    assert "open for voting" in response.text


async def test_bulletin_shows_the_result_once_tallied(
    client: AsyncTestClient[Litestar], s: Scenario
) -> None:
    await s.until("tallied")
    client.cookies.clear()
    response = await client.get(f"/bulletin/{s.code}")
    assert response.status_code == 200
    assert "表决结果" in response.text
    assert "待街道办确认" in response.text
    assert 'id="bulletin-data"' not in response.text  # no live stream after voting


async def test_bulletin_of_a_draft_is_404(client: AsyncTestClient[Litestar], s: Scenario) -> None:
    await s.until("draft")
    client.cookies.clear()
    response = await client.get(f"/bulletin/{s.code}")
    assert response.status_code == 404
