"""Entry types: canonical bytes, parsing, roster wire form, key history, tally rows."""

from __future__ import annotations

import gc
import hashlib
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import CanonicalError, canonical_json
from crypto.merkle import leaf_hash
from crypto.signing import Domain, SigningKey
from votes.model import Channel, Unit, UnitStatus
from votes.record.entries import (
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    EntryError,
    KeyBook,
    KeyBookError,
    MeetingSettings,
    NoticeEntry,
    PaperBallotEntry,
    TallyEntry,
    closing_entry,
    credential_change_entry_body,
    decode_entry,
    entry_bytes,
    entry_hash,
    owner_tag,
    paper_ballot_entry,
    parse_entry,
    roster_from_wire,
    roster_root,
    roster_to_wire,
    signed_entry_body,
    tally_entry,
    tally_rows,
)
from votes.record.simulate import Simulation
from votes.record.wire import (
    all_calendar_times,
    all_hex,
    canonical,
    format_time,
    is_hex,
    parse_time,
    strict_canonical,
)
from votes.roster import group_members

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
SERVICE = SigningKey.from_seed(b"\x05" * 32)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(max_codepoint=127), max_size=6), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_canonical_encoders_equal_the_reference(value: object) -> None:
    expected = canonical_json(value)
    assert canonical(value) == expected
    assert strict_canonical(value) == expected


@pytest.mark.parametrize(
    "bad", [1.5, 2**53, {"é": 1}, {1: 2}, [b"x"], ["x", "y", 1.5], ["x", ["y", 2**53]]]
)
def test_strict_canonical_refuses_what_canonical_json_refuses(bad: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json(bad)
    with pytest.raises(CanonicalError):
        strict_canonical(bad)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([], True),
        (["00" * 32, "ab" * 16], True),
        (["00" * 32, "AB" * 16], False),
        (["0 " * 32], False),
        (["zz"], False),
    ],
)
def test_all_hex_is_is_hex_of_every_text(texts: list[str], expected: bool) -> None:
    assert all_hex(texts) is expected
    assert all(is_hex(text, len(text)) for text in texts) is expected


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-28T23:59:59Z",
        "2024-02-29T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "2025-01-01T00:60:00Z",
        "2025-01-01T00:00:60Z",
    ],
)
def test_all_calendar_times_accepts_exactly_what_parse_time_accepts(text: str) -> None:
    try:
        parse_time(text)
    except ValueError:
        parses = False
    else:
        parses = True
    assert all_calendar_times(["2025-03-16T01:33:42Z", text]) is parses


def test_every_simulated_entry_encodes_as_reference_canonical_json(sim: Simulation) -> None:
    for entry in sim.entries:
        assert entry_bytes(entry) == canonical_json(msgspec.to_builtins(entry))


def test_entry_hash_is_the_rfc9162_leaf_hash_of_the_bytes(sim: Simulation) -> None:
    entry = sim.entries[3]
    expected = hashlib.sha256(b"\x00" + canonical_json(msgspec.to_builtins(entry))).digest()
    assert entry_hash(entry) == expected == leaf_hash(entry_bytes(entry))


def test_decoded_notice_is_not_tracked_by_the_cyclic_collector(sim: Simulation) -> None:
    notice = decode_entry(entry_bytes(sim.entries[0]))
    assert isinstance(notice, NoticeEntry)
    member = notice.roster.members[0]
    assert not any(gc.is_tracked(o) for o in (notice, notice.roster, member, member.units[0]))


def test_entries_round_trip_through_bytes(sim: Simulation) -> None:
    for entry in sim.entries:
        assert decode_entry(entry_bytes(entry)) == entry


def test_every_entry_carries_the_common_fields(sim: Simulation) -> None:
    for position, entry in enumerate(sim.entries):
        data = msgspec.to_builtins(entry)
        assert {"v", "type", "meeting", "index", "time"} <= set(data)
        assert data["index"] == position
        assert data["v"] == 1


def test_unknown_field_is_refused() -> None:
    entry = closing_entry(meeting="m", index=3, time=T0, closed_at=T0)
    data = msgspec.to_builtins(entry) | {"surprise": 1}
    with pytest.raises(EntryError, match="surprise"):
        parse_entry(data)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(EntryError):
        decode_entry(
            b'{"v":1,"type":"party","meeting":"m","index":0,"time":"2025-01-01T00:00:00Z"}'
        )


def test_float_in_an_entry_is_refused() -> None:
    data = b'{"v":1,"type":"closing","meeting":"m","index":1.0,"time":"2025-01-01T00:00:00Z",'
    data += b'"closed_at":"2025-01-01T00:00:00Z","log_size":2}'
    with pytest.raises(EntryError):
        decode_entry(data)


def test_other_entry_version_is_refused() -> None:
    entry = closing_entry(meeting="m", index=3, time=T0, closed_at=T0)
    with pytest.raises(EntryError, match="version"):
        parse_entry(msgspec.to_builtins(entry) | {"v": 2})


def test_closing_log_size_counts_the_closing_entry() -> None:
    assert closing_entry(meeting="m", index=41, time=T0, closed_at=T0).log_size == 42


def test_record_times_are_utc_seconds() -> None:
    shanghai = datetime(2025, 5, 1, 16, 0, 30, 999, tzinfo=UTC) + timedelta(0)
    assert format_time(shanghai) == "2025-05-01T16:00:30Z"
    assert parse_time("2025-05-01T16:00:30Z") == datetime(2025, 5, 1, 16, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2025, 5, 1))
    with pytest.raises(ValueError, match="YYYY"):
        parse_time("2025-05-01 16:00:30")


def test_paper_ballot_signature_covers_the_entry_without_it() -> None:
    entry = paper_ballot_entry(
        meeting="m",
        index=9,
        time=T0,
        member="member:1-101",
        choices={"fee": "agree"},
        sheet=b"scan",
        staff="staff-7",
        entered_at=T0,
        service_key=SERVICE,
    )
    unsigned = msgspec.to_builtins(entry)
    del unsigned["signature"]
    body = canonical_json(unsigned)
    assert signed_entry_body(entry) == body
    assert SERVICE.public_key.verify(Domain.PAPER_BALLOT, body, bytes.fromhex(entry.signature))
    assert entry.sheet == hashlib.sha256(b"scan").hexdigest()


def test_tally_signature_covers_the_entry_without_it() -> None:
    entry = tally_entry(
        meeting="m",
        index=20,
        time=T0,
        inputs_size=19,
        inputs_root=b"\x01" * 32,
        result={"version": 1, "motions": []},
        service_key=SERVICE,
    )
    unsigned = msgspec.to_builtins(entry)
    del unsigned["signature"]
    assert SERVICE.public_key.verify(
        Domain.TALLY, canonical_json(unsigned), bytes.fromhex(entry.signature)
    )


def test_tally_result_with_a_float_cannot_be_encoded() -> None:
    with pytest.raises(CanonicalError):
        tally_entry(
            meeting="m",
            index=20,
            time=T0,
            inputs_size=19,
            inputs_root=b"\x01" * 32,
            result={"share": 0.5},
            service_key=SERVICE,
        )


def _units() -> list[Unit]:
    return [
        Unit(number="1-101", building="1", area=8950, owners=frozenset({"Ann"})),
        Unit(number="1-102", building="1", area=10000, owners=frozenset({"Ann"})),
        Unit(number="1-201", building="1", area=7000, owners=frozenset({"Bo", "Cy"})),
        Unit(
            number="2-101",
            building="2",
            area=6000,
            owners=frozenset({"Dev"}),
            status=UnitStatus.UNSOLD,
        ),
    ]


def _keys(ids: list[str]) -> dict[str, object]:
    return {i: SigningKey.from_seed(bytes([n + 1]) * 32).public_key for n, i in enumerate(ids)}


def test_roster_wire_form_hides_owner_names_but_keeps_grouping() -> None:
    roster = group_members(_units())
    wire = roster_to_wire(roster, keys=_keys([m.id for m in roster.members]), salt=b"salt")  # type: ignore[arg-type]
    text = msgspec.json.encode(wire).decode()
    assert "Ann" not in text
    assert "Bo" not in text
    regrouped = group_members([u for m in roster_from_wire(wire).members for u in m.units])
    assert [(m.id, [u.number for u in m.units]) for m in regrouped.members] == [
        (m.id, [u.number for u in m.units]) for m in roster.members
    ]


def test_roster_root_is_sha256_of_the_reference_canonical_roster() -> None:
    roster = group_members(_units())
    wire = roster_to_wire(roster, keys=_keys([m.id for m in roster.members]), salt=b"s")  # type: ignore[arg-type]
    expected = hashlib.sha256(canonical_json(msgspec.to_builtins(wire))).hexdigest()
    assert roster_root(wire) == expected


def test_roster_areas_are_integer_centiares_in_the_wire_form() -> None:
    roster = group_members(_units())
    wire = roster_to_wire(roster, keys=_keys([m.id for m in roster.members]), salt=b"s")  # type: ignore[arg-type]
    areas = {
        u["number"]: u["area"] for m in msgspec.to_builtins(wire)["members"] for u in m["units"]
    }
    assert areas["1-101"] == 8950


def test_owner_tags_are_keyed_hmacs() -> None:
    assert owner_tag("Ann", salt=b"a") != owner_tag("Ann", salt=b"b")
    assert len(owner_tag("Ann", salt=b"a")) == 16


# The key book follows the key rules only; the officer's evidence is check 9's business.
_EVIDENCE = {
    "request": "00" * 32,
    "officer": "officer",
    "key_id": "00000000",
    "signature": "00" * 64,
}


def _book(sim: Simulation) -> tuple[KeyBook, NoticeEntry]:
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    return KeyBook.from_roster(notice.roster), notice


def test_key_book_revocation_then_replacement(sim: Simulation) -> None:
    book, notice = _book(sim)
    member = notice.roster.members[7]
    old = member.key
    new = SigningKey.from_seed(b"\x0a" * 32).public_key
    book.apply(
        CredentialRevokedEntry(
            v=1,
            meeting="m",
            index=1,
            time="2025-01-01T00:00:00Z",
            member=member.id,
            key=old,
            reason="lost",
            **_EVIDENCE,
        )
    )
    assert book.is_revoked(old)
    assert book.member_for_key(old) is None
    book.apply(
        CredentialReplacedEntry(
            v=1,
            meeting="m",
            index=2,
            time="2025-01-01T00:00:00Z",
            member=member.id,
            old_key=old,
            new_key=new.hex(),
            reason="new letter",
            **_EVIDENCE,
        )
    )
    assert book.member_for_key(new.hex()) == member.id
    assert book.member_for_key(old) is None


def test_key_book_refuses_revoking_someone_elses_key(sim: Simulation) -> None:
    book, notice = _book(sim)
    a, b = notice.roster.members[3], notice.roster.members[4]
    entry = CredentialRevokedEntry(
        v=1,
        meeting="m",
        index=1,
        time="2025-01-01T00:00:00Z",
        member=a.id,
        key=b.key,
        reason="x",
        **_EVIDENCE,
    )
    with pytest.raises(KeyBookError):
        book.apply(entry)


def test_key_book_refuses_reissuing_a_key(sim: Simulation) -> None:
    book, notice = _book(sim)
    a, b = notice.roster.members[3], notice.roster.members[4]
    entry = CredentialReplacedEntry(
        v=1,
        meeting="m",
        index=1,
        time="2025-01-01T00:00:00Z",
        member=a.id,
        old_key=a.key,
        new_key=b.key,
        reason="x",
        **_EVIDENCE,
    )
    with pytest.raises(KeyBookError, match="already issued"):
        book.apply(entry)


def test_tally_rows_credit_replacement_keys_to_their_member(sim: Simulation) -> None:
    notice = sim.entries[0]
    assert isinstance(notice, NoticeEntry)
    replaced = next(e for e in sim.entries if isinstance(e, CredentialReplacedEntry))
    rows = tally_rows(sim.entries)
    assert any(r.member_id == replaced.member for r in rows)
    paper = next(e for e in sim.entries if isinstance(e, PaperBallotEntry))
    assert {r.channel for r in rows if r.seq == paper.index} == {Channel.PAPER}


def test_tally_settings_follow_the_meeting_settings() -> None:
    settings = MeetingSettings(include_parking=True)
    assert settings.tally_settings().include_parking_area is True


def test_tally_entry_type_is_tally(sim: Simulation) -> None:
    assert sum(isinstance(e, TallyEntry) for e in sim.entries) == 1


def test_revocation_body_names_no_new_key(sim: Simulation) -> None:
    revoked = next(e for e in sim.entries if isinstance(e, CredentialRevokedEntry))
    body = msgspec.json.decode(credential_change_entry_body(revoked))
    assert body["new_key"] is None
    assert body["old_key"] == revoked.key


def test_replacement_body_is_what_the_simulated_officer_signed(sim: Simulation) -> None:
    replaced = next(e for e in sim.entries if isinstance(e, CredentialReplacedEntry))
    assert sim.officer_key.public_key.verify(
        Domain.CREDENTIAL_CHANGE,
        credential_change_entry_body(replaced),
        bytes.fromhex(replaced.signature),
    )
