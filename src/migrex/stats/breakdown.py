"""What a breakdown of a release shows: each code of one dimension, optionally split by the
codes of another, every other dimension at its total. Plain data, no drawing: the charts of
`migrex.stats.charts` and the console's pages draw from the same rows.

A suppressed cell keeps no value here, only its status; a drawing shows it as blank, never
as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrex.agreements.codelists import codelists
from migrex.errors import MigrexError
from migrex.stats.cube import TOTAL
from migrex.stats.published import ConfStatus
from migrex.stats.release import Release


class ChartInvalid(MigrexError):
    type_slug = "chart-invalid"
    title = "The chart cannot be drawn from this release"
    status = 422


@dataclass(frozen=True)
class Cell:
    """One drawn value: None with the status when suppressed."""

    code: str
    value: int | None
    status: ConfStatus


@dataclass(frozen=True)
class Row:
    """One code of the charted dimension: one cell, or one per code of the `by` dimension."""

    code: str
    label: str
    cells: tuple[Cell, ...]


def breakdown_rows(release: Release, dimension_id: str, by: str | None = None) -> list[Row]:
    """The cells a breakdown chart draws: each interior code of `dimension_id` (split by the
    interior codes of `by`, else at its total), every other dimension at its total."""
    ids = release.dimension_ids
    for wanted in (dimension_id, by):
        if wanted is not None and wanted not in ids:
            raise ChartInvalid(f"{release.dataset_id} has no dimension {wanted!r}")
    if by == dimension_id:
        raise ChartInvalid("a dimension cannot be split by itself")
    lists = codelists()
    codes_of = {d.id: lists[d.codelist].codes for d in release.dimensions}
    by_codes = [c.id for c in codes_of[by] if c.id != TOTAL] if by is not None else [TOTAL]
    rows = []
    for code in codes_of[dimension_id]:
        if code.id == TOTAL:
            continue
        cells = []
        for split in by_codes:
            key = tuple(code.id if d == dimension_id else split if d == by else TOTAL for d in ids)
            observation = release.get(key)
            if observation is None:
                raise ChartInvalid(f"{release.dataset_id} does not release the cell {key}")
            cells.append(Cell(split, observation.value, observation.status))
        rows.append(Row(code.id, code.name, tuple(cells)))
    return rows
