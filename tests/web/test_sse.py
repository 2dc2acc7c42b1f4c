"""The live turnout stream delivers an event after a ballot (memory and Redis channels)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import migrate
from tests.web.conftest import make_settings
from tests.web.live_server import free_port, live_server
from tests.web.support import signed_ballot
from votes.settings import Settings


def _events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parsed ``turnout`` events of an SSE response, as they arrive."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event.get("event") == "turnout":
                yield json.loads(event["data"])
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value.removeprefix(" ")


def _settings(tmp_path: Path, redis_url: str | None) -> Settings:
    return make_settings(tmp_path, port=free_port(), redis_url=redis_url)


@pytest.fixture(autouse=True)
def _no_periodic_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a pushed event can deliver the second figures within the client's timeout."""
    monkeypatch.setattr("web.routes.api.turnout.REFRESH_SECONDS", 3600.0)


@pytest.fixture(params=["memory", "redis"])
def channel_redis_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


def test_stream_sends_turnout_then_an_event_after_a_ballot(
    tmp_path: Path, channel_redis_url: str | None
) -> None:
    settings = _settings(tmp_path, channel_redis_url)
    migrate(settings)
    with live_server(settings, seed_demo=True) as server:
        demo = server.app.state.demo
        api = f"{server.url}/api/v1/meetings/{demo.meeting_code}"
        with httpx.Client(timeout=20) as client:
            meeting = client.get(api).json()
            with client.stream("GET", f"{api}/turnout/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = _events(stream)
                first = next(events)
                assert first["ballots"] == 0
                cast = client.post(f"{api}/ballots", json=signed_ballot(meeting, demo.letters[0]))
                assert cast.status_code == 201, cast.text
                second = next(events)
    assert second["ballots"] == 1
    assert second["meeting"] == first["meeting"]
    assert any(scope["voted_heads"] == 1 for scope in second["scopes"])


def test_ballot_on_one_process_reaches_a_subscriber_of_another(
    tmp_path: Path, redis_url: str
) -> None:
    """Two app processes share Redis pub/sub: the event crosses between them."""
    first_settings = _settings(tmp_path, redis_url)
    migrate(first_settings)
    second_settings = make_settings(tmp_path, port=free_port(), redis_url=redis_url)
    with (
        live_server(first_settings, seed_demo=True) as taker,
        live_server(second_settings) as watcher,
    ):
        demo = taker.app.state.demo
        path = f"/api/v1/meetings/{demo.meeting_code}"
        with httpx.Client(timeout=20) as client:
            meeting = client.get(taker.url + path).json()
            with client.stream("GET", f"{watcher.url}{path}/turnout/stream") as stream:
                events = _events(stream)
                assert next(events)["ballots"] == 0
                cast = client.post(
                    f"{taker.url}{path}/ballots", json=signed_ballot(meeting, demo.letters[0])
                )
                assert cast.status_code == 201, cast.text
                assert next(events)["ballots"] == 1


def test_stream_of_unknown_meeting_is_404(tmp_path: Path) -> None:
    settings = _settings(tmp_path, None)
    migrate(settings)
    with live_server(settings) as server, httpx.Client(timeout=10) as client:
        response = client.get(f"{server.url}/api/v1/meetings/NOSUCH/turnout/stream")
    assert response.status_code == 404
    assert response.json()["code"] == "meeting_not_found"
