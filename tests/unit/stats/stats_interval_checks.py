"""An interval attack written apart from `migrex.stats.intervals`, to judge releases by.

Every cell of the release is a whole-number variable: a published cell fixed at its value, a
blank one anywhere from 0 up; every line adds up. For each blank, HiGHS finds its least and
greatest value. Protection holds when each blank of true count a reaches a + P and
a - min(P, a).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array


def intervals(
    lines: Sequence[Sequence[int]],
    values: NDArray[np.int64],
    blank: NDArray[np.bool_],
    *,
    low: NDArray[np.int64] | None = None,
    high: NDArray[np.float64] | None = None,
) -> dict[int, tuple[float, float]]:
    """Each blank cell's least and greatest value (greatest inf when unbounded)."""
    size = values.size
    matrix = lil_array((len(lines), size))
    for number, line in enumerate(lines):
        for cell in line[:-1]:
            matrix[number, cell] += 1
        matrix[number, line[-1]] -= 1
    ceiling = 10 * (int(values.max(initial=0)) + 100)
    lower = np.where(blank, 0 if low is None else low, values).astype(float)
    upper = np.where(blank, ceiling if high is None else np.minimum(high, ceiling), values)
    constraint = LinearConstraint(matrix.tocsr(), 0, 0)
    found = {}
    for cell in np.flatnonzero(blank).tolist():
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(size)
            objective[cell] = sign
            result = milp(
                objective,
                integrality=np.ones(size),
                bounds=Bounds(lower, upper.astype(float)),
                constraints=[constraint],
            )
            assert result.status == 0, result.message
            ends.append(float(result.x[cell]))
        least, most = ends
        found[cell] = (least, np.inf if most >= ceiling - 0.5 else most)
    return found


def narrowed(
    lines: Sequence[Sequence[int]],
    values: NDArray[np.int64],
    blank: NDArray[np.bool_],
    protection: int,
    **knowledge: NDArray[np.int64] | NDArray[np.float64] | None,
) -> list[int]:
    """The blank cells whose range falls short of P above or min(P, count) below."""
    short = []
    for cell, (least, most) in intervals(lines, values, blank, **knowledge).items():  # type: ignore[arg-type]
        value = int(values[cell])
        if value - least < min(protection, value) or most - value < protection:
            short.append(cell)
    return short
