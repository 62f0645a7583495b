"""Secondary suppression chosen by an optimiser: the cheapest pattern of blanks that keeps
every blank's feasible range as wide as the agreement's protection interval.

The model is the classic one of Fischetti and Salazar (2001), solved with HiGHS through SciPy:

* a master MILP chooses which cells are blank (binary y per cell), all primary and forced cells
  blank, minimising the information lost;
* for a chosen pattern, each blank and each side is checked by the LP attacker
  (`migrex.stats.lp_attack`), and where a side falls short LP duality gives a cut the master
  must satisfy from then on.
The loop ends when no blank falls short: the pattern is then protected against the LP attacker,
and optimal among patterns that are. The integer attacker can be sharper, so the caller still
runs the integer interval attack (`migrex.stats.intervals`) and completes the pattern if needed.

Information loss is the number of blank cells: that is what a reader misses, one figure per
blank. Among patterns with as many blanks, the one hiding fewer persons wins (a tie-break under
one cell). The grand total, the headline figure quoted in reports, is priced above all other
cells together, so it is blanked only when nothing else protects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import Lines
from migrex.stats.intervals import Knowledge, Requirement, feasible_intervals, requirement
from migrex.stats.lp_attack import Cut, LpAttacker

_MAX_ROUNDS = 200


@dataclass(frozen=True)
class Problem:
    """A protection problem over numbered cells: the lines (margin last), the true counts,
    the cells that must be blank, what the attacker knows, and the interval to keep."""

    lines: Lines
    values: NDArray[np.int64]
    must: NDArray[np.bool_]
    knowledge: Knowledge
    protection: int
    grand_total: int | None = None

    @property
    def size(self) -> int:
        return int(self.values.size)

    def cost(self) -> NDArray[np.float64]:
        """Per cell: 1, plus its persons as a share under one, the grand total above all."""
        persons = self.values.astype(np.float64)
        cost: NDArray[np.float64] = 1.0 + persons / (persons.sum() + 1.0)
        if self.grand_total is not None:
            cost[self.grand_total] = 2.0 * self.size + 1.0
        return cost

    def required(self, blank: NDArray[np.bool_]) -> Requirement:
        """The protection each blank needs, within what any pattern can give: where earlier
        versions made cells known, even blanking everything may not move a cell that far."""
        needed = requirement(self.values, blank, self.knowledge, self.protection)
        down, up = self.reachable
        return Requirement(np.minimum(needed.down, down), np.minimum(needed.up, up))

    @cached_property
    def reachable(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """How far each cell can move down and up with every cell blank (the protection at
        most), given what the attacker knows; without earlier versions, the full interval."""
        knowledge, values = self.knowledge, self.values
        full = np.full(self.size, self.protection, dtype=np.int64)
        if not (knowledge.low > 0).any() and np.isinf(knowledge.high).all():
            return full, full
        everything = np.ones(self.size, dtype=bool)
        cap = int(values.max(initial=0)) + self.protection + 1
        found = feasible_intervals(self.lines.cells, values, everything, knowledge, cap=cap)
        least = np.array([found[cell][0] for cell in range(self.size)])
        most = np.array([min(found[cell][1], cap) for cell in range(self.size)])
        return (
            np.minimum(values - least, full).astype(np.int64),
            np.minimum(most - values, full).astype(np.int64),
        )


@dataclass(frozen=True)
class Optimised:
    """The pattern found (None: no pattern within the limits), with how it was found."""

    blank: NDArray[np.bool_] | None
    rounds: int
    cuts: int
    seconds: float
    reason: str
    # The blanks' sides the LP reached at a whole-number table (see `LpAttacker`).
    certified: frozenset[tuple[int, float]] = frozenset()


def optimal_pattern(problem: Problem, *, time_limit: float = 60.0) -> Optimised:
    """The cheapest pattern protected against the LP attacker (see the module docstring)."""
    started = time.perf_counter()
    checker = LpAttacker(problem)
    candidate = problem.must | ~problem.knowledge.known()
    cuts = _line_cuts(problem, candidate)
    cost = problem.cost()
    for rounds in range(1, _MAX_ROUNDS + 1):
        left = time_limit - (time.perf_counter() - started)
        if left <= 0:
            return Optimised(None, rounds, len(cuts), _since(started), "time limit")
        blank = _master(problem, candidate, cost, cuts, left)
        if blank is None:
            return Optimised(None, rounds, len(cuts), _since(started), "master not solved")
        new = checker.violated(blank)
        if new is None:
            return Optimised(None, rounds, len(cuts), _since(started), "LP not solved")
        if not new:
            certified = checker.certified(blank)
            return Optimised(blank, rounds, len(cuts), _since(started), "optimal", certified)
        cuts.extend(new)
    return Optimised(None, _MAX_ROUNDS, len(cuts), _since(started), "too many rounds")


def _since(started: float) -> float:
    return time.perf_counter() - started


def _line_cuts(problem: Problem, candidate: NDArray[np.bool_]) -> list[Cut]:
    """The line rule as cuts, to start from: a blank needing protection is never alone in a
    line (it would be its margin minus the rest): sum(others) - y_cell >= 0."""
    cuts = []
    everywhere = problem.required(candidate)
    protected = (everywhere.up > 0) | (everywhere.down > 0)
    for line in problem.lines.cells:
        for cell in line:
            if candidate[cell] and protected[cell]:
                others = [other for other in line if other != cell and candidate[other]]
                cells = np.array([*others, cell], dtype=np.int64)
                coefficients = np.ones(len(cells))
                coefficients[-1] = -1.0
                cuts.append((cells, coefficients))
    return cuts


def _master(
    problem: Problem,
    candidate: NDArray[np.bool_],
    cost: NDArray[np.float64],
    cuts: list[Cut],
    time_limit: float,
) -> NDArray[np.bool_] | None:
    # SciPy's optimiser (half a second to import) loads with the first problem solved.
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415
    from scipy.sparse import csr_array  # noqa: PLC0415

    lower = problem.must.astype(np.float64)
    upper = candidate.astype(np.float64)
    constraints = []
    if cuts:
        rows = np.concatenate([np.full(len(cells), n) for n, (cells, _) in enumerate(cuts)])
        columns = np.concatenate([cells for cells, _ in cuts])
        data = np.concatenate([coefficients for _, coefficients in cuts])
        matrix = csr_array((data, (rows, columns)), shape=(len(cuts), problem.size))
        constraints.append(LinearConstraint(matrix, 0.0, np.inf))
    result = milp(
        cost,
        integrality=np.ones(problem.size),
        bounds=Bounds(lower, upper),
        constraints=constraints,
        options={"time_limit": max(time_limit, 0.1)},
    )
    if result.status != 0 or result.x is None:
        return None
    return np.asarray(result.x > 0.5)
