"""The bundle file: written and read back, refused when it is not a bundle."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from votes.record.bundle import BundleError, decode_bundle, encode_bundle, read_bundle, write_bundle
from votes.record.entries import decode_entry
from votes.record.simulate import Simulation


def test_bundle_round_trips_through_a_file(sim: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "meeting.ovb.json"
    write_bundle(sim.bundle, path)
    again = read_bundle(path)
    assert encode_bundle(again) == encode_bundle(sim.bundle)
    assert [decode_entry(bytes(raw)) for raw in again.entries] == list(sim.entries)


def test_bundle_top_level_fields(sim: Simulation) -> None:
    data = msgspec.json.decode(encode_bundle(sim.bundle))
    assert set(data) == {
        "format",
        "v",
        "meeting",
        "origin",
        "service_key",
        "officers",
        "entries",
        "checkpoint",
        "checkpoints",
    }
    assert data["format"] == "owner-vote-bundle"
    assert data["v"] == 1
    assert all(set(c) == {"note", "consistency"} for c in data["checkpoints"])


def test_pretty_printed_bundle_still_reads(sim: Simulation) -> None:
    pretty = msgspec.json.format(encode_bundle(sim.bundle), indent=2)
    again = decode_bundle(pretty)
    assert [decode_entry(bytes(raw)) for raw in again.entries] == list(sim.entries)


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b'{"format": "zip"}', b"\xff\xfe"],
    ids=["empty", "array", "wrong-format", "binary"],
)
def test_non_bundles_are_refused(data: bytes) -> None:
    with pytest.raises(BundleError):
        decode_bundle(data)


def test_other_bundle_version_is_refused(sim: Simulation) -> None:
    data = msgspec.json.decode(encode_bundle(sim.bundle))
    data["v"] = 2
    with pytest.raises(BundleError, match="version"):
        decode_bundle(msgspec.json.encode(data))


def test_missing_file_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read"):
        read_bundle(tmp_path / "nope.ovb.json")
