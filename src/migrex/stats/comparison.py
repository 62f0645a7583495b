"""Year-over-year comparison of two published values, rounded the way the reports round.

(2,134 − 2,623) / 2,623 = −18.6 %: the change in percent to one decimal, halves away from zero,
computed in exact fractions so that no binary rounding can move a half.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction


class Unavailable(StrEnum):
    """Why part of a comparison is missing."""

    PREVIOUS_SUPPRESSED = "previous-suppressed"
    CURRENT_SUPPRESSED = "current-suppressed"
    ZERO_BASE = "zero-base"


@dataclass(frozen=True)
class Change:
    """`absolute` is None when either value is suppressed; `percent` also when the previous
    value is 0 (no percentage of nothing). `reason` says why whenever something is None."""

    previous: int | None
    current: int | None
    absolute: int | None
    percent: Decimal | None
    reason: Unavailable | None

    def label(self) -> str:
        """The change as a report prints it: "−18.6 %" (a true minus sign), or why not."""
        if self.percent is None:
            return (
                {
                    Unavailable.PREVIOUS_SUPPRESSED: "earlier value suppressed",
                    Unavailable.CURRENT_SUPPRESSED: "value suppressed",
                    Unavailable.ZERO_BASE: "no earlier count to compare with",
                }[self.reason]
                if self.reason
                else ""
            )
        sign = "−" if self.percent < 0 else "+" if self.percent > 0 else "±"
        return f"{sign}{abs(self.percent)} %"


def round_half_away(value: Fraction, decimals: int) -> Decimal:
    """`value` rounded to `decimals` places, halves away from zero (-18.65 -> -18.7)."""
    scaled = abs(value) * 10**decimals
    whole = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(-whole if value < 0 else whole).scaleb(-decimals)


def compare(previous: int | None, current: int | None, *, decimals: int = 1) -> Change:
    """The change from `previous` to `current`; None stands for a suppressed value."""
    if previous is None:
        return Change(previous, current, None, None, Unavailable.PREVIOUS_SUPPRESSED)
    if current is None:
        return Change(previous, current, None, None, Unavailable.CURRENT_SUPPRESSED)
    absolute = current - previous
    if previous == 0:
        return Change(previous, current, absolute, None, Unavailable.ZERO_BASE)
    percent = round_half_away(Fraction(100 * absolute, previous), decimals)
    return Change(previous, current, absolute, percent, None)
