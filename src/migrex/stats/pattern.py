"""Secondary suppression chosen by an optimiser: the cheapest pattern of blanks that keeps
every blank's feasible range as wide as the agreement's protection interval.

The model is the classic one of Fischetti and Salazar (2001), solved with HiGHS through SciPy:

* a master MILP chooses which cells are blank (binary y per cell), all primary and forced cells
  blank, minimising the information lost;
* for a chosen pattern, each blank and each side is checked by an LP: how far can the cell move
  (above, or below) while every line still adds up, the published cells stay put and every cell
  stays within what the attacker knows ([low, high], so at least 0)? That is the attacker's
  interval with whole numbers relaxed;
* where a side falls short, LP duality gives a cut the master must satisfy from then on: the
  LP's value is bounded by a sum over the cells whose bounds hold the cell in, each term
  (dual value × how far that cell's bound moves when it is blanked) counting only when the
  cell is blank. Blanking nothing new keeps the value below the requirement, so the master must
  blank some cell with a positive term (or, for a secondary, leave the cell itself published).
  The cut is valid for every pattern, not just this one, because the dual's feasible region
  does not depend on the pattern.
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
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array

from migrex.stats.cube import Lines
from migrex.stats.intervals import Knowledge, Requirement, feasible_intervals, requirement

_TOLERANCE = 1e-6
_MAX_ROUNDS = 200

# A cut `coefficients @ y >= 0` over the cells, kept sparse: (cell numbers, coefficients).
Cut = tuple[NDArray[np.int64], NDArray[np.float64]]


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
    # The blanks' sides the LP reached at a whole-number table (see `_Checker`).
    certified: frozenset[tuple[int, float]] = frozenset()


def optimal_pattern(problem: Problem, *, time_limit: float = 60.0) -> Optimised:
    """The cheapest pattern protected against the LP attacker (see the module docstring)."""
    started = time.perf_counter()
    checker = _Checker(problem)
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


def _line_matrix(lines: Lines, size: int) -> csr_array:
    """Lines as rows: +1 for each member, -1 for the margin."""
    rows: list[int] = []
    columns: list[int] = []
    data: list[float] = []
    for number, line in enumerate(lines.cells):
        for position, cell in enumerate(line):
            rows.append(number)
            columns.append(cell)
            data.append(-1.0 if position == len(line) - 1 else 1.0)
    return csr_array((data, (rows, columns)), shape=(len(lines.cells), size))


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


Side = tuple[int, float]  # a cell, and -1.0 for its upper side or 1.0 for its lower


class _Checker:
    """The LP attacker, one LP per blank and side. A side reached under a pattern is reached
    under every pattern that blanks more (the attacker's region only grows), so each side
    remembers the last pattern it was reached under and is not solved again while that pattern
    stays blank. Where the LP reached a side at a whole-number point, that point is a whole
    table the integer attacker cannot rule out either: the side is *certified*."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.matrix = _line_matrix(problem.lines, problem.size)
        values = problem.values.astype(np.float64)
        self.low = problem.knowledge.low - values
        self.high = problem.knowledge.high - values
        self.reached: dict[Side, tuple[NDArray[np.bool_], bool]] = {}

    def certified(self, blank: NDArray[np.bool_]) -> frozenset[Side]:
        return frozenset(
            side
            for side, (pattern, whole) in self.reached.items()
            if whole and blank[side[0]] and not (pattern & ~blank).any()
        )

    def violated(self, blank: NDArray[np.bool_]) -> list[Cut] | None:
        """A cut for each blank and side the LP attacker narrows; None when an LP fails."""
        # Deviations from the true table: a blank moves within what the attacker knows, a
        # published cell not at all.
        lower = np.where(blank, self.low, 0.0)
        upper = np.where(blank, self.high, 0.0)
        needed = self.problem.required(blank)
        # Each LP solution is a whole move of the table that publishes the same values; it
        # reaches every side it moves far enough, not only the side it was solved for.
        moves: list[tuple[NDArray[np.float64], bool]] = []
        cuts = []
        for cell in np.flatnonzero(blank).tolist():
            for sign, wanted in ((-1.0, int(needed.up[cell])), (1.0, int(needed.down[cell]))):
                earlier = self.reached.get((cell, sign))
                if wanted <= 0 or (earlier is not None and not (earlier[0] & ~blank).any()):
                    continue
                reused = next((w for f, w in moves if -sign * f[cell] >= wanted - _TOLERANCE), None)
                if reused is not None:
                    self.reached[(cell, sign)] = (blank.copy(), reused)
                    continue
                result = self._solve(cell, sign, wanted, lower, upper)
                if result is None:
                    return None
                if -float(result.fun) < wanted - _TOLERANCE:
                    cut = _cut(blank, cell, wanted, result, low=self.low, high=self.high)
                    if cut is None:
                        return None
                    cuts.append(cut)
                else:
                    move = np.asarray(result.x, dtype=np.float64)
                    whole = bool(np.all(np.abs(move - np.round(move)) < _TOLERANCE))
                    moves.append((move, whole))
                    self.reached[(cell, sign)] = (blank.copy(), whole)
        return cuts

    def _solve(
        self,
        cell: int,
        sign: float,
        wanted: int,
        lower: NDArray[np.float64],
        upper: NDArray[np.float64],
    ) -> Any:
        """The LP of one side, the cell's own move capped at what is needed: the LP stops
        there, and a capped optimum is more often a whole-number point."""
        objective = np.zeros(self.problem.size)
        objective[cell] = sign
        own_lower, own_upper = lower[cell], upper[cell]
        if sign < 0:
            upper[cell] = min(own_upper, wanted)
        else:
            lower[cell] = max(own_lower, -wanted)
        bounds = np.column_stack([lower, np.where(np.isinf(upper), np.inf, upper)])
        try:
            result = linprog(
                objective, A_eq=self.matrix, b_eq=np.zeros(self.matrix.shape[0]),
                bounds=bounds, method="highs",
            )  # fmt: skip
        finally:
            lower[cell], upper[cell] = own_lower, own_upper
        return result if result.status == 0 else None


def _cut(
    blank: NDArray[np.bool_],
    cell: int,
    wanted: int,
    result: Any,
    *,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
) -> Cut | None:
    """The Benders cut of a side that falls short: sum(term_j * y_j) >= rhs * y_cell, with
    term_j what blanking cell j can add to the reach (capped at what is needed)."""
    upper_duals = np.maximum(-np.asarray(result.upper.marginals), 0.0)
    lower_duals = np.maximum(np.asarray(result.lower.marginals), 0.0)
    with np.errstate(invalid="ignore"):
        term = np.where(upper_duals > _TOLERANCE, upper_duals * high, 0.0)
    term = term + np.where(lower_duals > _TOLERANCE, lower_duals * -low, 0.0)
    own = float(term[cell])
    rhs = wanted - own
    term[cell] = 0.0
    term = np.minimum(term, rhs)
    # The cut must cut off the pattern that failed, or the loop would not move.
    if rhs <= _TOLERANCE or float(term[blank].sum()) >= rhs - _TOLERANCE:
        return None
    term[cell] = -rhs
    cells = np.flatnonzero(term)
    return cells.astype(np.int64), term[cells]
