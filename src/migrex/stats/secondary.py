"""Secondary suppression: the optimiser first, the heuristic only when the optimiser cannot
answer (time limit, solver failure), and the integer interval attack as the judge of both.

Whatever chose the pattern, it is released only once the interval attack
(`migrex.stats.intervals`) finds no blank whose feasible range falls short of the protection
interval; where it finds one (the optimiser protects against the LP attacker, and a whole-number
attacker can be sharper; the heuristic only stops exact recovery), a complement is blanked in
one of the cell's lines, the cheapest first, and the attack runs again. Blanks are only added,
and a pattern with every cell blank protects every cell, so this ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from migrex.stats.intervals import feasible_intervals, shortfalls
from migrex.stats.lp_attack import Side
from migrex.stats.pattern import Problem, optimal_pattern
from migrex.stats.suppression import add_complements, close_lines

# What the optimiser may take for one release before the heuristic is used instead.
TIME_LIMIT = 20.0


@dataclass(frozen=True)
class Protection:
    """A protected pattern and how it was reached. `method` is "optimiser" or "heuristic"
    (with `reason` saying why the optimiser gave up); `completed` counts the blanks the
    interval attack made the pattern add."""

    blank: NDArray[np.bool_]
    method: str
    reason: str
    completed: int
    solver_seconds: float
    attack_seconds: float


def protect_cells(
    problem: Problem,
    heuristic: Callable[[], NDArray[np.bool_]],
    rank: NDArray[np.int64],
    *,
    time_limit: float = TIME_LIMIT,
) -> Protection:
    """The pattern for `problem`; `heuristic` gives the fallback pattern, `rank` the order in
    which complements are picked (lowest first)."""
    started = time.perf_counter()
    optimised = optimal_pattern(problem, time_limit=time_limit)
    if optimised.blank is not None:
        blank, method = optimised.blank.copy(), "optimiser"
    else:
        blank, method = heuristic() | problem.must, "heuristic"
    solver_seconds = time.perf_counter() - started
    started = time.perf_counter()
    completed = complete(problem, blank, rank, optimised.certified)
    return Protection(
        blank, method, optimised.reason, completed, solver_seconds, time.perf_counter() - started
    )


def complete(
    problem: Problem,
    blank: NDArray[np.bool_],
    rank: NDArray[np.int64],
    certified: frozenset[Side] = frozenset(),
) -> int:
    """Add complements, in place, until the interval attack narrows no blank below the
    requirement; how many were added. `certified` sides are known reached at a whole-number
    table already (blanks are only added, so they stay reached) and are not attacked again."""
    before = int(blank.sum())
    # A cell whose range was wide enough stays so as blanks are added (the attacker's region
    # only grows): each round attacks only new blanks and those that fell short.
    settled = {side for side in certified if blank[side[0]]}
    while short := narrowed(problem, blank, frozenset(settled)):
        count = int(blank.sum())
        for cell in np.flatnonzero(blank).tolist():
            if cell not in short:
                settled.update({(cell, -1.0), (cell, 1.0)})
        add_complements(problem.lines, blank, rank, short)
        # A complement alone in one of its other lines would be its margin minus the rest.
        close_lines(problem.lines, blank, rank)
        if int(blank.sum()) == count:
            # Cannot happen (every cell blank protects every cell); fail, never release.
            raise RuntimeError("secondary suppression made no progress")
    return int(blank.sum()) - before


def narrowed(
    problem: Problem, blank: NDArray[np.bool_], certified: frozenset[Side] = frozenset()
) -> list[int]:
    """The blank cells the integer interval attack narrows below the requirement."""
    needed = problem.required(blank)
    attacked = [
        cell
        for cell in np.flatnonzero(blank).tolist()
        if (needed.up[cell] > 0 and (cell, -1.0) not in certified)
        or (needed.down[cell] > 0 and (cell, 1.0) not in certified)
    ]
    cap = int(problem.values.max(initial=0)) + problem.protection + 1
    intervals = feasible_intervals(
        problem.lines.cells, problem.values, blank, problem.knowledge, cap=cap, only=attacked
    )
    return shortfalls(intervals, problem.values, needed)
