"""Year-over-year comparison as the reports print it."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from migrex.stats import Unavailable, compare, round_half_away


def test_the_reported_fall_is_minus_18_point_6_percent() -> None:
    change = compare(2623, 2134)
    assert change.absolute == -489
    assert change.percent == Decimal("-18.6")
    assert str(change.percent) == "-18.6"
    assert change.reason is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1865, 100), "18.7"),
        (Fraction(-1865, 100), "-18.7"),
        (Fraction(1864999, 100000), "18.6"),
        (Fraction(5, 100), "0.1"),
        (Fraction(-5, 100), "-0.1"),
        (Fraction(0), "0.0"),
    ],
)
def test_halves_round_away_from_zero(value: Fraction, expected: str) -> None:
    assert str(round_half_away(value, 1)) == expected


def test_a_zero_base_has_a_change_but_no_percentage() -> None:
    change = compare(0, 12)
    assert change.absolute == 12
    assert change.percent is None
    assert change.reason is Unavailable.ZERO_BASE


def test_suppressed_values_are_not_compared() -> None:
    assert compare(None, 12).reason is Unavailable.PREVIOUS_SUPPRESSED
    missing = compare(12, None)
    assert missing.reason is Unavailable.CURRENT_SUPPRESSED
    assert missing.absolute is None
    assert missing.percent is None


def test_growth_and_more_decimals() -> None:
    assert compare(3, 4).percent == Decimal("33.3")
    assert compare(3, 4, decimals=2).percent == Decimal("33.33")
    assert compare(8, 9).percent == Decimal("12.5")
