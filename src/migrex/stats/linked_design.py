"""Linked tables: several cubes cut from one dataset and published together (the model; the
disclosure control that works on it is `migrex.stats.linked`).

A statistical office does not publish one cube over every dimension of a dataset (five
dimensions over a few thousand persons make a cube of small cells, nearly all suppressed), but a
set of tables, each a cube over a few dimensions with every other dimension at its total:
region × sex, age × sex, occupation × sex. A cell with the same full key in several tables —
the sex margins, the grand total — is one published cell: one value and one status everywhere.
A receiver holds every table at once, so the lines of all tables together are what an attack
works with; cells are numbered here once, across tables, so that the attack and the suppression
can treat the release as one system of lines.

Only designs whose tables form an acyclic hypergraph are accepted (region × sex, age × sex and
region × sex × age are; region × sex, sex × age and region × age are not). For an acyclic design
every set of non-negative whole tables that agree on their shared cells comes from some full
cube of persons (Vorob'ev's theorem; integrality follows along the join tree), so the lines of
the published tables and "every count is at least 0" are *all* a receiver knows. With a cycle
the receiver also knows that a non-negative full cube exists, which can bound cells further;
the attack does not model that, so such a release is refused rather than published unproven.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import product

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import TOTAL, CellKey, Cube, CubeTable, Dimension, Lines, TableInvalid
from migrex.stats.published import ConfStatus, Published, PublishedTable, blanked


@dataclass(frozen=True, eq=False)
class LinkedDesign:
    """A dataset's dimensions and the tables published from it, each named by the ids of its
    dimensions (in the order the table shows them).

    Cells are numbered across the whole design: table by table, each table in cube order, a
    cell already met in an earlier table keeping its number. `keys[n]` is cell n's full key in
    the dataset's dimension order, with the total code for dimensions its table lacks.
    """

    dimensions: tuple[Dimension, ...]
    tables: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        ids = [dimension.id for dimension in self.dimensions]
        if len(set(ids)) != len(ids):
            raise TableInvalid("the dataset repeats a dimension")
        for dimension in self.dimensions:
            if dimension.total is None:
                # A release covers one period; a dimension never summed over has no place here.
                raise TableInvalid(f"dimension {dimension.id!r} of linked tables needs a total")
        if not self.tables:
            raise TableInvalid("a release needs at least one table")
        seen: set[frozenset[str]] = set()
        for table in self.tables:
            if not table or len(set(table)) != len(table):
                raise TableInvalid(f"table ({_name(table)}) needs distinct dimensions")
            unknown = [name for name in table if name not in ids]
            if unknown:
                raise TableInvalid(f"table {_name(table)} uses unknown dimension {unknown[0]!r}")
            if frozenset(table) in seen:
                raise TableInvalid(f"table {_name(table)} is published twice")
            seen.add(frozenset(table))
        cycle = _cycle(self.tables)
        if cycle:
            raise TableInvalid(
                f"tables {', '.join(_name(t) for t in cycle)} link in a cycle: a receiver could "
                "bound their cells by the unpublished cube of all their dimensions; publish "
                "that cube instead (or leave a table out)"
            )

    @cached_property
    def cubes(self) -> tuple[Cube, ...]:
        by_id = {dimension.id: dimension for dimension in self.dimensions}
        return tuple(Cube(tuple(by_id[name] for name in table)) for table in self.tables)

    @cached_property
    def _numbering(self) -> tuple[dict[CellKey, int], tuple[NDArray[np.int64], ...]]:
        axis = {dimension.id: position for position, dimension in enumerate(self.dimensions)}
        number: dict[CellKey, int] = {}
        ids: list[NDArray[np.int64]] = []
        for table, cube in zip(self.tables, self.cubes, strict=True):
            places = [axis[name] for name in table]
            cells = np.empty(cube.size, dtype=np.int64)
            # itertools.product runs through the codes in the cube's flat (C) order.
            for cell, codes in enumerate(product(*(d.cube_codes for d in cube.dimensions))):
                full = [TOTAL] * len(self.dimensions)
                for place, code in zip(places, codes, strict=True):
                    full[place] = code
                cells[cell] = number.setdefault(tuple(full), len(number))
            cells.setflags(write=False)
            ids.append(cells)
        return number, tuple(ids)

    @property
    def ids(self) -> tuple[NDArray[np.int64], ...]:
        """Per table, the design's number of each of its flat cells."""
        return self._numbering[1]

    @cached_property
    def keys(self) -> tuple[CellKey, ...]:
        return tuple(self._numbering[0])

    @property
    def size(self) -> int:
        return len(self._numbering[0])

    def cell(self, key: CellKey) -> int:
        """The number of the published cell with full key `key`."""
        try:
            return self._numbering[0][key]
        except KeyError:
            raise TableInvalid(f"{key!r} is not a cell of any table") from None

    @cached_property
    def lines(self) -> Lines:
        """Every table's lines over the design's cell numbers, each once (a table inside
        another, such as age × sex inside region × sex × age, repeats lines of the larger)."""
        found: dict[tuple[int, ...], None] = {}
        for cube, ids in zip(self.cubes, self.ids, strict=True):
            numbers = ids.tolist()
            for line in cube.lines.cells:
                found.setdefault(tuple(numbers[cell] for cell in line))
        cells = tuple(found)
        of_cell: list[list[int]] = [[] for _ in range(self.size)]
        for number, line in enumerate(cells):
            for cell in line:
                of_cell[cell].append(number)
        return Lines(cells, tuple(tuple(numbers) for numbers in of_cell))


@dataclass(frozen=True, eq=False)
class LinkedTables:
    """The true counts of every table of a design; `values` holds each cell once, by number."""

    design: LinkedDesign
    tables: tuple[CubeTable, ...]
    values: NDArray[np.int64]

    @classmethod
    def from_tables(
        cls, dimensions: tuple[Dimension, ...], tables: Sequence[CubeTable]
    ) -> LinkedTables:
        """Tables counted separately (each with its margins): refused unless every cell they
        share has the same count in each, and each uses the dataset's own code lists."""
        by_id = {dimension.id: dimension for dimension in dimensions}
        for table in tables:
            for dimension in table.dimensions:
                if by_id.get(dimension.id, dimension) != dimension:
                    raise TableInvalid(
                        f"dimension {dimension.id!r} of table {_name(_ids(table))} differs "
                        "from the dataset's"
                    )
        design = LinkedDesign(dimensions, tuple(_ids(table) for table in tables))
        values = np.full(design.size, -1, dtype=np.int64)
        for table, ids in zip(tables, design.ids, strict=True):
            before = values[ids]
            differs = np.flatnonzero((before >= 0) & (before != table.values))
            if differs.size:
                own = int(differs[0])
                raise TableInvalid(
                    f"cell {design.keys[int(ids[own])]!r} counts {int(before[own])} in an "
                    f"earlier table and {int(table.values[own])} in {_name(_ids(table))}"
                )
            values[ids] = table.values
        values.setflags(write=False)
        return cls(design, tuple(tables), values)

    @classmethod
    def from_counts(
        cls,
        dimensions: tuple[Dimension, ...],
        counts: Mapping[CellKey, int] | NDArray[np.integer],
        tables: Sequence[Sequence[str]],
    ) -> LinkedTables:
        """The tables summed from the counts of the full cross-classification (keyed by one
        code per dataset dimension, absent keys 0, or an array over the codes); the full cube
        itself is never built, so many dimensions cost nothing."""
        axis = {dimension.id: position for position, dimension in enumerate(dimensions)}
        if isinstance(counts, np.ndarray):
            counts = _interior(dimensions, counts)
        built: list[CubeTable] = []
        for table in tables:
            if len(set(table)) != len(table) or any(name not in axis for name in table):
                raise TableInvalid(f"table {_name(tuple(table))} does not fit the dataset")
            places = [axis[name] for name in table]
            own = tuple(dimensions[place] for place in places)
            built.append(CubeTable.from_counts(own, _summed(dimensions, counts, places)))
        return cls.from_tables(dimensions, built)


@dataclass(frozen=True, eq=False)
class LinkedRelease(Published):
    """Linked tables as released: each published cell once, by design number. A blank cell's
    value is not held at all (0 in `values`, masked by `status`)."""

    design: LinkedDesign
    values: NDArray[np.int64]
    status: tuple[ConfStatus, ...]

    @classmethod
    def release(
        cls, tables: LinkedTables, primary: NDArray[np.bool_], secondary: NDArray[np.bool_]
    ) -> LinkedRelease:
        """Blank out the primary and secondary cells (masks over the design's numbers)."""
        return cls(tables.design, *blanked(tables.values, primary, secondary))

    def _cell(self, key: CellKey) -> int:
        return self.design.cell(key)

    def _key(self, cell: int) -> CellKey:
        return self.design.keys[cell]

    @cached_property
    def tables(self) -> tuple[PublishedTable, ...]:
        """Each table as published on its own (keys in the table's dimensions), for readers
        that take one cube at a time; shared cells are the same in each by construction."""
        views = []
        for cube, ids in zip(self.design.cubes, self.design.ids, strict=True):
            values = self.values[ids]
            values.setflags(write=False)
            views.append(PublishedTable(cube, values, tuple(self.status[i] for i in ids.tolist())))
        return tuple(views)


def _ids(table: CubeTable) -> tuple[str, ...]:
    return tuple(dimension.id for dimension in table.dimensions)


def _name(table: Sequence[str]) -> str:
    return " × ".join(table)


def _interior(dimensions: tuple[Dimension, ...], counts: NDArray[np.integer]) -> NDArray[np.int64]:
    shape = tuple(len(dimension.codes) for dimension in dimensions)
    if counts.shape != shape:
        raise TableInvalid(f"counts have shape {counts.shape}, the codes {shape}")
    if (counts < 0).any():
        raise TableInvalid("a count is negative")
    return counts.astype(np.int64)


def _summed(
    dimensions: tuple[Dimension, ...],
    counts: Mapping[CellKey, int] | NDArray[np.int64],
    places: list[int],
) -> dict[CellKey, int] | NDArray[np.int64]:
    """The counts summed onto the dimensions at `places`, in that order. Every key of a mapping
    is checked here: a code of a dimension no table shows would otherwise go unnoticed."""
    if isinstance(counts, np.ndarray):
        absent = tuple(a for a in range(len(dimensions)) if a not in places)
        kept = sorted(places)
        summed: NDArray[np.int64] = counts.sum(axis=absent)
        return summed.transpose([kept.index(p) for p in places])
    projected: Counter[CellKey] = Counter()
    for key, count in counts.items():
        if count < 0:
            # Checked before summing, where a negative count could cancel a positive one.
            raise TableInvalid(f"{key!r} is negative")
        if len(key) != len(dimensions):
            raise TableInvalid(f"{key!r} does not name one code per dataset dimension")
        for dimension, code in zip(dimensions, key, strict=True):
            if code not in dimension.codes:
                raise TableInvalid(f"{code!r} is not a code of dimension {dimension.id!r}")
        projected[tuple(key[place] for place in places)] += count
    return dict(projected)


def _cycle(tables: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The tables left in a cycle by the GYO reduction, or [] when the design is acyclic.

    The reduction drops a dimension only one table has and a table inside another; an acyclic
    design reduces to nothing.
    """
    edges = {number: set(table) for number, table in enumerate(tables)}
    changed = True
    while changed:
        changed = False
        uses = Counter(name for edge in edges.values() for name in edge)
        for edge in edges.values():
            lone = {name for name in edge if uses[name] == 1}
            if lone:
                edge.difference_update(lone)
                changed = True
        for number, edge in list(edges.items()):
            if any(other != number and edge <= rest for other, rest in edges.items()):
                del edges[number]
                changed = True
    return [tables[number] for number in edges] if len(edges) > 1 else []
