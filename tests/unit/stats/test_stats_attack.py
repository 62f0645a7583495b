"""The recovery attack: it finds what a receiver could work out, and only that."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.stats import (
    TOTAL,
    ConfStatus,
    CubeTable,
    Dimension,
    PublishedTable,
    TableInvalid,
    attack,
    primary_cells,
    round_published,
)
from migrex.stats.attack import equations, solve_blanks
from migrex.stats.exact import Equation

SEX = Dimension("SEX", ("F", "M"))
REGION = Dimension("REGION", ("R1", "R2", "R3", "R4", "R5"))


def _release(table: CubeTable, blank: np.ndarray) -> PublishedTable:
    return PublishedTable.release(table, blank, np.zeros_like(blank))


def _dense_recoverable(unknowns: list[int], system: list[Equation]) -> dict[int, Fraction]:
    """Textbook Gauss–Jordan over fractions on the dense matrix: the reference answer."""
    index = {cell: i for i, cell in enumerate(unknowns)}
    matrix = [[Fraction(0)] * (len(unknowns) + 1) for _ in system]
    for row, equation in zip(matrix, system, strict=True):
        for cell, coefficient in equation.coefficients.items():
            row[index[cell]] = Fraction(coefficient)
        row[-1] = Fraction(equation.constant)
    pivots: list[int] = []
    top = 0
    for column in range(len(unknowns)):
        found = next((r for r in range(top, len(matrix)) if matrix[r][column]), None)
        if found is None:
            continue
        matrix[top], matrix[found] = matrix[found], matrix[top]
        lead = matrix[top][column]
        matrix[top] = [value / lead for value in matrix[top]]
        for r, row in enumerate(matrix):
            if r != top and row[column]:
                factor = row[column]
                matrix[r] = [a - factor * b for a, b in zip(row, matrix[top], strict=True)]
        pivots.append(column)
        top += 1
    recovered = {}
    for r, column in enumerate(pivots):
        if all(not value for c, value in enumerate(matrix[r][:-1]) if c != column):
            recovered[unknowns[column]] = matrix[r][-1]
    return recovered


def test_a_single_blank_in_a_line_is_recovered_by_subtraction() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 40, 30, 20, 10]))
    report = attack(_release(table, primary_cells(table, 5)))
    assert report.recovered == {("R1",): 2}
    assert report.collapsed == {("R1",): 2}
    assert report.disclosed == {("R1",): 2}


def test_lines_combine_where_no_single_line_gives_a_cell_away() -> None:
    # Two blank rectangles (rows A, B x columns 1, 2 and rows C, D x columns 3, 4) joined by
    # the blank (B, 3): every line holds two or three blanks, yet rows A + B minus columns
    # 1 + 2 leave exactly (B, 3).
    rows = Dimension("ROW", ("A", "B", "C", "D"))
    columns = Dimension("COL", ("1", "2", "3", "4"))
    table = CubeTable.from_counts((rows, columns), np.arange(16).reshape(4, 4) + 20)
    pattern = [("A", "1"), ("A", "2"), ("B", "1"), ("B", "2"), ("B", "3")]
    pattern += [("C", "3"), ("C", "4"), ("D", "3"), ("D", "4")]
    blank = np.zeros(table.cube.size, dtype=bool)
    for key in pattern:
        blank[table.cube.cell(key)] = True
    for line in table.cube.lines.cells:
        assert sum(bool(blank[cell]) for cell in line) != 1
    assert attack(_release(table, blank)).disclosed == {("B", "3"): 26}
    # Without the bridge, two rectangles: nothing can be pinned.
    blank[table.cube.cell(("B", "3"))] = False
    assert attack(_release(table, blank)).disclosed == {}


def test_a_rectangle_with_its_margins_hides_every_cell() -> None:
    table = CubeTable.from_counts((SEX, REGION), np.array([[3, 4, 50, 60, 70], [5, 6, 80, 90, 99]]))
    blank = np.zeros(table.cube.size, dtype=bool)
    for key in [("F", "R1"), ("F", "R2"), ("M", "R1"), ("M", "R2"), (TOTAL, "R1"), (TOTAL, "R2")]:
        blank[table.cube.cell(key)] = True
    assert attack(_release(table, blank)).disclosed == {}
    # Publishing the R2 total leaves the R1 total alone in the totals row.
    blank[table.cube.cell((TOTAL, "R2"))] = False
    assert attack(_release(table, blank)).recovered == {(TOTAL, "R1"): 8}


def test_bounds_catch_what_algebra_cannot_when_blanks_are_zero() -> None:
    # F: 0 in R1, R2; the F total is 0, so every blank in that row must be 0.
    table = CubeTable.from_counts((SEX, REGION), np.array([[0, 0, 5, 5, 5], [7, 8, 5, 5, 5]]))
    blank = np.zeros(table.cube.size, dtype=bool)
    for key in [("F", "R1"), ("F", "R2"), ("M", "R1"), ("M", "R2")]:
        blank[table.cube.cell(key)] = True
    report = attack(_release(table, blank))
    assert report.recovered == {}
    assert report.collapsed == {("F", "R1"): 0, ("F", "R2"): 0, ("M", "R1"): 7, ("M", "R2"): 8}
    assert report.bounds[("M", "R1")] == (7, 7)


def test_narrow_intervals_are_reported_against_a_threshold() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 1, 30, 20, 10]))
    report = attack(_release(table, primary_cells(table, 5)), threshold=5)
    assert report.disclosed == {}
    assert report.bounds == {("R1",): (0, 3), ("R2",): (0, 3)}
    assert report.narrow == (("R1",), ("R2",))


def test_a_release_that_contradicts_its_margins_is_refused() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 40, 30, 20, 10]))
    released = _release(table, primary_cells(table, 5))
    forged = np.array(released.values)
    forged[table.cube.cell((TOTAL,))] = 1
    with pytest.raises(TableInvalid, match="contradict"):
        attack(PublishedTable(released.cube, forged, released.status))


def test_a_rounded_release_is_attacked_unrounded() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 41, 32, 20, 10]))
    released = _release(table, primary_cells(table, 5))
    rounded = round_published(released, 5)
    assert rounded.value(("R2",)) == 40
    assert rounded.value(("R3",)) == 30
    assert rounded.value((TOTAL,)) == 105
    assert rounded.status_of(("R1",)) is ConfStatus.PRIMARY
    with pytest.raises(ValueError, match="unrounded"):
        attack(rounded)


@st.composite
def tables_with_blanks(draw: st.DrawFn) -> tuple[CubeTable, np.ndarray]:
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    dimensions = tuple(
        Dimension(f"D{i}", tuple(f"c{j}" for j in range(n))) for i, n in enumerate(sizes)
    )
    interior = int(np.prod(sizes))
    counts = draw(st.lists(st.integers(0, 12), min_size=interior, max_size=interior))
    table = CubeTable.from_counts(dimensions, np.array(counts).reshape(sizes))
    blank = draw(st.lists(st.booleans(), min_size=table.cube.size, max_size=table.cube.size))
    return table, np.array(blank, dtype=bool)


@settings(max_examples=150, deadline=None)
@given(tables_with_blanks())
def test_exact_recovery_agrees_with_dense_elimination(case: tuple[CubeTable, np.ndarray]) -> None:
    table, blank = case
    unknowns = np.flatnonzero(blank).tolist()
    expected = _dense_recoverable(unknowns, equations(table.cube, table.values, blank))
    solution = solve_blanks(table.cube, table.values, blank)
    assert solution.recovered == expected
    assert all(value == table.values[cell] for cell, value in solution.recovered.items())
    # Every cell not recovered is shown free by a witness that publishes the same values.
    for witness in solution.witnesses:
        for line in table.cube.lines.cells:
            assert sum(witness.get(c, 0) for c in line[:-1]) == witness.get(line[-1], 0)
    for cell in set(unknowns) - set(solution.recovered):
        assert any(witness[cell] for witness in solution.witnesses)
