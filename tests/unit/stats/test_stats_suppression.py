"""Disclosure control, proven by attacking every release it makes."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stats_interval_checks import narrowed

from migrex.stats import (
    TOTAL,
    ConfStatus,
    CubeTable,
    Dimension,
    LinkedTables,
    PublishedTable,
    attack,
    primary_cells,
    protect,
)
from migrex.stats.attack import solve_blanks
from migrex.stats.linked import protection_of

REGION = Dimension("REGION", ("R1", "R2", "R3", "R4"))
SEX = Dimension("SEX", ("F", "M"))


def _assert_nothing_recoverable(table: CubeTable, released: PublishedTable) -> None:
    report = attack(released)
    assert report.recovered == {}
    assert report.collapsed == {}
    # Independently of the elimination: each witness changes blank cells only and keeps every
    # line adding up, so it is a different table with the same release; together the witnesses
    # move every blank cell.
    blank = released.blank
    witnesses = solve_blanks(released.cube, released.values, blank).witnesses
    for witness in witnesses:
        assert all(blank[cell] for cell, value in witness.items() if value)
        for line in table.cube.lines.cells:
            members = sum((Fraction(witness.get(cell, 0)) for cell in line[:-1]), Fraction(0))
            assert members == witness.get(line[-1], 0)
    for cell in np.flatnonzero(blank).tolist():
        assert any(witness.get(cell, 0) for witness in witnesses)


def test_primary_cells_are_small_non_zero_cells_margins_included() -> None:
    table = CubeTable.from_counts((SEX, REGION), np.array([[0, 2, 9, 1], [30, 1, 40, 50]]))
    small = {table.cube.key(cell) for cell in np.flatnonzero(primary_cells(table, 5)).tolist()}
    assert small == {("F", "R2"), ("F", "R4"), ("M", "R2"), (TOTAL, "R2")}
    with_zeros = {
        table.cube.key(cell)
        for cell in np.flatnonzero(primary_cells(table, 5, zeros_safe=False)).tolist()
    }
    assert with_zeros == small | {("F", "R1")}


def test_statuses_are_sdmx_conf_status_codes() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 100, 30, 20]))
    released = protect(table, 5)
    assert released.status_of(("R1",)) is ConfStatus.PRIMARY
    assert ConfStatus.PRIMARY.value == "A"
    # One complement (20) would leave it within 22 of R1 = 2: protecting R1 is not enough,
    # the complement's own range must reach 5 above it too, so it takes two; never the total.
    assert released.status_of(("R3",)) is ConfStatus.SECONDARY
    assert released.status_of(("R4",)) is ConfStatus.SECONDARY
    assert ConfStatus.SECONDARY.value == "D"
    assert released.status_of((TOTAL,)) is ConfStatus.FREE
    assert released.value(("R1",)) is None
    assert released.value((TOTAL,)) == 152
    assert (released.primary_count, released.secondary_count) == (1, 2)
    assert narrowed(table.cube.lines.cells, table.values, released.blank, 5) == []
    shown = [(o.key, o.value, o.status.value) for o in released.observations()]
    assert shown[0] == (("R1",), None, "A")
    assert shown[-1] == ((TOTAL,), 152, "F")
    # Nothing of a blank cell's value stays in the release.
    assert released.values[table.cube.cell(("R1",))] == 0


def test_a_line_with_nothing_else_to_blank_gives_up_its_margin() -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 0, 0, 0]))
    released = protect(table, 5)
    assert released.status_of((TOTAL,)) is ConfStatus.PRIMARY
    assert released.secondary_count == 0
    _assert_nothing_recoverable(table, released)


def test_the_exact_check_protects_what_the_line_rule_leaves_exposed() -> None:
    # Primaries: two rectangles joined by (B, 3). Every line already holds two blanks, so the
    # line rule adds nothing, but the bridge can be computed from four lines.
    rows = Dimension("ROW", ("A", "B", "C", "D"))
    columns = Dimension("COL", ("1", "2", "3", "4"))
    counts = np.array([[1, 2, 40, 50], [3, 4, 2, 60], [70, 80, 1, 2], [90, 99, 3, 4]])
    table = CubeTable.from_counts((rows, columns), counts)
    primary = primary_cells(table, 5)
    naive = PublishedTable.release(table, primary, np.zeros_like(primary))
    assert attack(naive).disclosed == {("B", "3"): 2}
    released = protect(table, 5)
    assert released.secondary_count > 0
    _assert_nothing_recoverable(table, released)


@st.composite
def count_tables(draw: st.DrawFn) -> tuple[CubeTable, int]:
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    dimensions = tuple(
        Dimension(f"D{i}", tuple(f"c{j}" for j in range(n))) for i, n in enumerate(sizes)
    )
    interior = int(np.prod(sizes))
    # Mostly small counts, as in a fine breakdown of a few thousand workers.
    count = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(5, 200))
    counts = draw(st.lists(count, min_size=interior, max_size=interior))
    table = CubeTable.from_counts(dimensions, np.array(counts).reshape(sizes))
    return table, draw(st.integers(3, 10))


@settings(max_examples=40, deadline=None)
@given(count_tables(), st.integers(1, 8))
def test_no_blank_is_narrowed_below_the_protection_interval(
    case: tuple[CubeTable, int], protection: int
) -> None:
    table, threshold = case
    released = protect(table, threshold, protection=protection)
    primary = primary_cells(table, threshold)
    assert [status is ConfStatus.PRIMARY for status in released.status] == primary.tolist()
    _assert_nothing_recoverable(table, released)
    lines = table.cube.lines.cells
    assert narrowed(lines, table.values, released.blank, protection) == []
    # Margins are true: every published cell is its count, and the counts add up.
    for line in lines:
        assert int(table.values[list(line[:-1])].sum()) == int(table.values[line[-1]])
    shown = released.values[~released.blank]
    assert shown.tolist() == table.values[~released.blank].tolist()


@settings(max_examples=20, deadline=None)
@given(count_tables())
def test_blanked_zeros_are_protected_too(case: tuple[CubeTable, int]) -> None:
    table, threshold = case
    released = protect(table, threshold, zeros_safe=False)
    assert not attack(released).disclosed
    assert narrowed(table.cube.lines.cells, table.values, released.blank, threshold) == []


@settings(max_examples=80, deadline=None)
@given(count_tables())
def test_the_attack_breaks_primary_suppression_alone(case: tuple[CubeTable, int]) -> None:
    table, threshold = case
    primary = primary_cells(table, threshold)
    naive = PublishedTable.release(table, primary, np.zeros_like(primary))
    report = attack(naive)
    # Whatever it claims is true ...
    assert all(table.value(key) == value for key, value in report.disclosed.items())
    # ... and it finds at least every cell that is alone in blank in one of its lines.
    for line in table.cube.lines.cells:
        blanks = [cell for cell in line if primary[cell]]
        if len(blanks) == 1:
            assert table.cube.key(blanks[0]) in report.recovered


def test_when_the_optimiser_gives_up_the_heuristic_is_completed_by_the_attack() -> None:
    rng = np.random.default_rng(2025)
    sizes = (4, 4, 3, 2)
    dimensions = tuple(
        Dimension(name, tuple(f"{name}{j}" for j in range(n)))
        for name, n in zip(("REGION", "OCCUPATION", "AGE", "PERMIT"), sizes, strict=True)
    )
    weights = rng.dirichlet(np.full(int(np.prod(sizes)), 0.3))
    table = CubeTable.from_counts(dimensions, rng.multinomial(2_000, weights).reshape(sizes))
    tables = LinkedTables.from_tables(dimensions, [table])
    started = time.perf_counter()
    chosen = protection_of(tables, 5, time_limit=0.5)
    protected = time.perf_counter() - started
    print(f"4-D {table.cube.size} cells: fallback and attack {protected:.2f}s")
    assert chosen.method == "heuristic"
    assert chosen.completed > 0
    primary = primary_cells(table, 5)
    assert (chosen.blank & primary).tolist() == primary.tolist()
    assert narrowed(table.cube.lines.cells, table.values, chosen.blank, 5) == []
    assert protected < 60


@pytest.mark.parametrize("threshold", [0, -3])
def test_a_threshold_below_one_is_refused(threshold: int) -> None:
    table = CubeTable.from_counts((REGION,), np.array([2, 100, 30, 20]))
    with pytest.raises(ValueError, match="threshold"):
        protect(table, threshold)
