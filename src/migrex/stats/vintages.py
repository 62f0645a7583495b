"""What flags and earlier versions of a release tell an attacker about its cells.

A revision is a new version of the same dataset and period, and the attacker holds every
version (G12). Where a count did not change, what an earlier version said of it is a fact about
the current table; where it changed, it is a fact about a table that no longer is. The producer
knows the current counts and every earlier version as it went out, so it assumes the worst: an
attacker who knows which counts kept their value. Per cell, every earlier statement still true
of the current count a is knowledge:

* a published value equal to a: the cell is known, [a, a];
* the old primary code "A" with a between 1 (0 when zeros are not safe) and threshold-1: the
  cell is in that range;
* the old secondary code "D" with a of at least the threshold: the cell is at least the
  threshold (the code said 0 or at least the threshold; the range holding a is the part the
  attacker can keep — a little stronger than the code, which is the safe side); with a = 0,
  the cell is known to be 0;
* "C", the one code: nothing beyond "at least 0" (see `migrex.stats.intervals`).

And blanks stay blank: a cell blank in an earlier version is blank in the next, or publishing
it would give away the earlier blank and, through the earlier lines, its complements.

Releases of other periods count other people (a stock in 2024 and one in 2025 share no
line), so they are not versions of the same table and tell nothing here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from migrex.stats.cube import CellKey
from migrex.stats.intervals import Knowledge
from migrex.stats.published import ConfStatus, Observation


def from_versions(
    keys: Sequence[CellKey],
    values: NDArray[np.int64],
    earlier: Iterable[Iterable[Observation]],
    threshold: int,
    *,
    zeros_safe: bool = True,
) -> tuple[Knowledge, NDArray[np.bool_]]:
    """The attacker's knowledge of each cell (numbered as `keys`, true counts `values`) from
    the `earlier` versions' observations, and the cells they left blank."""
    number = {key: cell for cell, key in enumerate(keys)}
    low = np.zeros(len(keys), dtype=np.int64)
    high = np.full(len(keys), math.inf)
    blank = np.zeros(len(keys), dtype=bool)
    smallest = 1 if zeros_safe else 0
    for observations in earlier:
        for observation in observations:
            cell = number.get(observation.key)
            if cell is None:
                continue
            a = int(values[cell])
            if observation.status is not ConfStatus.FREE:
                blank[cell] = True
            found = _range(observation, a, threshold, smallest)
            if found is not None:
                low[cell] = max(int(low[cell]), found[0])
                high[cell] = min(float(high[cell]), found[1])
    return Knowledge(low, high), blank


def _range(
    observation: Observation, a: int, threshold: int, smallest: int
) -> tuple[int, float] | None:
    """The range an earlier observation gives a cell of count `a`, if it is still true."""
    status = observation.status
    if status is ConfStatus.FREE:
        return (a, a) if observation.value == a else None
    if status is ConfStatus.PRIMARY and smallest <= a < threshold:
        return smallest, threshold - 1
    if status is ConfStatus.SECONDARY:
        if a >= threshold:
            return threshold, math.inf
        if a == 0:
            return 0, 0
    return None


def from_flags(
    status: Sequence[ConfStatus], threshold: int, *, zeros_safe: bool = True
) -> Knowledge:
    """What the flags of one release tell an attacker who does not know the counts: "A" a
    range below the threshold, "D" a gap (0 or at least the threshold), "C" nothing."""
    smallest = 1 if zeros_safe else 0
    low = np.array([smallest if s is ConfStatus.PRIMARY else 0 for s in status], dtype=np.int64)
    high = np.array([threshold - 1 if s is ConfStatus.PRIMARY else math.inf for s in status])
    gap = np.array([s is ConfStatus.SECONDARY for s in status], dtype=bool)
    return Knowledge(low, high, gap, threshold)
