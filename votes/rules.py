"""The legal thresholds of an owners' vote, as exact fractions.

Civil Code (民法典) art 278 for votes decided from 2021-01-01, Property Law
(物权法) art 76 for recounts of older votes (docs/legal.md §1, §4). Every comparison
is a cross-multiplication of integers, so ``≥ 2/3`` and ``> 1/2`` are exact
at their boundaries (民法典 art 1259: 以上 includes the number, 过半数 excludes
exactly half). Percentages exist only as display strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from votes.model import Rulebook

__all__ = [
    "ITEMS",
    "Requirements",
    "Threshold",
    "format_area",
    "meets",
    "percent",
    "requirements",
]

#: Civil Code art 278 items (1-9). A motion's ``item`` is always numbered this
#: way, also when it is counted under the Property Law rulebook.
ITEMS: tuple[int, ...] = tuple(range(1, 10))

Base = Literal["participating", "total"]


@dataclass(frozen=True, slots=True)
class Threshold:
    """``part / whole`` must be ``> num/den`` (strict) or ``≥ num/den``.

    ``base`` names the denominator: the participating members' area/heads or
    the totals of the motion's scope.
    """

    num: int
    den: int
    strict: bool
    base: Base

    def __post_init__(self) -> None:
        if not 0 < self.num <= self.den:
            raise ValueError(f"threshold fraction must be in (0, 1], got {self.num}/{self.den}")

    @property
    def rule(self) -> str:
        """Display form, e.g. ``"≥ 2/3"`` or ``"> 1/2"``."""
        return f"{'>' if self.strict else '≥'} {self.num}/{self.den}"


@dataclass(frozen=True, slots=True)
class Requirements:
    """What one motion needs: an optional participation quorum and its consent."""

    quorum: Threshold | None
    consent: Threshold


# 参与表决 ≥ 2/3 of the total area and of the total heads (民法典 278 para 2).
_CIVIL_QUORUM = Threshold(2, 3, strict=False, base="total")
# 经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意 (items 6-8).
_CIVIL_SUPER = Threshold(3, 4, strict=False, base="participating")
# 经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意 (other items).
_CIVIL_MAJORITY = Threshold(1, 2, strict=True, base="participating")
# 物权法 76: 2/3 of all area and all heads for the fund and rebuilding ...
_PROPERTY_SUPER = Threshold(2, 3, strict=False, base="total")
# ... and 过半数 of all area and all heads for everything else; no quorum.
_PROPERTY_MAJORITY = Threshold(1, 2, strict=True, base="total")

_CIVIL_SUPER_ITEMS = frozenset({6, 7, 8})
# Civil Code items 5 (use the fund), 6 (raise it) and 7 (rebuild) were 物权法 76
# items (5) and (6); item 8 (change of use of common parts) was not listed and
# fell under "other major matters", which needed a simple majority.
_PROPERTY_SUPER_ITEMS = frozenset({5, 6, 7})


def requirements(rulebook: Rulebook, item: int) -> Requirements:
    """The quorum and consent a motion on Civil Code art 278 ``item`` needs under ``rulebook``."""
    if isinstance(item, bool) or not isinstance(item, int) or item not in ITEMS:
        raise ValueError(f"motion item must be a Civil Code art 278 item 1-9, got {item!r}")
    if rulebook == Rulebook.CIVIL_CODE_2021:
        consent = _CIVIL_SUPER if item in _CIVIL_SUPER_ITEMS else _CIVIL_MAJORITY
        return Requirements(quorum=_CIVIL_QUORUM, consent=consent)
    if rulebook == Rulebook.PROPERTY_LAW_2007:
        consent = _PROPERTY_SUPER if item in _PROPERTY_SUPER_ITEMS else _PROPERTY_MAJORITY
        return Requirements(quorum=None, consent=consent)
    raise ValueError(f"unknown rulebook {rulebook!r}")


def meets(threshold: Threshold, part: int, whole: int) -> bool:
    """Whether ``part / whole`` reaches ``threshold``, by cross-multiplication.

    ``whole == 0`` (nobody in scope, or nobody participating) never meets a
    threshold: it is a failure, not a division by zero.
    """
    if part < 0 or whole < 0:
        raise ValueError(f"counts must be non-negative, got {part}/{whole}")
    if whole == 0:
        return False
    lhs = part * threshold.den
    rhs = threshold.num * whole
    return lhs > rhs if threshold.strict else lhs >= rhs


def percent(part: int, whole: int) -> str | None:
    """``part / whole`` as a percentage string with 2 decimals, for display only.

    Rounded half up (away from zero; both numbers are non-negative) with
    integer arithmetic: 2/3 -> ``"66.67"``, 1/8 -> ``"12.50"``, 1/3 -> ``"33.33"``.
    ``None`` when ``whole`` is 0. Never use it to decide a threshold.
    """
    if part < 0 or whole < 0:
        raise ValueError(f"counts must be non-negative, got {part}/{whole}")
    if whole == 0:
        return None
    hundredths = (part * 20000 + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def format_area(area: int) -> str:
    """An area in 0.01 m² as a decimal string with exactly two decimals, e.g. ``"1234.56"``.

    The one formatter of areas (tally, roster import, verifier, service). Every
    area the system holds is a unit's, positive from the import on, or a sum of
    them, so a negative one is a bug and refused rather than printed.
    """
    if area < 0:
        raise ValueError(f"area must be non-negative, got {area}")
    return f"{area // 100}.{area % 100:02d}"
