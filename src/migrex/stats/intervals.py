"""The interval attack: for each blank cell, the least and the greatest count it can hold.

The attacker knows the threshold, every flag and every table of the release and of earlier
versions of it (G12). What that tells them about the blank cells:

* every line of every table adds up: the cells of a line sum to its margin, with the published
  cells known exactly;
* every count is a whole number, at least 0;
* the flags. A release carries one code, "C", for every blank. A primary blank holds 1 to
  threshold-1 persons (0 too when zeros are not safe); a secondary blank is a cell that was not
  primary, so it holds 0 or at least the threshold. An attacker who cannot tell the two apart
  knows the union of both, which is every count: the one code adds nothing to "at least 0".
  (With the old codes "A" and "D" an "A" cell was known to hold 1 to threshold-1, and that
  narrows it and its complements: `migrex.stats.vintages` still models it for releases that
  went out so.)
* what earlier versions published of the same cells, as a range per cell (`Knowledge`).

Zeros: a zero cell is published by default (`zeros_safe`), but the optimiser may blank one as
a secondary, and a primary is never 0 then; an attacker who cannot tell the two apart still
cannot rule 0 in or out for any blank, which is why "at least 0" is all the code tells. A blank
zero needs its range to reach P above it; below it there is nothing to hide.

So the attack solves, for each blank cell, two integer programs — the cell's minimum and its
maximum over every whole-number table that fits all of the above — with HiGHS through SciPy.
Whole numbers matter: in linked tables the constraint matrix is not totally unimodular, and an
integer attacker can be sharper than the LP relaxation.

Protection (the agreement's `statistics.protection_interval`, P) asks, for a blank cell of
true count a, that the feasible range reach a + P above, and a - min(P, a) below: "where the
values allow" means that a count is never negative, so a cell of 3 persons is protected below
when 0 is feasible. Where an earlier version already narrowed a cell (it published the cell,
or a range for it, or cells that fix it), no new pattern can widen that again; the requirement
is then what the earlier knowledge leaves with every cell blank
(`migrex.stats.pattern.Problem.required`), and a cell falls short only if even that is not met.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import TableInvalid

# SciPy's optimiser (about half a second to import) loads with the first problem solved,
# not with every node that merely imports statistics.
if TYPE_CHECKING:
    from scipy.optimize import Bounds, LinearConstraint
    from scipy.sparse import csr_array

# A feasible range reaching this far above the largest count in play counts as unbounded;
# the cap keeps the integer programs bounded (HiGHS reports unbounded MILPs unreliably).
_CAP_FACTOR = 8


@dataclass(frozen=True)
class Knowledge:
    """What the attacker knows of each cell besides the lines: it lies in [low, high]
    (high may be infinite). Without earlier versions: [0, inf) for every cell.

    `gap` marks cells known to be 0 or at least `gap_at` (the old secondary code "D" told
    that); only the integer attack reads it."""

    low: NDArray[np.int64]
    high: NDArray[np.float64]
    gap: NDArray[np.bool_] | None = None
    gap_at: int = 0

    @classmethod
    def counts_only(cls, size: int) -> Knowledge:
        return cls(np.zeros(size, dtype=np.int64), np.full(size, math.inf))

    def known(self) -> NDArray[np.bool_]:
        """The cells whose value the attacker knows outright."""
        return np.asarray(self.high == self.low)


@dataclass(frozen=True)
class Requirement:
    """How far each cell's feasible range must reach below (`down`) and above (`up`) its true
    count; zero for a cell that is not blank."""

    down: NDArray[np.int64]
    up: NDArray[np.int64]


def requirement(
    values: NDArray[np.int64], blank: NDArray[np.bool_], knowledge: Knowledge, protection: int
) -> Requirement:
    """The protection each blank needs: P above, min(P, count) below, within what earlier
    versions left open."""
    if protection < 1:
        raise ValueError("a protection interval is at least 1")
    room_up = np.minimum(knowledge.high - values, protection)
    room_down = np.minimum(values - knowledge.low, protection)
    up = np.where(blank, np.maximum(room_up, 0), 0).astype(np.int64)
    down = np.where(blank, np.maximum(room_down, 0), 0).astype(np.int64)
    return Requirement(down, up)


@dataclass(frozen=True)
class System:
    """The lines as equations over the blank cells (`unknowns`, in order), with the published
    cells moved to the right-hand side."""

    unknowns: tuple[int, ...]
    matrix: csr_array
    rhs: NDArray[np.float64]


def system(
    lines: Iterable[Sequence[int]], values: NDArray[np.int64], blank: NDArray[np.bool_]
) -> System:
    """The equations of every line holding a blank cell (margin last in each line)."""
    from scipy.sparse import csr_array  # noqa: PLC0415

    unknowns = tuple(np.flatnonzero(blank).tolist())
    column = {cell: i for i, cell in enumerate(unknowns)}
    rows: list[int] = []
    columns: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    known = values.tolist()
    for line in lines:
        constant = 0
        row = len(rhs)
        for position, cell in enumerate(line):
            sign = -1 if position == len(line) - 1 else 1
            if cell in column:
                rows.append(row)
                columns.append(column[cell])
                data.append(sign)
            else:
                constant -= sign * known[cell]
        if rows and rows[-1] == row:
            rhs.append(constant)
        elif constant:
            raise TableInvalid("the published values contradict the table's margins")
    matrix = csr_array((data, (rows, columns)), shape=(len(rhs), len(unknowns)))
    return System(unknowns, matrix, np.asarray(rhs, dtype=np.float64))


def feasible_intervals(
    lines: Iterable[Sequence[int]],
    values: NDArray[np.int64],
    blank: NDArray[np.bool_],
    knowledge: Knowledge | None = None,
    *,
    cap: int | None = None,
    only: Iterable[int] | None = None,
) -> dict[int, tuple[int, float]]:
    """Every blank cell's (or the blank cells in `only`) least and greatest whole-number
    value (greatest inf: unbounded).

    `values` is read only where a cell is published. `cap` (default: far above any published
    count) is the value beyond which a cell counts as unbounded."""
    from scipy.optimize import Bounds  # noqa: PLC0415

    equations = system(lines, values, blank)
    count = len(equations.unknowns)
    if not count:
        return {}
    knowledge = knowledge or Knowledge.counts_only(values.size)
    cells = list(equations.unknowns)
    published_max = int(values[~blank].max()) if (~blank).any() else 0
    ceiling = cap if cap is not None else _CAP_FACTOR * (published_max + 1) + 1000
    low = knowledge.low[cells].astype(np.float64)
    high = np.minimum(knowledge.high[cells], ceiling)
    gaps = [] if knowledge.gap is None else np.flatnonzero(knowledge.gap[cells]).tolist()
    constraints = _constraints(equations, gaps, knowledge.gap_at, ceiling)
    # Per gap cell a binary, after the cells (see `_constraints`).
    low = np.r_[low, np.zeros(len(gaps))]
    high = np.r_[high, np.ones(len(gaps))]
    wanted = None if only is None else set(only)
    found: dict[int, tuple[int, float]] = {}
    for i, cell in enumerate(cells):
        if wanted is not None and cell not in wanted:
            continue
        least = _extreme(i, 1.0, Bounds(low, high), constraints)
        most = _extreme(i, -1.0, Bounds(low, high), constraints)
        found[cell] = (round(least), math.inf if most >= ceiling - 0.5 else round(most))
    return found


def _constraints(
    equations: System, gaps: list[int], gap_at: int, ceiling: int
) -> list[LinearConstraint]:
    """The lines, and for each gap cell x with its binary z: x >= gap_at * z and
    x <= ceiling * z, so that x = 0 or x >= gap_at."""
    from scipy.optimize import LinearConstraint  # noqa: PLC0415
    from scipy.sparse import csr_array  # noqa: PLC0415

    count, extra = len(equations.unknowns), len(gaps)
    matrix = equations.matrix
    constraints = []
    if matrix.shape[0]:
        widened = csr_array(
            (matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], count + extra)
        )
        constraints.append(LinearConstraint(widened, equations.rhs, equations.rhs))
    if extra:
        rows = np.r_[np.arange(extra), np.arange(extra)]
        columns = np.r_[gaps, count + np.arange(extra)]
        shape = (extra, count + extra)
        above = csr_array((np.r_[np.ones(extra), np.full(extra, -gap_at)], (rows, columns)), shape)
        below = csr_array((np.r_[np.ones(extra), np.full(extra, -ceiling)], (rows, columns)), shape)
        constraints += [LinearConstraint(above, 0, np.inf), LinearConstraint(below, -np.inf, 0)]
    return constraints


def _extreme(
    target: int, sign: float, bounds: Bounds, constraints: list[LinearConstraint]
) -> float:
    """The least (sign 1) or greatest (sign -1) whole value of unknown `target`."""
    from scipy.optimize import milp  # noqa: PLC0415

    count = len(bounds.lb)
    objective = np.zeros(count)
    objective[target] = sign
    result = milp(objective, integrality=np.ones(count), bounds=bounds, constraints=constraints)
    if result.status == 2:
        raise TableInvalid("the published values contradict the table's margins")
    if result.x is None:
        raise RuntimeError(f"the interval attack failed: {result.message}")
    return float(result.x[target])


def shortfalls(
    intervals: dict[int, tuple[int, float]],
    values: NDArray[np.int64],
    needed: Requirement,
) -> list[int]:
    """The blank cells whose feasible range falls short of the requirement on either side."""
    short = []
    for cell, (least, most) in sorted(intervals.items()):
        value = int(values[cell])
        if value - least < needed.down[cell] or most - value < needed.up[cell]:
            short.append(cell)
    return short
