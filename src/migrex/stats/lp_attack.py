"""The LP attacker of the suppression optimiser, and the cuts it hands to the master.

For a chosen pattern, each blank and each side is an LP: how far can the cell move (above, or
below) while every line still adds up, the published cells stay put and every cell stays
within what the attacker knows ([low, high], so at least 0)? That is the interval attack with
whole numbers relaxed.

Where a side falls short, LP duality gives a cut: the LP's value is bounded by a sum over the
cells whose bounds hold the cell in, each term (dual value × how far that cell's bound moves
when it is blanked) counting only when the cell is blank. Blanking nothing new keeps the value
below the requirement, so the master must blank some cell with a positive term (or, for a
secondary, leave the cell itself published). The cut is valid for every pattern, not just this
one, because the dual's feasible region does not depend on the pattern (Fischetti and Salazar,
2001).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import Lines

if TYPE_CHECKING:
    from scipy.sparse import csr_array

    from migrex.stats.pattern import Problem

_TOLERANCE = 1e-6

# A cut `coefficients @ y >= 0` over the cells, kept sparse: (cell numbers, coefficients).
Cut = tuple[NDArray[np.int64], NDArray[np.float64]]


Side = tuple[int, float]  # a cell, and -1.0 for its upper side or 1.0 for its lower


class LpAttacker:
    """The LP attacker, one LP per blank and side. A side reached under a pattern is reached
    under every pattern that blanks more (the attacker's region only grows), so each side
    remembers the last pattern it was reached under and is not solved again while that pattern
    stays blank. Where the LP reached a side at a whole-number point, that point is a whole
    table the integer attacker cannot rule out either: the side is *certified*."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.matrix = line_matrix(problem.lines, problem.size)
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
        from scipy.optimize import linprog  # noqa: PLC0415 - see `pattern._master`

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


def line_matrix(lines: Lines, size: int) -> csr_array:
    """Lines as rows: +1 for each member, -1 for the margin."""
    from scipy.sparse import csr_array  # noqa: PLC0415 - loads with the first problem solved

    rows: list[int] = []
    columns: list[int] = []
    data: list[float] = []
    for number, line in enumerate(lines.cells):
        for position, cell in enumerate(line):
            rows.append(number)
            columns.append(cell)
            data.append(-1.0 if position == len(line) - 1 else 1.0)
    return csr_array((data, (rows, columns)), shape=(len(lines.cells), size))
