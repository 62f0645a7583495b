"""What the statistics pages lay out, without a database: a release's tables as cross-tables
with the totals last, and the comparison of one breakdown with the period before."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from decimal import Decimal

from migrex.agreements.codelists import codelists
from migrex.stats.comparison import Unavailable
from migrex.stats.cube import TOTAL
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.queries import compared, cross_tables, totals_by_year
from migrex.stats.release import Release, ReleaseDimension
from migrex.stats.service import ReleaseSummary

DIMENSIONS = (ReleaseDimension("region", "CL_REGION_AM"), ReleaseDimension("sex", "CL_SEX"))
REGIONS = codelists()["CL_REGION_AM"].ids
SEXES = codelists()["CL_SEX"].ids


def _release(period: int, value: dict[tuple[str, str], int | None]) -> Release:
    observations = tuple(
        Observation(key, value.get(key, 10), ConfStatus.FREE)
        if value.get(key, 10) is not None
        else Observation(key, None, ConfStatus.CONFIDENTIAL)
        for key in itertools.product(REGIONS, SEXES)
    )
    return Release(
        agreement_id="kz-am-2024", dataset_id="kz-workers-in-am", title="Workers",
        producer="am-mcs", host_state="AM", citizenship="KZ", unit="PS", dimensions=DIMENSIONS,
        period=period, version=1, prepared_at=datetime(2026, 1, 15, tzinfo=UTC),
        observations=observations,
    )  # fmt: skip


def test_a_cross_table_holds_every_cell_with_the_totals_last() -> None:
    release = _release(2025, {("AM-ER", "F"): None, ("AM-ER", "M"): 7})
    [table] = cross_tables(release, [("region", "sex")])
    assert table.dimensions == ("region", "sex")
    assert [row[0].id for row in table.rows][-1] == TOTAL
    assert [c.id for c in table.columns][-1] == TOTAL
    assert len(table.rows) == len(REGIONS) and len(table.columns) == len(SEXES)
    erevan = next(row for row in table.rows if row[0].id == "AM-ER")
    female, male = (next(c for c in table.columns if c.id == s) for s in ("F", "M"))
    blank = table.cell(erevan, female)
    assert blank is not None and blank.value is None and blank.status is ConfStatus.CONFIDENTIAL
    assert table.cell(erevan, male) == Observation(("AM-ER", "M"), 7, ConfStatus.FREE)


def test_a_one_way_table_puts_the_other_dimensions_at_their_totals() -> None:
    release = _release(2025, {("AM-SH", TOTAL): 4})
    [table] = cross_tables(release, [("region",)])
    assert table.rows == [()]
    shirak = next(c for c in table.columns if c.id == "AM-SH")
    found = table.cell((), shirak)
    assert found is not None and found.key == ("AM-SH", TOTAL) and found.value == 4


def test_a_cell_the_release_lacks_is_none() -> None:
    whole = _release(2025, {})
    partial = dataclasses.replace(whole, observations=whole.observations[:3])
    [table] = cross_tables(partial, [("region", "sex")])
    assert sum(table.cell(r, c) is None for r in table.rows for c in table.columns) == (
        len(REGIONS) * len(SEXES) - 3
    )


def test_the_comparison_holds_the_total_and_each_code_with_its_change() -> None:
    before = _release(2024, {(TOTAL, TOTAL): 2623, ("AM-ER", TOTAL): None})
    after = _release(2025, {(TOTAL, TOTAL): 2134, ("AM-SH", TOTAL): 0})
    rows = compared(before, after, "region")
    assert [r.code for r in rows] == [None, *(c for c in REGIONS if c != TOTAL)]
    total = rows[0].change
    assert (total.previous, total.current, total.percent) == (2623, 2134, Decimal("-18.6"))
    by_code = {r.code: r.change for r in rows}
    assert by_code["AM-ER"].reason is Unavailable.PREVIOUS_SUPPRESSED
    assert by_code["AM-ER"].absolute is None
    assert by_code["AM-SH"].absolute == -10 and by_code["AM-SH"].percent == Decimal("-100.0")


def _summary(period: int, version: int, total: int | None) -> ReleaseSummary:
    at = datetime(2026, 1, 15, tzinfo=UTC)
    return ReleaseSummary("kz-workers-in-am", "am-mcs", "own", period, version, at, at, total,
                          None, None)  # fmt: skip


def test_totals_by_year_take_each_period_s_latest_version_oldest_first() -> None:
    years = totals_by_year([
        _summary(2025, 2, 2134), _summary(2025, 1, 2000), _summary(2023, 1, None),
        _summary(2024, 1, 2623),
    ])  # fmt: skip
    assert [(y.period, y.total) for y in years] == [(2023, None), (2024, 2623), (2025, 2134)]
    assert years[0].change is None
    assert years[1].change is not None
    assert years[1].change.reason is Unavailable.PREVIOUS_SUPPRESSED
    assert years[2].change is not None and years[2].change.percent == Decimal("-18.6")
