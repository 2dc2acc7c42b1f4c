"""The legal thresholds (docs/legal.md §1, §4) and their exact comparison."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from votes.model import Rulebook
from votes.rules import Threshold, format_area, meets, percent, requirements

# Written from docs/legal.md §1's table and §4, not from the code.
CIVIL_CONSENT = {
    1: (1, 2, True),
    2: (1, 2, True),
    3: (1, 2, True),
    4: (1, 2, True),
    5: (1, 2, True),
    6: (3, 4, False),
    7: (3, 4, False),
    8: (3, 4, False),
    9: (1, 2, True),
}
PROPERTY_CONSENT = {
    1: (1, 2, True),
    2: (1, 2, True),
    3: (1, 2, True),
    4: (1, 2, True),
    5: (2, 3, False),  # using the fund
    6: (2, 3, False),  # raising the fund
    7: (2, 3, False),  # rebuilding
    8: (1, 2, True),  # change of use: "other major matters" before 2021
    9: (1, 2, True),
}


@pytest.mark.parametrize("item", range(1, 10))
def test_civil_code_quorum_is_two_thirds_of_totals_for_every_item(item: int) -> None:
    quorum = requirements(Rulebook.CIVIL_CODE_2021, item).quorum
    assert quorum == Threshold(2, 3, strict=False, base="total")


@pytest.mark.parametrize(("item", "expected"), CIVIL_CONSENT.items())
def test_civil_code_consent_per_item_is_of_participating(
    item: int, expected: tuple[int, int, bool]
) -> None:
    consent = requirements(Rulebook.CIVIL_CODE_2021, item).consent
    assert (consent.num, consent.den, consent.strict, consent.base) == (*expected, "participating")


@pytest.mark.parametrize(("item", "expected"), PROPERTY_CONSENT.items())
def test_property_law_consent_per_item_is_of_totals_without_quorum(
    item: int, expected: tuple[int, int, bool]
) -> None:
    need = requirements(Rulebook.PROPERTY_LAW_2007, item)
    assert need.quorum is None
    consent = need.consent
    assert (consent.num, consent.den, consent.strict, consent.base) == (*expected, "total")


@pytest.mark.parametrize("item", [0, 10, -1, True])
def test_requirements_refuses_an_item_outside_1_to_9(item: int) -> None:
    with pytest.raises(ValueError, match="item"):
        requirements(Rulebook.CIVIL_CODE_2021, item)


TWO_THIRDS = Threshold(2, 3, strict=False, base="total")
THREE_QUARTERS = Threshold(3, 4, strict=False, base="participating")
HALF_STRICT = Threshold(1, 2, strict=True, base="participating")


@pytest.mark.parametrize(
    ("threshold", "part", "whole", "expected"),
    [
        (TWO_THIRDS, 200000, 300000, True),  # exactly 2/3 is 以上
        (TWO_THIRDS, 199999, 300000, False),  # 0.01 m² short
        (TWO_THIRDS, 200001, 300000, True),
        (TWO_THIRDS, 2, 3, True),
        (TWO_THIRDS, 1, 2, False),
        (THREE_QUARTERS, 60000, 80000, True),  # exactly 3/4
        (THREE_QUARTERS, 59999, 80000, False),
        (THREE_QUARTERS, 60001, 80000, True),
        (HALF_STRICT, 40000, 80000, False),  # exactly half is not 过半数
        (HALF_STRICT, 40001, 80000, True),
        (HALF_STRICT, 39999, 80000, False),
        (HALF_STRICT, 1, 1, True),
    ],
)
def test_meets_at_the_boundaries(
    threshold: Threshold, part: int, whole: int, expected: bool
) -> None:
    assert meets(threshold, part, whole) is expected


@pytest.mark.parametrize("threshold", [TWO_THIRDS, THREE_QUARTERS, HALF_STRICT])
def test_meets_with_nothing_to_divide_by_fails_instead_of_raising(threshold: Threshold) -> None:
    assert meets(threshold, 0, 0) is False


def test_meets_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        meets(HALF_STRICT, -1, 10)


@given(
    num=st.integers(1, 10),
    extra=st.integers(0, 10),
    strict=st.booleans(),
    part=st.integers(0, 10**12),
    whole=st.integers(1, 10**12),
)
@settings(max_examples=300)
def test_meets_agrees_with_fraction_comparison(
    num: int, extra: int, strict: bool, part: int, whole: int
) -> None:
    threshold = Threshold(num, num + extra, strict=strict, base="total")
    ratio, limit = Fraction(part, whole), Fraction(num, num + extra)
    assert meets(threshold, part, whole) is (ratio > limit if strict else ratio >= limit)


def test_threshold_rule_text() -> None:
    assert TWO_THIRDS.rule == "≥ 2/3"
    assert HALF_STRICT.rule == "> 1/2"


def test_threshold_refuses_a_fraction_outside_0_1() -> None:
    with pytest.raises(ValueError, match="3/2"):
        Threshold(3, 2, strict=False, base="total")


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (2, 3, "66.67"),
        (1, 3, "33.33"),
        (1, 8, "12.50"),
        (1, 800, "0.13"),  # 0.125 rounds half up
        (1, 1600, "0.06"),  # 0.0625
        (0, 5, "0.00"),
        (5, 5, "100.00"),
        (200000, 300000, "66.67"),
    ],
)
def test_percent_rounds_half_up_to_two_decimals(part: int, whole: int, expected: str) -> None:
    assert percent(part, whole) == expected


def test_percent_of_nothing_is_none() -> None:
    assert percent(0, 0) is None


@given(part=st.integers(0, 10**9), whole=st.integers(1, 10**9))
@settings(max_examples=300)
def test_percent_matches_decimal_round_half_up(part: int, whole: int) -> None:
    expected = (Decimal(part) * 100 / Decimal(whole)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    # Decimal division is rounded to 28 digits; exact enough for these magnitudes.
    assert percent(part, whole) == str(expected)


@pytest.mark.parametrize(
    ("area", "text"), [(0, "0.00"), (1, "0.01"), (100, "1.00"), (123456, "1234.56"), (10, "0.10")]
)
def test_format_area_has_exactly_two_decimals(area: int, text: str) -> None:
    assert format_area(area) == text
