"""Disclosure control of linked tables, proven against an interval attack on all of them.

The model — the design, the true tables, the release — is in `migrex.stats.linked_design` and
is exported here too, so that users of linked tables import from one place.

1. Primary: a cell below the threshold is primary in every table holding it (it is one cell).
2. Secondary: the optimiser of `migrex.stats.pattern` chooses the cheapest pattern over the
   lines of all tables at once (numbered in the design's one cell space, so a shared cell is
   blank in every table or in none), and `migrex.stats.secondary` checks it with the integer
   interval attack and completes it where that attack is sharper than the optimiser's LP.
3. Only when the optimiser cannot answer, the heuristic of before is the fallback: each table
   protected on its own by the line rule and the exact check (`migrex.stats.suppression`) until
   no table adds a blank, then the exact check on all tables together; its pattern is then
   completed by the interval attack like the optimiser's.

The design is acyclic (see `migrex.stats.linked_design`): the lines of the tables and
non-negative counts are then everything a receiver knows, which is what the attack models.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from migrex.stats.attack import AttackReport, line_equations, propagate_bounds, report
from migrex.stats.cube import TOTAL, CubeTable
from migrex.stats.exact import solve
from migrex.stats.intervals import Knowledge, feasible_intervals
from migrex.stats.linked_design import LinkedDesign, LinkedRelease, LinkedTables
from migrex.stats.pattern import Problem
from migrex.stats.published import PublishedTable
from migrex.stats.secondary import TIME_LIMIT, Protection, protect_cells
from migrex.stats.suppression import add_complements, heuristic_blanks, primary_cells

__all__ = [
    "LinkedDesign",
    "LinkedRelease",
    "LinkedTables",
    "attack_linked",
    "heuristic_linked",
    "protect",
    "protect_linked",
    "protection_of",
]


def protect_linked(
    tables: LinkedTables,
    threshold: int,
    *,
    protection: int | None = None,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
    knowledge: Knowledge | None = None,
    time_limit: float = TIME_LIMIT,
) -> LinkedRelease:
    """The release of linked `tables`: primary cells and their complements blank, each shared
    cell with one status in every table, and every blank's feasible range, for an attacker who
    knows every table, at least `protection` (default: the threshold) either side of its count
    where counts allow (see `migrex.stats.intervals`).

    `forced` (a mask over the design's cell numbers) blanks cells whatever their counts, such
    as cells withheld in an earlier release; they are secondary unless primary. `knowledge` is
    what earlier releases told about each cell (`migrex.stats.vintages`).
    """
    primary = _primary(tables, threshold, zeros_safe)
    chosen = protection_of(
        tables, threshold, protection=protection, zeros_safe=zeros_safe, seed=seed,
        forced=forced, knowledge=knowledge, time_limit=time_limit,
    )  # fmt: skip
    return LinkedRelease.release(tables, primary, chosen.blank & ~primary)


def protection_of(
    tables: LinkedTables,
    threshold: int,
    *,
    protection: int | None = None,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
    knowledge: Knowledge | None = None,
    time_limit: float = TIME_LIMIT,
) -> Protection:
    """The pattern `protect_linked` releases, with how it was found and how long it took."""
    design = tables.design
    must = _primary(tables, threshold, zeros_safe)
    if forced is not None:
        if forced.shape != must.shape:
            raise ValueError(f"forced cells have shape {forced.shape}, the design {must.shape}")
        must = must | forced
    problem = Problem(
        design.lines,
        tables.values,
        must,
        knowledge or Knowledge.counts_only(design.size),
        threshold if protection is None else protection,
        _grand_total(design),
    )
    rank = _cost_rank(design, tables.values)

    def fallback() -> NDArray[np.bool_]:
        return heuristic_linked(tables, threshold, zeros_safe=zeros_safe, seed=seed, forced=must)

    return protect_cells(problem, fallback, rank, time_limit=time_limit)


def protect(
    table: CubeTable,
    threshold: int,
    *,
    protection: int | None = None,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
    time_limit: float = TIME_LIMIT,
) -> PublishedTable:
    """The release of one table, protected as one table of a design of its own."""
    tables = LinkedTables.from_tables(table.dimensions, [table])
    released = protect_linked(
        tables, threshold, protection=protection, zeros_safe=zeros_safe, seed=seed,
        forced=forced, time_limit=time_limit,
    )  # fmt: skip
    (published,) = released.tables
    return published


def heuristic_linked(
    tables: LinkedTables,
    threshold: int,
    *,
    zeros_safe: bool = True,
    seed: int = 0,
    forced: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """The pattern of the line rule and the exact check (the fallback): no blank recoverable
    exactly from all tables together, with no promise about intervals."""
    design = tables.design
    primary = _primary(tables, threshold, zeros_safe)
    blank = primary.copy() if forced is None else primary | forced
    rank = _cost_rank(design, tables.values)
    settled: dict[int, NDArray[np.bool_]] = {}
    while True:
        _settle(tables, blank, threshold, settled, zeros_safe=zeros_safe, seed=seed)
        exposed = _exposed(design, tables.values, blank, seed)
        if not exposed:
            return blank
        exposed.sort(key=lambda cell: (not primary[cell], int(rank[cell])))
        before = int(blank.sum())
        add_complements(design.lines, blank, rank, exposed)
        if int(blank.sum()) == before:
            # Cannot happen (a fully blank region pins nothing); fail loudly, never release.
            raise RuntimeError("linked suppression made no progress")


def attack_linked(
    release: LinkedRelease,
    *,
    threshold: int | None = None,
    seed: int = 0,
    knowledge: Knowledge | None = None,
) -> AttackReport:
    """Try to recover every blank cell of `release` from everything published in all its
    tables: exactly by the union of their lines, and by the integer interval attack. Cells are
    named by their full keys."""
    design, blank = release.design, release.blank
    unknowns = np.flatnonzero(blank).tolist()
    system = line_equations(design.lines.cells, release.values, blank)
    solution = solve(unknowns, system, seed)
    bounds = feasible_intervals(design.lines.cells, release.values, blank, knowledge)
    return report(solution, bounds, design.keys.__getitem__, threshold)


def _primary(tables: LinkedTables, threshold: int, zeros_safe: bool) -> NDArray[np.bool_]:
    primary = np.zeros(tables.design.size, dtype=bool)
    for table, ids in zip(tables.tables, tables.design.ids, strict=True):
        primary[ids] |= primary_cells(table, threshold, zeros_safe=zeros_safe)
    return primary


def _grand_total(design: LinkedDesign) -> int | None:
    if any(dimension.total is None for dimension in design.dimensions):
        return None
    key = tuple(TOTAL for _ in design.dimensions)
    return design.cell(key) if key in design.keys else None


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
            own = heuristic_blanks(
                table, threshold, zeros_safe=zeros_safe, seed=seed, forced=forced
            )
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
