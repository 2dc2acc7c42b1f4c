"""End to end in a real browser: the ballot page derives the key, signs, and the ballot is logged.

Needs Chromium (Debian package ``chromium``) and the Python package ``playwright``
(its bundled browsers are not used); skipped when either is missing, failed in
CI (VOTES_TEST_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import migrate
from tests.web.conftest import make_settings
from tests.web.live_server import LiveServer, free_port, live_server
from tests.web.support import check_inclusion
from votes.record.ballot import decode_ballot
from votes.record.bundle import decode_bundle
from votes.record.entries import BallotEntry, decode_entry

CHROMIUM = os.environ.get("VOTES_TEST_CHROMIUM", "/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("VOTES_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional package
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One demo server for the module (each test uses its own demo letter)."""
    settings = make_settings(tmp_path_factory.mktemp("browser"), port=free_port())
    migrate(settings)
    with live_server(settings, seed_demo=True) as running:
        yield running


def test_phone_votes_from_the_qr_link_and_the_ballot_is_in_the_log(
    browser: Any, server: LiveServer
) -> None:
    demo = server.app.state.demo
    letter = demo.letters[0]
    page = browser.new_page(locale="zh-CN")
    page.goto(letter.url.replace(str(demo.base_url), server.url))
    page.wait_for_selector("#ballot:not([hidden])", timeout=15000)
    assert "#k=" not in page.url  # the code left the address bar
    for group in page.query_selector_all("#ballot-form fieldset"):
        group.query_selector("input").check()
    page.click("#submit")
    page.wait_for_selector("#receipt:not([hidden])", timeout=15000)
    tracking = page.inner_text("#tracking")
    ballot_hash = page.inner_text("#receipt-hash")
    assert page.inner_text("#receipt-warning") == ""
    page.close()

    api = f"{server.url}/api/v1/meetings/{demo.meeting_code}"
    with httpx.Client(timeout=20) as client:
        proof = client.get(f"{api}/proof/inclusion", params={"hash": ballot_hash})
        assert proof.status_code == 200, proof.text
        bundle = decode_bundle(client.get(f"{api}/bundle").content)
    data = proof.json()
    check_inclusion(data)
    entry = decode_entry(bytes(bundle.entries[data["index"]]))
    assert isinstance(entry, BallotEntry)
    assert entry.ballot.member == letter.public_key
    assert tracking.replace("-", "") in _tracking_source(ballot_hash)


def _tracking_source(ballot_hash: str) -> str:
    return base64.b32encode(bytes.fromhex(ballot_hash)).decode()[:10]


def test_typed_code_with_a_typo_is_refused_by_the_check_symbol(
    browser: Any, server: LiveServer
) -> None:
    demo = server.app.state.demo
    code = demo.letters[0].code
    typo = code[:3] + ("A" if code[3] != "A" else "B") + code[4:]
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{server.url}/b/{demo.meeting_code}")
    page.wait_for_selector("#code-entry:not([hidden])")
    page.fill("#code", typo)
    page.click("#code-form button")
    page.wait_for_function("document.getElementById('code-error').textContent.length > 0")
    assert "校验失败" in page.inner_text("#code-error")
    assert page.is_hidden("#ballot")
    page.close()


def test_typed_code_with_dashes_and_lower_case_is_accepted(
    browser: Any, server: LiveServer
) -> None:
    demo = server.app.state.demo
    page = browser.new_page()
    page.goto(f"{server.url}/b/{demo.meeting_code}?lang=en")
    page.wait_for_selector("#code-entry:not([hidden])")
    page.fill("#code", demo.letters[1].display.lower())
    page.click("#code-form button")
    page.wait_for_selector("#ballot:not([hidden])", timeout=15000)
    assert page.inner_text("#submit") == "Submit ballot"
    page.close()


def test_browser_without_ed25519_webcrypto_is_told_the_alternatives(
    browser: Any, server: LiveServer
) -> None:
    demo = server.app.state.demo
    page = browser.new_page(locale="zh-CN")
    # Simulate an older browser: importing an Ed25519 key fails.
    page.add_init_script(
        "const real = crypto.subtle.importKey.bind(crypto.subtle);"
        "crypto.subtle.importKey = (f, k, alg, e, u) => (alg && alg.name === 'Ed25519')"
        " ? Promise.reject(new DOMException('not supported', 'NotSupportedError'))"
        " : real(f, k, alg, e, u);"
    )
    page.goto(demo.letters[2].url.replace(str(demo.base_url), server.url))
    page.wait_for_selector("#unsupported:not([hidden])", timeout=15000)
    assert "纸质选票" in page.inner_text("#unsupported")
    assert page.is_hidden("#ballot")
    page.close()


def test_signature_made_in_the_browser_matches_the_credential_vectors(
    browser: Any, server: LiveServer, shared_testdata: Path
) -> None:
    """The page's key derivation and signing agree with the published vectors."""
    vectors = json.loads((shared_testdata / "credential_vectors.json").read_text())["vectors"]
    page = browser.new_page()
    page.goto(f"{server.url}/b/{server.app.state.demo.meeting_code}")
    for vector in vectors:
        result = page.evaluate(
            """async ([meetingId, secretHex, message]) => {
                const hexToBytes = h => Uint8Array.from(h.match(/../g).map(x => parseInt(x, 16)));
                const enc = new TextEncoder();
                const material = new Uint8Array([...enc.encode("owner-vote/credential/v1"), 0,
                    ...enc.encode(meetingId), 0, ...hexToBytes(secretHex)]);
                const seed = new Uint8Array(await crypto.subtle.digest("SHA-256", material));
                const prefix = [0x30,0x2e,0x02,0x01,0x00,0x30,0x05,0x06,0x03,0x2b,0x65,0x70,
                                0x04,0x22,0x04,0x20];
                const key = await crypto.subtle.importKey("pkcs8",
                    new Uint8Array([...prefix, ...seed]), {name: "Ed25519"}, true, ["sign"]);
                const jwk = await crypto.subtle.exportKey("jwk", key);
                const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", key,
                    new Uint8Array([...enc.encode("owner-vote/ballot/v1"), 0,
                                    ...enc.encode(message)])));
                const hex = b => Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
                return {seed: hex(seed), x: jwk.x, sig: hex(sig)};
            }""",
            [vector["meeting_id"], vector["secret_hex"], vector["example_message_utf8"]],
        )
        assert result["seed"] == vector["seed_hex"]
        assert result["sig"] == vector["signature_hex"]
    page.close()


def test_ballot_page_weighs_well_under_150_kb(server: LiveServer) -> None:
    demo = server.app.state.demo
    with httpx.Client(timeout=10) as client:
        html = client.get(f"{server.url}/b/{demo.meeting_code}")
        script = client.get(f"{server.url}/static/ballot.js")
    assert html.status_code == 200
    assert script.status_code == 200
    total = len(html.content) + len(script.content)
    assert total < 50 * 1024, total


def test_ballot_bytes_from_the_browser_are_canonical(browser: Any, server: LiveServer) -> None:
    """A ballot with Chinese candidate names, built by the page's JCS, decodes as canonical."""
    page = browser.new_page()
    page.goto(f"{server.url}/b/{server.app.state.demo.meeting_code}")
    # The page's canonical() is private; rebuild the same object through JSON round trips.
    text = page.evaluate(
        """() => {
            function canonical(v) {
              if (typeof v === "string") return JSON.stringify(v);
              if (typeof v === "number") return String(v);
              if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
              return "{" + Object.keys(v).sort().map(
                k => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
            }
            return canonical({v: 1, nonce: "00112233445566778899aabbccddeeff",
              roster_root: "ab".repeat(32), member: "cd".repeat(32), meeting: "华府-1",
              choices: {"m2": ["张三", "李四"], "m1": "agree", "m10": "abstain\\u2028\\"x"}});
        }"""
    )
    page.close()
    decode_ballot(text.encode())  # raises unless the bytes are the canonical form
