"""The geometry of the console's bar chart: a round scale covering the largest published
value, one band per row in order, and no length at all for a blank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.stats.breakdown import Cell, Row
from migrex.stats.published import ConfStatus
from migrex.stats.queries import YearTotal
from migrex.ui.charts import (
    BAND,
    LABEL_WIDTH,
    PLOT_WIDTH,
    YEAR_LABEL_WIDTH,
    by_year,
    horizontal_bars,
    step_for,
)


def _rows(*values: int | None) -> list[Row]:
    return [
        Row(f"R{n}", f"Row {n}", (Cell("_T", v, ConfStatus.FREE if v is not None
                                        else ConfStatus.CONFIDENTIAL),))
        for n, v in enumerate(values)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("largest", "step"), [(0, 1), (1, 1), (5, 1), (6, 2), (47, 10), (57, 20), (2623, 1000)]
)
def test_the_step_is_one_two_or_five_times_a_power_of_ten(largest: int, step: int) -> None:
    assert step_for(largest) == step


@given(st.integers(min_value=1, max_value=10**9))
def test_the_step_covers_the_largest_value_in_at_most_five_steps(largest: int) -> None:
    step = step_for(largest)
    assert -(-largest // step) <= 5
    assert str(step).rstrip("0") in ("1", "2", "5")


def test_bars_are_in_order_scaled_and_a_blank_has_no_length() -> None:
    chart = horizontal_bars(_rows(47, None, 0, 20))
    assert [b.code for b in chart.bars] == ["R0", "R1", "R2", "R3"]
    assert [b.y for b in chart.bars] == [chart.bars[0].y + n * BAND for n in range(4)]
    first, blank, zero, last = chart.bars
    assert blank.value is None and blank.length == 0
    assert zero.length == 0 and zero.value == 0
    assert first.length == pytest.approx(PLOT_WIDTH * 47 / 50)
    assert last.length == pytest.approx(PLOT_WIDTH * 20 / 50)
    assert [t.value for t in chart.ticks] == [0, 10, 20, 30, 40, 50]
    assert chart.ticks[0].x == LABEL_WIDTH and chart.ticks[-1].x == LABEL_WIDTH + PLOT_WIDTH
    assert chart.axis_y == first.y + 4 * BAND <= chart.height


def test_a_breakdown_with_every_cell_blank_still_has_a_scale() -> None:
    chart = horizontal_bars(_rows(None, None))
    assert all(b.length == 0 for b in chart.bars)
    assert [t.value for t in chart.ticks] == [0, 1]


def test_the_years_chart_has_a_bar_per_year_and_a_band_for_a_blank_total() -> None:
    chart = by_year([YearTotal(2023, None, None), YearTotal(2024, 2623, None),
                     YearTotal(2025, 2134, None)])  # fmt: skip
    assert [(b.code, b.value) for b in chart.bars] == [("2023", None), ("2024", 2623),
                                                       ("2025", 2134)]  # fmt: skip
    assert chart.left == YEAR_LABEL_WIDTH and chart.bars[0].length == 0
    assert chart.bars[1].length == pytest.approx(PLOT_WIDTH * 2623 / 3000, abs=0.05)
