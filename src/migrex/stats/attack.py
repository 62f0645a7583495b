"""The recovery attack: everything a receiver can work out about the blank cells of a release.

It uses only what is published — the cube's codes, the values that are not blank, and the fact
that every margin is the sum of its line — and tries two things on every blank cell:

* exact recovery by linear algebra over all lines at once (`migrex.stats.exact`);
* the interval attack of `migrex.stats.intervals`: each blank's least and greatest whole value
  over every table that publishes the same (integer programs, with what the flags and earlier
  versions tell as `Knowledge`). A cell whose interval shrinks to one value is disclosed, even
  when linear algebra alone cannot pin it.

Bounds by propagation along the lines (`propagate_bounds`) stay as the heuristic's quick check
for blank zeros; they are sound but can be wider than the integer attack's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import CellKey, Cube, TableInvalid
from migrex.stats.exact import Equation, Solution, solve
from migrex.stats.intervals import Knowledge, feasible_intervals
from migrex.stats.published import PublishedTable

# Propagation on cycles of lines can tighten a bound by one unit per visit; a cap on visits per
# line keeps the attack fast, and stopping early only leaves bounds wider (still sound).
_VISITS_PER_LINE = 200


@dataclass(frozen=True)
class AttackReport:
    """What the attack learnt. `recovered`: blank cells solved exactly by the lines;
    `collapsed`: blank cells whose interval bounds meet; `bounds`: every blank cell's interval
    (high None when unbounded); `narrow`: blank cells whose interval is narrower than the
    threshold asked about (empty when none was given)."""

    recovered: dict[CellKey, int]
    collapsed: dict[CellKey, int]
    bounds: dict[CellKey, tuple[int, int | None]]
    narrow: tuple[CellKey, ...]

    @property
    def disclosed(self) -> dict[CellKey, int]:
        return {**self.collapsed, **self.recovered}


def equations(cube: Cube, values: NDArray[np.int64], blank: NDArray[np.bool_]) -> list[Equation]:
    """One equation per line holding a blank cell: members minus margin is zero, with the
    published cells moved to the constant side."""
    return line_equations(cube.lines.cells, values, blank)


def line_equations(
    lines: Iterable[Sequence[int]], values: NDArray[np.int64], blank: NDArray[np.bool_]
) -> list[Equation]:
    """`equations` over any lines of cell numbers (margin last), such as those of several
    linked tables numbered in one space."""
    found: list[Equation] = []
    is_blank = blank.tolist()
    known = values.tolist()
    for line in lines:
        coefficients: dict[int, int] = {}
        constant = 0
        for position, cell in enumerate(line):
            sign = -1 if position == len(line) - 1 else 1
            if is_blank[cell]:
                coefficients[cell] = sign
            else:
                constant -= sign * known[cell]
        if coefficients:
            found.append(Equation(coefficients, constant))
    return found


def solve_blanks(
    cube: Cube, values: NDArray[np.int64], blank: NDArray[np.bool_], seed: int = 0
) -> Solution:
    """Exact recovery over flat cell indices (see `migrex.stats.exact.solve`)."""
    unknowns = np.flatnonzero(blank).tolist()
    return solve(unknowns, equations(cube, values, blank), seed)


def interval_bounds(
    cube: Cube, values: NDArray[np.int64], blank: NDArray[np.bool_]
) -> dict[int, tuple[int, float]]:
    """Bounds of every blank cell by propagation along the lines (high may be infinite)."""
    return propagate_bounds(np.flatnonzero(blank).tolist(), equations(cube, values, blank))


def propagate_bounds(
    unknowns: Iterable[int], system: Sequence[Equation]
) -> dict[int, tuple[int, float]]:
    """Bounds of every unknown (a count, so at least 0) by propagation along `system`."""
    low: dict[int, float] = {int(cell): 0.0 for cell in unknowns}
    high: dict[int, float] = dict.fromkeys(low, math.inf)
    terms: list[list[tuple[int, int]]] = []
    constants: list[int] = []
    watching: dict[int, list[int]] = {cell: [] for cell in low}
    for equation in system:
        for cell in equation.coefficients:
            watching[cell].append(len(terms))
        terms.append(list(equation.coefficients.items()))
        constants.append(equation.constant)
    queue = deque(range(len(terms)))
    queued = [True] * len(terms)
    budget = _VISITS_PER_LINE * max(len(terms), 1)
    while queue and budget:
        budget -= 1
        number = queue.popleft()
        queued[number] = False
        line = terms[number]
        # The least and greatest each term sign*x can take, infinities counted apart so that
        # "everything but this term" never computes inf - inf.
        least = [low[c] if s > 0 else -high[c] for c, s in line]
        most = [high[c] if s > 0 else -low[c] for c, s in line]
        least_finite = sum(v for v in least if v != -math.inf)
        most_finite = sum(v for v in most if v != math.inf)
        least_infinite = sum(v == -math.inf for v in least)
        most_infinite = sum(v == math.inf for v in most)
        for (cell, sign), own_least, own_most in zip(line, least, most, strict=True):
            rest_least = (
                -math.inf
                if least_infinite - (own_least == -math.inf)
                else least_finite - (own_least if own_least != -math.inf else 0)
            )
            rest_most = (
                math.inf
                if most_infinite - (own_most == math.inf)
                else most_finite - (own_most if own_most != math.inf else 0)
            )
            top = constants[number] - rest_least
            bottom = constants[number] - rest_most
            new_low, new_high = (bottom, top) if sign > 0 else (-top, -bottom)
            changed = False
            if new_low > low[cell]:
                low[cell], changed = new_low, True
            if new_high < high[cell]:
                high[cell], changed = new_high, True
            if low[cell] > high[cell]:
                raise TableInvalid("the published values contradict the table's margins")
            if changed:
                for other in watching[cell]:
                    if not queued[other]:
                        queued[other] = True
                        queue.append(other)
    return {cell: (int(low[cell]), high[cell]) for cell in low}


def attack(
    published: PublishedTable,
    *,
    threshold: int | None = None,
    seed: int = 0,
    knowledge: Knowledge | None = None,
) -> AttackReport:
    """Try to recover every blank cell of `published` from its published cells and margins
    (and `knowledge`: what flags and earlier versions tell)."""
    if published.rounding_base is not None:
        raise ValueError("attack the unrounded release: rounding only adds protection")
    cube, blank = published.cube, published.blank
    solution = solve_blanks(cube, published.values, blank, seed)
    bounds = feasible_intervals(cube.lines.cells, published.values, blank, knowledge)
    return report(solution, bounds, cube.key, threshold)


def report(
    solution: Solution,
    bounds: dict[int, tuple[int, float]],
    key: Callable[[int], CellKey],
    threshold: int | None,
) -> AttackReport:
    """The findings of the exact and the interval attack, cells named by `key`."""
    recovered = {key(cell): value for cell, value in sorted(solution.recovered.items())}
    collapsed = {key(cell): low for cell, (low, high) in bounds.items() if low == high}
    narrow = tuple(
        key(cell)
        for cell, (low, high) in sorted(bounds.items())
        if threshold is not None and high - low < threshold
    )
    shown = {
        key(cell): (low, None if high == math.inf else int(high))
        for cell, (low, high) in sorted(bounds.items())
    }
    return AttackReport(recovered, collapsed, shown, narrow)
