"""Where the console draws a breakdown's bars: the geometry of a horizontal bar chart that the
template writes as inline SVG, with presentation attributes and the served style sheet's
classes only (the policy allows no inline style, so no drawing library's SVG is pasted in).

A blank cell has no length: the template draws a hatched band across the whole scale and
writes that the value is confidential, so a blank is never read as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from migrex.stats.breakdown import Cell, Row
from migrex.stats.cube import TOTAL
from migrex.stats.published import ConfStatus
from migrex.stats.queries import YearTotal

LABEL_WIDTH = 300
YEAR_LABEL_WIDTH = 60
PLOT_WIDTH = 420
VALUE_ROOM = 70  # right of the longest bar, for its value
BAND = 26
BAR = 18
TOP = 8
AXIS = 26


@dataclass(frozen=True)
class Bar:
    code: str
    label: str
    value: int | None  # None: blank (confidential)
    y: float  # the top of the bar's band
    length: float  # 0 for a blank

    @property
    def middle(self) -> float:
        return self.y + BAR / 2


@dataclass(frozen=True)
class Tick:
    x: float
    value: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int  # where the scale starts
    plot_width: int
    bar_height: int
    axis_y: float
    bars: list[Bar]
    ticks: list[Tick]


def step_for(largest: int, most: int = 5) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten that covers `largest` in at most
    `most` steps."""
    if largest <= 0:
        return 1
    exponent = max(math.floor(math.log10(largest / most)), 0)
    while True:
        for factor in (1, 2, 5):
            step: int = factor * 10**exponent
            if math.ceil(largest / step) <= most:
                return step
        exponent += 1


def horizontal_bars(rows: Sequence[Row], *, label_width: int = LABEL_WIDTH) -> BarChart:
    """One bar per row (its first cell), in the rows' order, on a scale from 0 to a round
    number at least the largest published value; the rows' labels take `label_width`."""
    values = [row.cells[0].value for row in rows]
    largest = max((v for v in values if v is not None), default=0)
    step = step_for(largest)
    end = max(step * math.ceil(largest / step), step)
    bars = [
        Bar(row.code, row.label, value, TOP + n * BAND,
            0.0 if value is None else round(PLOT_WIDTH * value / end, 1))
        for n, (row, value) in enumerate(zip(rows, values, strict=True))
    ]  # fmt: skip
    axis_y = TOP + len(rows) * BAND
    ticks = [Tick(round(label_width + PLOT_WIDTH * v / end, 1), v) for v in range(0, end + 1, step)]
    return BarChart(
        width=label_width + PLOT_WIDTH + VALUE_ROOM, height=int(axis_y + AXIS), left=label_width,
        plot_width=PLOT_WIDTH, bar_height=BAR, axis_y=axis_y, bars=bars, ticks=ticks,
    )  # fmt: skip


def by_year(years: Sequence[YearTotal]) -> BarChart:
    """One bar per period: its grand total, or a blank band where it is confidential."""
    return horizontal_bars([
        Row(str(y.period), str(y.period), (Cell(TOTAL, y.total, ConfStatus.FREE if y.total
                                                is not None else ConfStatus.CONFIDENTIAL),))
        for y in years
    ], label_width=YEAR_LABEL_WIDTH)  # fmt: skip
