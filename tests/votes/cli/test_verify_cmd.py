"""``votes verify`` and ``votes simulate`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
from click.testing import CliRunner

from votes.cli import main
from votes.record.verify import CHECKS


def _simulate(tmp_path: Path) -> Path:
    out = tmp_path / "m.ovb.json"
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--members",
            "12",
            "--motions",
            "3",
            "--seed",
            "4",
            "--out",
            str(out),
            "--receipts",
            str(tmp_path / "receipts"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_verify_of_a_simulated_bundle_passes_with_exit_zero(tmp_path: Path) -> None:
    bundle = _simulate(tmp_path)
    result = CliRunner().invoke(main, ["verify", str(bundle), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("通过 PASS") == len(CHECKS)
    assert "ALL CHECKS PASSED" in result.output


def test_verify_with_a_receipt_file(tmp_path: Path) -> None:
    bundle = _simulate(tmp_path)
    receipt = sorted((tmp_path / "receipts").iterdir())[0]
    result = CliRunner().invoke(main, ["verify", str(bundle), "--receipt", str(receipt)])
    assert result.exit_code == 0, result.output
    assert "1 receipt(s) found" in result.output


def test_tampered_bundle_exits_one_and_names_the_first_failed_check(tmp_path: Path) -> None:
    bundle = _simulate(tmp_path)
    data = msgspec.json.decode(bundle.read_bytes())
    position = next(i for i, e in enumerate(data["entries"]) if e["type"] == "ballot")
    ballot = data["entries"][position]["ballot"]
    ballot["nonce"] = "00" * 16  # the member's signature no longer matches
    bundle.write_bytes(msgspec.json.encode(data))
    result = CliRunner().invoke(main, ["verify", str(bundle)])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    # The latest checkpoint no longer matches the changed entry: check 4 fails first.
    assert "check 4 (checkpoint)" in last


def test_json_output_is_machine_readable(tmp_path: Path) -> None:
    bundle = _simulate(tmp_path)
    result = CliRunner().invoke(main, ["verify", str(bundle), "--json"])
    report = json.loads(result.output)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [c.name for c in CHECKS]


def test_missing_bundle_exits_one_with_check_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "none.ovb.json")])
    assert result.exit_code == 1
    assert "check 1 (bundle)" in result.output


def test_unreadable_receipt_is_a_usage_error(tmp_path: Path) -> None:
    bundle = _simulate(tmp_path)
    bad = tmp_path / "r.json"
    bad.write_text("{}")
    result = CliRunner().invoke(main, ["verify", str(bundle), "--receipt", str(bad)])
    assert result.exit_code == 2
