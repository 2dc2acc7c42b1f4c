"""Canonical JSON against the cyberphone RFC 8785 vectors and the rfc8785 package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_json, loads_canonical


class _HasFloatError(Exception):
    pass


def _parse_float(text: str) -> float:
    raise _HasFloatError(text)


def _keys_ascii(value: Any) -> bool:
    if isinstance(value, dict):
        return all(k.isascii() and _keys_ascii(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_keys_ascii(v) for v in value)
    return True


def _jcs_dir(shared_testdata: Path) -> Path:
    return shared_testdata / "external" / "jcs-cyberphone"


def _classify(shared_testdata: Path) -> dict[str, str]:
    """Name -> 'subset' | 'float' | 'non-ascii-key' for every cyberphone input."""
    kinds: dict[str, str] = {}
    for path in sorted((_jcs_dir(shared_testdata) / "input").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        try:
            value = json.loads(text, parse_float=_parse_float)
        except _HasFloatError:
            kinds[path.name] = "float"
            continue
        kinds[path.name] = "subset" if _keys_ascii(value) else "non-ascii-key"
    return kinds


def test_cyberphone_vectors_in_our_subset_are_reproduced_byte_for_byte(
    shared_testdata: Path,
) -> None:
    kinds = _classify(shared_testdata)
    used = [name for name, kind in kinds.items() if kind == "subset"]
    # Of the 6 published inputs, those without floats and with ASCII keys: arrays, unicode.
    assert len(used) >= 2
    for name in used:
        source = (_jcs_dir(shared_testdata) / "input" / name).read_text(encoding="utf-8")
        expected = (_jcs_dir(shared_testdata) / "output" / name).read_bytes()
        assert canonical_json(json.loads(source)) == expected, name
        assert loads_canonical(expected) == json.loads(source), name


def test_cyberphone_inputs_with_floats_are_refused_naming_the_float(
    shared_testdata: Path,
) -> None:
    kinds = _classify(shared_testdata)
    with_floats = [name for name, kind in kinds.items() if kind == "float"]
    assert with_floats
    for name in with_floats:
        source = (_jcs_dir(shared_testdata) / "input" / name).read_text(encoding="utf-8")
        with pytest.raises(CanonicalError, match="float"):
            canonical_json(json.loads(source))


def test_cyberphone_inputs_with_non_ascii_keys_are_refused(shared_testdata: Path) -> None:
    kinds = _classify(shared_testdata)
    non_ascii = [name for name, kind in kinds.items() if kind == "non-ascii-key"]
    assert non_ascii
    for name in non_ascii:
        source = (_jcs_dir(shared_testdata) / "input" / name).read_text(encoding="utf-8")
        with pytest.raises(CanonicalError, match="not ASCII"):
            canonical_json(json.loads(source))


def test_cyberphone_string_escapes_match_the_published_output(shared_testdata: Path) -> None:
    # values.json mixes floats with a string exercising every escape rule; its
    # "string" member is the last one of the output object, so its canonical
    # bytes are the output between '"string":' and the closing brace.
    source = json.loads((_jcs_dir(shared_testdata) / "input" / "values.json").read_bytes())
    output = (_jcs_dir(shared_testdata) / "output" / "values.json").read_bytes()
    marker = b'"string":'
    expected = output[output.index(marker) + len(marker) : output.rindex(b"}")]
    assert canonical_json(source["string"]) == expected
    assert canonical_json(source["literals"]) == b"[null,true,false]"


def test_keys_are_sorted_by_code_point() -> None:
    assert canonical_json({"b": 1, "a": 2, "A": 3, "": 0, "aa": 4}) == (
        b'{"":0,"A":3,"a":2,"aa":4,"b":1}'
    )


def test_chinese_string_values_are_emitted_as_utf8() -> None:
    value = {"title": "更换物业服务企业", "choices": ["同意", "反对", "弃权"]}
    expected = '{"choices":["同意","反对","弃权"],"title":"更换物业服务企业"}'.encode()
    assert canonical_json(value) == expected
    assert loads_canonical(expected) == value


def test_only_mandatory_characters_are_escaped() -> None:
    value = '\x00\x08\t\n\x0c\r\x1f"\\/\x7f\u2028é😂'
    expected = '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\x7f\u2028é😂"'.encode()
    assert canonical_json(value) == expected


def test_integer_limits() -> None:
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    for bad in (2**53, -(2**53), 10**30):
        with pytest.raises(CanonicalError, match=str(bad)):
            canonical_json(bad)


def test_error_names_the_path_of_the_bad_value() -> None:
    with pytest.raises(CanonicalError, match=r"\$\.choices\[1\]"):
        canonical_json({"choices": [1, 2.5]})
    with pytest.raises(CanonicalError, match=r"\$\.a\.b"):
        canonical_json({"a": {"b": 2**60}})


@pytest.mark.parametrize(
    "value",
    [1.0, float("nan"), b"bytes", {1, 2}, {1: "int key"}, {"ключ": 1}, object()],
    ids=["float", "nan", "bytes", "set", "int-key", "non-ascii-key", "object"],
)
def test_values_outside_the_subset_are_refused(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json(value)


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(CanonicalError, match="surrogate"):
        canonical_json({"a": "\ud800"})


def test_self_containing_list_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(CanonicalError, match="contains itself"):
        canonical_json(loop)


def test_tuples_encode_as_arrays_and_bools_are_not_integers() -> None:
    assert canonical_json((True, False, None, 0)) == b"[true,false,null,0]"


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":1}',
        b'"\\u0041"',
        b'"\\/"',
        b'"\\u000A"',
        b'"\\u000a"',
        b'"\\u001F"',
        b'"\\u20ac"',
        b'"\\ud83d\\ude02"',
        b'"\\ud800"',
        b"1.0",
        b"1e3",
        b'{"a":0.5}',
        b"-0",
        b"01",
        b"9007199254740992",
        b"NaN",
        b"Infinity",
        b'"\xff"',
        b'"\x01"',
        b'\xef\xbb\xbf{"a":1}',
        b'{"\xc3\xa9":1}',
        b"",
        b"[1,]",
    ],
)
def test_loads_canonical_rejects_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        loads_canonical(data)


def test_loads_canonical_names_duplicate_keys() -> None:
    with pytest.raises(CanonicalError, match="duplicate object key 'a'"):
        loads_canonical(b'{"a":1,"a":1}')


def test_loads_canonical_accepts_canonical_escapes() -> None:
    assert loads_canonical(b'"\\u001f\\n\\"\\\\"') == '\x1f\n"\\'


_ascii_keys = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=6)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_ascii_keys, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_json_values)
def test_matches_rfc8785_package(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=200)
@given(_json_values)
def test_loads_canonical_round_trips(value: object) -> None:
    assert loads_canonical(canonical_json(value)) == value


@settings(max_examples=200)
@given(st.dictionaries(_ascii_keys, _json_values, min_size=1, max_size=4))
def test_loads_canonical_rejects_spaced_json(value: dict[str, object]) -> None:
    spaced = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    with pytest.raises(CanonicalError):
        loads_canonical(spaced.encode())
