"""What a receiver sees of a table: published values, blanks, and why each blank is blank."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import CellKey, Cube, CubeTable


class ConfStatus(StrEnum):
    """Codes of the SDMX cross-domain codelist CL_CONF_STATUS.

    Outside the producer's own store every blank is "C" (confidential statistical information),
    whatever the reason. Telling primary ("A", small counts) from secondary ("D", blanked to
    protect another cell) blanks tells a reader that an "A" cell holds 1 to threshold-1
    persons, which with published zeros and margins narrows it and its complements to a few
    units. With one code a reader knows only that a blank is a primary (1 to threshold-1) or a
    secondary (0 or at least the threshold): together, any count at all. The producer keeps
    "A" and "D" in its own store, where they explain its pattern to its own statisticians.
    """

    FREE = "F"
    CONFIDENTIAL = "C"
    PRIMARY = "A"
    SECONDARY = "D"

    @property
    def published(self) -> ConfStatus:
        """The code that leaves the node: free stays free, every blank is confidential."""
        return ConfStatus.FREE if self is ConfStatus.FREE else ConfStatus.CONFIDENTIAL


# The codes a release carries outside the producer's store.
PUBLISHED_CODES = (ConfStatus.FREE, ConfStatus.CONFIDENTIAL)


@dataclass(frozen=True)
class Observation:
    key: CellKey
    value: int | None
    status: ConfStatus


def blanked(
    values: NDArray[np.int64], primary: NDArray[np.bool_], secondary: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], tuple[ConfStatus, ...]]:
    """The values with every blank cell set to 0 (so its count is not kept at all), and each
    cell's status: primary wins over secondary."""
    status = np.full(values.size, ConfStatus.FREE.value, dtype="<U1")
    status[secondary] = ConfStatus.SECONDARY.value
    status[primary] = ConfStatus.PRIMARY.value
    shown = np.where(primary | secondary, 0, values).astype(np.int64)
    shown.setflags(write=False)
    return shown, tuple(ConfStatus(code) for code in status.tolist())


class Published:
    """What every released set of cells answers, whatever its cells are numbered by: a table's
    cube or a linked design. Subclasses hold `values` and `status` and map keys to cells."""

    values: NDArray[np.int64]
    status: tuple[ConfStatus, ...]

    def _cell(self, key: CellKey) -> int:
        raise NotImplementedError

    def _key(self, cell: int) -> CellKey:
        raise NotImplementedError

    @property
    def blank(self) -> NDArray[np.bool_]:
        """Flat mask of the suppressed cells."""
        return np.array([code is not ConfStatus.FREE for code in self.status], dtype=bool)

    @property
    def primary_count(self) -> int:
        return self.status.count(ConfStatus.PRIMARY)

    @property
    def secondary_count(self) -> int:
        return self.status.count(ConfStatus.SECONDARY)

    def value(self, key: CellKey) -> int | None:
        """The published value, or None when the cell is suppressed."""
        cell = self._cell(key)
        return None if self.status[cell] is not ConfStatus.FREE else int(self.values[cell])

    def status_of(self, key: CellKey) -> ConfStatus:
        return self.status[self._cell(key)]

    def observations(self) -> Iterator[Observation]:
        """Every cell once, in cell order, as SDMX would carry it."""
        for cell, (value, status) in enumerate(zip(self.values.tolist(), self.status, strict=True)):
            shown = None if status is not ConfStatus.FREE else value
            yield Observation(self._key(cell), shown, status)


@dataclass(frozen=True, eq=False)
class PublishedTable(Published):
    """A table as released: the value of a suppressed cell is not held here at all (0 in
    `values`, masked by `status`), so passing this object on can never leak it.

    `rounding_base` is set once published values were rounded; the table is then no longer
    additive, and attacks are run (and the protection proven) on the unrounded release, which
    gives an attacker strictly more to work with.
    """

    cube: Cube
    values: NDArray[np.int64]
    status: tuple[ConfStatus, ...]
    rounding_base: int | None = None

    @classmethod
    def release(
        cls, table: CubeTable, primary: NDArray[np.bool_], secondary: NDArray[np.bool_]
    ) -> PublishedTable:
        """Blank out the primary and secondary cells of `table` (flat boolean masks)."""
        return cls(table.cube, *blanked(table.values, primary, secondary))

    def _cell(self, key: CellKey) -> int:
        return self.cube.cell(key)

    def _key(self, cell: int) -> CellKey:
        return self.cube.key(cell)


def round_published(published: PublishedTable, base: int) -> PublishedTable:
    """Round every published value to the nearest multiple of `base`, halves away from zero.

    Each cell is rounded on its own (not controlled rounding), so rounded margins need not equal
    the sum of their rounded cells; readers must be told the base, which is kept on the table.
    """
    if base < 2:
        raise ValueError("a rounding base is at least 2")
    if published.rounding_base is not None:
        raise ValueError("the table is already rounded")
    # Counts are never negative, so "half away from zero" is "half up" here.
    rounded = (published.values * 2 + base) // (2 * base) * base
    rounded = rounded.astype(np.int64)
    rounded.setflags(write=False)
    return PublishedTable(published.cube, rounded, published.status, rounding_base=base)
