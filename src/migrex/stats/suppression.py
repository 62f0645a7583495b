"""Disclosure control of a count table: primary suppression, and the heuristic secondary
suppression that is the optimiser's fallback (`migrex.stats.secondary`).

Primary: every cell, interior or margin, counting fewer persons than the agreement's threshold.
Zero cells are published by default: a zero describes nobody, so there is no one to single out,
and blanking zeros would also show as blanks the structural zeros users rely on. (A zero can still
tell that *everybody* in a margin falls elsewhere; agreements that count that as disclosure set
`zeros_safe=False`.)

Heuristic secondary: blanks added until the attack in `migrex.stats.attack` recovers no blank
cell exactly (the interval attack then completes the pattern, in `migrex.stats.secondary`):
1. the line rule — a line with exactly one blank cell gives it away by subtraction, so another
   cell of that line is blanked: the cheapest by (zero last, grand total last, smallest count,
   interior before margins);
2. the exact check — in two or more dimensions lines combine (a blank can be the difference of
   sums over several lines even when every line holds two blanks), so the whole system is solved
   exactly. The first time, each blank it pins down gets the cheapest complement in one of its
   lines (cheap, and usually enough); back to 1.
3. From then on each blank still pinned down gets a whole *box* (see `_cheapest_box`): that is
   a proof by construction that none of the box's corners can be recovered, and it leaves no
   line with a single blank, so the next exact check finds nothing and the loop ends.
Blanks are only ever added, and adding a blank never makes another recoverable.

When every blank cell is non-zero (the default never blanks a zero unless a line offers nothing
else), the true table lies strictly inside the attacker's feasible region, so a cell the exact
check cannot pin down cannot be pinned by inequalities either; zero blanks are covered by the
interval attack run in the same loop.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from migrex.stats.attack import interval_bounds, solve_blanks
from migrex.stats.cube import CubeTable, Lines


def primary_cells(
    table: CubeTable, threshold: int, *, zeros_safe: bool = True
) -> NDArray[np.bool_]:
    """Flat mask of the cells below `threshold` (zero cells only when `zeros_safe` is False)."""
    if threshold < 1:
        raise ValueError("a disclosure threshold is at least 1")
    small = table.values < threshold
    return small & (table.values > 0) if zeros_safe else small


def heuristic_blanks(
    table: CubeTable,
    threshold: int,
    *,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """The heuristic pattern of `table` (the optimiser's fallback): primary cells and their
    complements, no blank recoverable exactly; intervals are `migrex.stats.secondary`'s job.

    `forced` (a flat mask) marks cells that must be blank whatever this table needs: the same
    cell is blank in another table published with this one (`migrex.stats.linked`). They are
    protected like any blank, and are secondary unless they are primary here.
    """
    primary = primary_cells(table, threshold, zeros_safe=zeros_safe)
    blank = primary.copy()
    if forced is not None:
        if forced.shape != blank.shape:
            raise ValueError(f"forced cells have shape {forced.shape}, the cube {blank.shape}")
        blank |= forced
    rank = _cost_rank(table)
    cost = _box_cost(table)
    first = True
    while True:
        _close_lines(table, blank, rank)
        exposed = _exposed(table, blank, seed)
        if not exposed:
            break
        # Primaries first, the cheapest first.
        exposed.sort(key=lambda cell: (not primary[cell], int(rank[cell])))
        # A box already blank cannot help a cell pinned by bounds (a zero blank): then only
        # single complements make progress.
        before = int(blank.sum())
        if first or not _add_boxes(table, blank, cost, exposed):
            add_complements(table.cube.lines, blank, rank, exposed)
        first = False
        if int(blank.sum()) == before:
            # Cannot happen (a fully blank region pins nothing); fail loudly, never release.
            raise RuntimeError("secondary suppression made no progress")
    return blank


def add_complements(
    lines: Lines, blank: NDArray[np.bool_], rank: NDArray[np.int64], exposed: list[int]
) -> None:
    """Blank the cheapest published cell in a line of each exposed cell, skipping cells whose
    lines this pass already changed (one new blank often frees several). One table's lines,
    or every line of linked tables over their shared cell numbers."""
    touched: set[int] = set()
    for cell in exposed:
        own = lines.of_cell[cell]
        if touched.isdisjoint(own):
            open_cells = [other for line in own for other in lines.cells[line] if not blank[other]]
            if not open_cells:
                # Its lines are all blank, yet it is pinned (by a published zero further
                # away): widen to every line with a blank.
                open_cells = [
                    other
                    for line in lines.cells
                    if any(blank[member] for member in line)
                    for other in line
                    if not blank[other]
                ]
            if not open_cells:
                return  # Everything is blank now; nothing can be pinned any more.
            added = min(open_cells, key=rank.item)
            blank[added] = True
            touched.update(own, lines.of_cell[added])


def _add_boxes(
    table: CubeTable, blank: NDArray[np.bool_], cost: NDArray[np.int64], exposed: list[int]
) -> bool:
    """Blank the cheapest box around each exposed cell not already a corner of a new box;
    False when every box chosen was blank already."""
    boxed: set[int] = set()
    added = False
    for cell in exposed:
        if cell not in boxed:
            corners = _cheapest_box(table, blank, cost, cell)
            added = added or not blank[corners].all()
            blank[corners] = True
            boxed.update(corners)
    return added


def _cost_rank(table: CubeTable) -> NDArray[np.int64]:
    """Each cell's place in the order the line rule picks complements (lowest first)."""
    values = table.values
    cube = table.cube
    grand = np.zeros(cube.size, dtype=bool)
    if cube.grand_total is not None:
        grand[cube.grand_total] = True
    order = np.lexsort((np.arange(cube.size), cube.totals_in_cell, values, grand, values == 0))
    rank = np.empty(cube.size, dtype=np.int64)
    rank[order] = np.arange(cube.size, dtype=np.int64)
    return rank


def _close_lines(table: CubeTable, blank: NDArray[np.bool_], rank: NDArray[np.int64]) -> None:
    close_lines(table.cube.lines, blank, rank)


def close_lines(lines: Lines, blank: NDArray[np.bool_], rank: NDArray[np.int64]) -> None:
    """The line rule, in place: until no line holds exactly one blank cell (the cheapest by
    `rank` is added). One table's lines, or every line of linked tables."""
    blanks_in = [sum(1 for cell in line if blank[cell]) for line in lines.cells]
    queue = [number for number, count in enumerate(blanks_in) if count == 1]
    while queue:
        number = queue.pop()
        if blanks_in[number] != 1:
            continue
        added = min((cell for cell in lines.cells[number] if not blank[cell]), key=rank.item)
        blank[added] = True
        for other in lines.of_cell[added]:
            blanks_in[other] += 1
            if blanks_in[other] == 1:
                queue.append(other)


def _exposed(table: CubeTable, blank: NDArray[np.bool_], seed: int) -> list[int]:
    """The blank cells the attack recovers: exactly, or (with zero blanks) by bounds."""
    found = set(solve_blanks(table.cube, table.values, blank, seed).recovered)
    if (blank & (table.values == 0)).any():
        bounds = interval_bounds(table.cube, table.values, blank)
        found.update(cell for cell, (low, high) in bounds.items() if low == high)
    return sorted(found)


def _box_cost(table: CubeTable) -> NDArray[np.int64]:
    """What blanking each cell costs a box: its count, with zeros and then the grand total
    priced above any box made of other cells."""
    corners = 2 ** len(table.dimensions)
    unit = corners * (int(table.values.sum()) + 1)
    cost: NDArray[np.int64] = table.values + unit * (table.values == 0)
    if table.cube.grand_total is not None:
        cost[table.cube.grand_total] += corners * 2 * unit
    return cost


def _cheapest_box(
    table: CubeTable, blank: NDArray[np.bool_], cost: NDArray[np.int64], cell: int
) -> list[int]:
    """The corners of the cheapest box with `cell` at one corner.

    A box takes, along every dimension with a total, the cell's code and one other; its 2**k
    corners carry a ±1 pattern (equal signs across a code and its total, opposite signs across
    two codes) that adds to zero along every line. With all corners blank, that pattern can be
    added to the table without changing a published value, so no corner can be recovered.
    """
    cube = table.cube
    own = np.unravel_index(cell, cube.shape)
    axes = [axis for axis, dimension in enumerate(cube.dimensions) if dimension.total is not None]
    open_cost = np.where(blank, 0, cost).reshape(cube.shape)
    plane = open_cost[tuple(slice(None) if a in axes else own[a] for a in range(len(own)))]
    centre = tuple(int(own[a]) for a in axes)
    price = np.zeros(plane.shape, dtype=np.float64)
    for subset in range(1, 2 ** len(axes)):
        moved = [(subset >> i) & 1 == 1 for i in range(len(axes))]
        face = plane[tuple(slice(None) if m else c for m, c in zip(moved, centre, strict=True))]
        price += face.reshape([n if m else 1 for m, n in zip(moved, plane.shape, strict=True)])
    for i, code in enumerate(centre):
        # The other code of each dimension must differ from the cell's own.
        price[(slice(None),) * i + (code,)] = np.inf
    partner = np.unravel_index(int(np.argmin(price)), price.shape)
    corners: list[int] = []
    for subset in range(2 ** len(axes)):
        index = list(own)
        for i, axis in enumerate(axes):
            if (subset >> i) & 1:
                index[axis] = partner[i]
        corners.append(int(np.ravel_multi_index(tuple(index), cube.shape)))
    return corners
