"""Disclosure control of linked tables, proven against an attack on all of them at once.

The model — the design, the true tables, the release — is in `migrex.stats.linked_design` and
is exported here too, so that users of linked tables import from one place.

1. Primary: a cell below the threshold is primary in every table holding it (it is one cell).
2. Each table is protected on its own by `migrex.stats.suppression.protect`, with the cells the
   other tables blanked forced blank; the tables are visited again until none adds a blank, so
   that shared cells are blank in every table or in none.
3. Tables safe one by one can still give a cell away together: where two tables share several
   blank cells (the sex margins and the grand total, or a whole region × sex face), each may
   tie them by a different relation, and the two relations together fix them. So the lines of
   all tables are solved as one system (and bounded, when a blank is 0). Each cell it pins
   gets a complement in one of its lines, the cheapest in any table; back to 2.
Blanks are only ever added, so the loop ends; a round that adds nothing raises instead of
releasing something recoverable.

The exact check alone suffices while every blank is non-zero, for the reason given in
`migrex.stats.suppression`. It carries over because the design is acyclic (see
`migrex.stats.linked_design`): the lines of the tables and non-negative published cells are
then everything a receiver knows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from migrex.stats.attack import AttackReport, line_equations, propagate_bounds, report
from migrex.stats.cube import TOTAL
from migrex.stats.exact import solve
from migrex.stats.linked_design import LinkedDesign, LinkedRelease, LinkedTables
from migrex.stats.suppression import add_complements, primary_cells, protect

__all__ = ["LinkedDesign", "LinkedRelease", "LinkedTables", "attack_linked", "protect_linked"]


def protect_linked(
    tables: LinkedTables,
    threshold: int,
    *,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
) -> LinkedRelease:
    """The release of linked `tables`: primary cells and their complements blank, each shared
    cell with one status in every table, and no blank recoverable from all tables together.

    `forced` (a mask over the design's cell numbers) blanks cells whatever their counts, such
    as cells withheld in an earlier release; they are secondary unless primary.
    """
    design = tables.design
    primary = np.zeros(design.size, dtype=bool)
    for table, ids in zip(tables.tables, design.ids, strict=True):
        primary[ids] |= primary_cells(table, threshold, zeros_safe=zeros_safe)
    blank = primary.copy()
    if forced is not None:
        if forced.shape != blank.shape:
            raise ValueError(f"forced cells have shape {forced.shape}, the design {blank.shape}")
        blank |= forced
    rank = _cost_rank(design, tables.values)
    settled: dict[int, NDArray[np.bool_]] = {}
    while True:
        _settle(tables, blank, threshold, settled, zeros_safe=zeros_safe, seed=seed)
        exposed = _exposed(design, tables.values, blank, seed)
        if not exposed:
            break
        exposed.sort(key=lambda cell: (not primary[cell], int(rank[cell])))
        before = int(blank.sum())
        add_complements(design.lines, blank, rank, exposed)
        if int(blank.sum()) == before:
            # Cannot happen (a fully blank region pins nothing); fail loudly, never release.
            raise RuntimeError("linked suppression made no progress")
    return LinkedRelease.release(tables, primary, blank & ~primary)


def attack_linked(
    release: LinkedRelease, *, threshold: int | None = None, seed: int = 0
) -> AttackReport:
    """Try to recover every blank cell of `release` from everything published in all its
    tables: exactly by the union of their lines, and by interval bounds. Cells are named by
    their full keys."""
    design, blank = release.design, release.blank
    unknowns = np.flatnonzero(blank).tolist()
    system = line_equations(design.lines.cells, release.values, blank)
    solution = solve(unknowns, system, seed)
    bounds = propagate_bounds(unknowns, system)
    return report(solution, bounds, design.keys.__getitem__, threshold)


def _settle(
    tables: LinkedTables,
    blank: NDArray[np.bool_],
    threshold: int,
    settled: dict[int, NDArray[np.bool_]],
    *,
    zeros_safe: bool,
    seed: int,
) -> None:
    """Protect table after table, in place, until no table adds a blank. `settled` keeps each
    table's blanks after its last protection: a table whose blanks nobody changed since is
    safe on its own already and is skipped."""
    changed = True
    while changed:
        changed = False
        for number, (table, ids) in enumerate(zip(tables.tables, tables.design.ids, strict=True)):
            forced = blank[ids]
            if number in settled and np.array_equal(settled[number], forced):
                continue
            own = protect(table, threshold, zeros_safe=zeros_safe, seed=seed, forced=forced).blank
            settled[number] = own
            if (own & ~forced).any():
                blank[ids[own]] = True
                changed = True


def _exposed(
    design: LinkedDesign, values: NDArray[np.int64], blank: NDArray[np.bool_], seed: int
) -> list[int]:
    """The blank cells the attack on all tables recovers: exactly, or (with zero blanks) by
    bounds."""
    unknowns = np.flatnonzero(blank).tolist()
    system = line_equations(design.lines.cells, values, blank)
    found = set(solve(unknowns, system, seed).recovered)
    if (blank & (values == 0)).any():
        bounds = propagate_bounds(unknowns, system)
        found.update(cell for cell, (low, high) in bounds.items() if low == high)
    return sorted(found)


def _cost_rank(design: LinkedDesign, values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each cell's place in the order complements are picked (lowest first): non-zero before
    zero, the grand total last, then the smallest count, then the fewest totals in its key."""
    totals = np.array([key.count(TOTAL) for key in design.keys], dtype=np.int64)
    grand = totals == len(design.dimensions)
    order = np.lexsort((np.arange(design.size), totals, values, grand, values == 0))
    rank = np.empty(design.size, dtype=np.int64)
    rank[order] = np.arange(design.size, dtype=np.int64)
    return rank
