"""Exact linear algebra over the blank cells: which of them do the published values pin down?

The unknowns are the blank cells only; every line that holds one is an equation whose published
cells are moved to the right-hand side. A blank cell is recoverable exactly when every solution
of the system gives it the same value, i.e. when every vector of the system's nullspace is zero
in its coordinate.

Elimination is sparse and in integers (rows are rescaled by their gcd, so there are no
rounding errors and no Fraction overhead on the hot path), with the Markowitz rule choosing
pivots so that the very sparse line structure stays sparse. Back-substitution then produces
random vectors of the nullspace in exact rationals. A coordinate that is non-zero in such a
vector is *certainly* not recoverable: the vector is a concrete different table that publishes
the same values. A coordinate that is zero in two independent draws is recoverable except with
probability below 2**-60 (Schwartz–Zippel); that error could only make the suppression add a
cell it did not need, never leave a cell exposed.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd

from migrex.stats.cube import TableInvalid

Row = dict[int, int]
Rational = int | Fraction
# Draws of the free unknowns come from this range; two draws bound a wrong "recoverable" by
# (1 / 2**31)**2 per cell.
_DRAW = 2**31
_DRAWS = 2


@dataclass(frozen=True)
class Equation:
    """sum(coefficients[cell] * cell) == constant, over blank cells."""

    coefficients: Row
    constant: int


@dataclass(frozen=True)
class Solution:
    """`recovered` maps each pinned-down unknown to its value; every other unknown is proven
    free by `witnesses`: nullspace vectors, each a change to the blank cells that leaves every
    published value as it is, together non-zero on every free unknown."""

    recovered: dict[int, int]
    witnesses: tuple[dict[int, Rational], ...]


@dataclass
class _Pivot:
    column: int
    row: Row
    constant: int


def _normalised(row: Row, constant: int) -> tuple[Row, int]:
    divisor = 0
    for value in row.values():
        divisor = gcd(divisor, value)
        if divisor == 1:
            return row, constant
    divisor = gcd(divisor, constant)
    if divisor <= 1:
        return row, constant
    return {column: value // divisor for column, value in row.items()}, constant // divisor


class _Echelon:
    """Sparse forward elimination; `pivots` lists the pivots in the order they were taken,
    each row holding its pivot column and columns pivoted later (or never: the free ones)."""

    def __init__(self, equations: Sequence[Equation]) -> None:
        self.rows: dict[int, Row] = {}
        self.constants: dict[int, int] = {}
        # Which rows hold each column: the Markowitz counts and the rows to reduce.
        self.holding: defaultdict[int, set[int]] = defaultdict(set)
        for number, equation in enumerate(equations):
            self.rows[number] = dict(equation.coefficients)
            self.constants[number] = equation.constant
            for column in equation.coefficients:
                self.holding[column].add(number)
        self.pivots: list[_Pivot] = []
        self._run()

    def _run(self) -> None:
        queue = [(len(members), column) for column, members in self.holding.items()]
        heapq.heapify(queue)
        while queue:
            count, column = heapq.heappop(queue)
            members = self.holding.get(column)
            if not members:
                continue
            if count != len(members):
                heapq.heappush(queue, (len(members), column))
                continue
            # Markowitz: the sparsest column, then its sparsest row (a ±1 lead preferred,
            # which keeps the elimination in place and the numbers small).
            rows = self.rows
            chosen = min(
                members,
                key=lambda number: (len(rows[number]), abs(rows[number][column]) != 1, number),
            )
            pivot = _Pivot(column, rows.pop(chosen), self.constants.pop(chosen))
            for other in pivot.row:
                self.holding[other].discard(chosen)
            for number in sorted(members):
                self._reduce(number, pivot)
            del self.holding[column]
            for other in pivot.row:
                if other in self.holding:
                    heapq.heappush(queue, (len(self.holding[other]), other))
            self.pivots.append(pivot)
        # An equation with no unknown at all is a check of the published values alone.
        if any(not self.rows[n] and constant for n, constant in self.constants.items()):
            raise TableInvalid("the published values contradict the table's margins")

    def _reduce(self, number: int, pivot: _Pivot) -> None:
        """Eliminate the pivot's column from row `number`; a row that empties is checked and
        dropped."""
        row = self.rows[number]
        lead, factor = pivot.row[pivot.column], row[pivot.column]
        if factor % lead == 0:
            # The common case (lead ±1): subtract a multiple of the pivot row in place,
            # touching only the pivot's columns.
            multiple = factor // lead
            for other, value in pivot.row.items():
                updated = row.get(other, 0) - multiple * value
                if updated:
                    if other not in row:
                        self.holding[other].add(number)
                    row[other] = updated
                else:
                    row.pop(other, None)
                    self.holding[other].discard(number)
            self.constants[number] -= multiple * pivot.constant
        else:
            for other in row:
                self.holding[other].discard(number)
            combined = {other: lead * value for other, value in row.items()}
            for other, value in pivot.row.items():
                combined[other] = combined.get(other, 0) - factor * value
            row, self.constants[number] = _normalised(
                {other: value for other, value in combined.items() if value},
                lead * self.constants[number] - factor * pivot.constant,
            )
            self.rows[number] = row
            for other in row:
                self.holding[other].add(number)
        if not row:
            if self.constants[number]:
                raise TableInvalid("the published values contradict the table's margins")
            del self.rows[number], self.constants[number]


def _back_substitute(
    pivots: Sequence[_Pivot], free: dict[int, int], homogeneous: bool
) -> dict[int, Rational]:
    values: dict[int, Rational] = dict(free)
    for pivot in reversed(pivots):
        total: Rational = 0 if homogeneous else pivot.constant
        for column, coefficient in pivot.row.items():
            if column != pivot.column:
                total -= coefficient * values[column]
        lead = pivot.row[pivot.column]
        # Leads are mostly ±1: stay in machine-friendly ints until a division is inexact.
        if isinstance(total, Fraction) and total.denominator == 1:
            total = total.numerator
        if isinstance(total, int) and total % lead == 0:
            values[pivot.column] = total // lead
        else:
            values[pivot.column] = Fraction(total, lead)
    return values


def solve(unknowns: Iterable[int], equations: Sequence[Equation], seed: int = 0) -> Solution:
    """Which `unknowns` the `equations` determine, with their values, and proof for the rest."""
    pivots = _Echelon(equations).pivots
    pivoted = {pivot.column for pivot in pivots}
    free_columns = sorted(set(unknowns) - pivoted)
    draw = random.Random(seed)
    witnesses = tuple(
        _back_substitute(
            pivots, {column: draw.randrange(1, _DRAW) for column in free_columns}, True
        )
        for _ in range(_DRAWS)
    )
    particular = _back_substitute(pivots, dict.fromkeys(free_columns, 0), False)
    recovered: dict[int, int] = {}
    for column in pivoted:
        if all(witness[column] == 0 for witness in witnesses):
            value = particular[column]
            if not isinstance(value, int):
                raise TableInvalid("the published values admit no whole-number table")
            recovered[column] = value
    return Solution(recovered, witnesses)
