"""A statistical table as a full cube: every combination of every dimension's codes and total.

The cube is what is published. Its margins are computed here by summation from the microdata
counts, never left for a receiver to add up from (possibly suppressed) cells. The additivity
relations between a margin and the cells that sum to it — the *lines* of the table — are what a
receiver can exploit to recompute a blank cell, so they are modelled here once and shared by
the suppression and by the attack that checks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from numpy.typing import NDArray

from migrex.agreements.codelists import TOTAL
from migrex.errors import MigrexError

__all__ = ["TOTAL", "CellKey", "Cube", "CubeTable", "Dimension", "Lines", "TableInvalid"]

CellKey = tuple[str, ...]


class TableInvalid(MigrexError):
    type_slug = "table-invalid"
    title = "The statistical table is invalid"
    status = 422


@dataclass(frozen=True)
class Dimension:
    """One breakdown of the table: its codes in publication order and the code of its total.

    `total=None` is a dimension that is never summed over, such as the reference year of a stock
    (the number of workers in 2024 plus those in 2025 counts many people twice): its codes are
    independent slices of the table, and no line runs along it.
    """

    id: str
    codes: tuple[str, ...]
    total: str | None = TOTAL

    def __post_init__(self) -> None:
        if not self.codes:
            raise TableInvalid(f"dimension {self.id!r} has no codes")
        if len(set(self.codes)) != len(self.codes):
            raise TableInvalid(f"dimension {self.id!r} repeats a code")
        if self.total is not None and self.total in self.codes:
            raise TableInvalid(
                f"dimension {self.id!r} uses its total code {self.total!r} as a code"
            )

    @property
    def cube_codes(self) -> tuple[str, ...]:
        """The codes as they appear in the cube: the total, when there is one, last."""
        return self.codes if self.total is None else (*self.codes, self.total)

    def position(self, code: str) -> int:
        try:
            return self.cube_codes.index(code)
        except ValueError:
            raise TableInvalid(f"{code!r} is not a code of dimension {self.id!r}") from None


@dataclass(frozen=True)
class Lines:
    """The additivity relations of a cube, over flat cell indices.

    Each line lists the cells that sum to a margin, with the margin last: one line per dimension
    that has a total and per combination of the other dimensions' cube codes (totals included).
    `of_cell[i]` lists the lines cell `i` belongs to, at most one per dimension.
    """

    cells: tuple[tuple[int, ...], ...]
    of_cell: tuple[tuple[int, ...], ...]


@lru_cache(maxsize=64)
def lines_of(shape: tuple[int, ...], summed: tuple[bool, ...]) -> Lines:
    """The lines of a cube of `shape` (totals last); `summed[d]` says whether axis d has a total."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    cells: list[tuple[int, ...]] = []
    for axis, has_total in enumerate(summed):
        if has_total:
            along = np.moveaxis(flat, axis, -1).reshape(-1, shape[axis])
            cells.extend(tuple(line) for line in along.tolist())
    of_cell: list[list[int]] = [[] for _ in range(flat.size)]
    for number, line in enumerate(cells):
        for cell in line:
            of_cell[cell].append(number)
    return Lines(tuple(cells), tuple(tuple(numbers) for numbers in of_cell))


@dataclass(frozen=True, eq=False)
class Cube:
    """The shape of a table and the mapping between cell keys and flat cell indices.

    Shared by the true table and by what is published of it, so both speak of the same cells.
    """

    dimensions: tuple[Dimension, ...]

    def __post_init__(self) -> None:
        if not self.dimensions:
            raise TableInvalid("a table needs at least one dimension")
        if len({dimension.id for dimension in self.dimensions}) != len(self.dimensions):
            raise TableInvalid("a table repeats a dimension")

    @cached_property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(dimension.cube_codes) for dimension in self.dimensions)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @cached_property
    def lines(self) -> Lines:
        summed = tuple(dimension.total is not None for dimension in self.dimensions)
        return lines_of(self.shape, summed)

    @cached_property
    def totals_in_cell(self) -> NDArray[np.int64]:
        """For each flat cell, how many of its codes are totals (0 for an interior cell)."""
        count = np.zeros(self.shape, dtype=np.int64)
        for axis, dimension in enumerate(self.dimensions):
            if dimension.total is not None:
                index = [slice(None)] * len(self.shape)
                index[axis] = slice(-1, None)
                count[tuple(index)] += 1
        return count.reshape(-1)

    @cached_property
    def grand_total(self) -> int | None:
        """The flat index of the cell that is a total in every dimension, if there is one."""
        if any(dimension.total is None for dimension in self.dimensions):
            return None
        return self.size - 1

    def key(self, cell: int) -> CellKey:
        index = np.unravel_index(cell, self.shape)
        return tuple(
            dimension.cube_codes[int(i)]
            for dimension, i in zip(self.dimensions, index, strict=True)
        )

    def cell(self, key: CellKey) -> int:
        if len(key) != len(self.dimensions):
            raise TableInvalid(f"{key!r} does not name one code per dimension")
        index = tuple(
            dimension.position(code) for dimension, code in zip(self.dimensions, key, strict=True)
        )
        return int(np.ravel_multi_index(index, self.shape))


@dataclass(frozen=True, eq=False)
class CubeTable:
    """The true counts of every cell of the cube, margins included (read-only array)."""

    cube: Cube
    values: NDArray[np.int64]

    @classmethod
    def from_counts(
        cls,
        dimensions: tuple[Dimension, ...],
        counts: Mapping[CellKey, int] | NDArray[np.integer],
    ) -> CubeTable:
        """The cube of interior counts, keyed by one code per dimension (absent keys count 0)
        or given as an array over the dimensions' codes; every margin is summed here."""
        cube = Cube(dimensions)
        interior = tuple(len(dimension.codes) for dimension in dimensions)
        if isinstance(counts, np.ndarray):
            if counts.shape != interior:
                raise TableInvalid(f"counts have shape {counts.shape}, the codes {interior}")
            grid = counts.astype(np.int64)
        else:
            grid = np.zeros(interior, dtype=np.int64)
            for key, count in counts.items():
                index = cube.cell(key)
                position = np.unravel_index(index, cube.shape)
                if any(int(p) >= n for p, n in zip(position, interior, strict=True)):
                    raise TableInvalid(f"{key!r} is a margin; margins are computed, not given")
                grid[position] += count
        if (grid < 0).any():
            raise TableInvalid("a count is negative")
        for axis, dimension in enumerate(dimensions):
            if dimension.total is not None:
                grid = np.concatenate([grid, grid.sum(axis=axis, keepdims=True)], axis=axis)
        grid.setflags(write=False)
        return cls(cube, grid.reshape(-1))

    @classmethod
    def from_cube(
        cls, dimensions: tuple[Dimension, ...], cells: Mapping[CellKey, int]
    ) -> CubeTable:
        """A cube whose margins were computed elsewhere (an SQL CUBE): every cell must be given
        and every margin must equal the sum of its line, or the table is refused."""
        cube = Cube(dimensions)
        values = np.full(cube.size, -1, dtype=np.int64)
        for key, count in cells.items():
            if count < 0:
                raise TableInvalid(f"{key!r} is negative")
            values[cube.cell(key)] = count
        missing = np.flatnonzero(values < 0)
        if missing.size:
            raise TableInvalid(
                f"{missing.size} cells are missing, e.g. {cube.key(int(missing[0]))}"
            )
        for line in cube.lines.cells:
            if int(values[list(line[:-1])].sum()) != int(values[line[-1]]):
                raise TableInvalid(f"margin {cube.key(line[-1])} is not the sum of its line")
        values.setflags(write=False)
        return cls(cube, values)

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        return self.cube.dimensions

    def value(self, key: CellKey) -> int:
        return int(self.values[self.cube.cell(key)])

    def cells(self) -> Iterator[tuple[CellKey, int]]:
        for cell, value in enumerate(self.values.tolist()):
            yield self.cube.key(cell), value
