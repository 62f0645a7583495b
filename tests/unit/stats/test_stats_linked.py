"""Linked tables: one release over several tables, proven by attacking all of them at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from stats_interval_checks import narrowed

from migrex.stats import (
    TOTAL,
    CellKey,
    ConfStatus,
    CubeTable,
    Dimension,
    LinkedDesign,
    LinkedRelease,
    LinkedTables,
    PublishedTable,
    TableInvalid,
    attack,
    attack_linked,
    primary_cells,
    protect,
    protect_linked,
)
from migrex.stats.attack import line_equations
from migrex.stats.exact import solve
from migrex.stats.suppression import heuristic_blanks

REGION = Dimension("REGION", ("R1", "R2", "R3"))
SEX = Dimension("SEX", ("F", "M"))
AGE = Dimension("AGE", ("Y", "O"))


def _true_value(dimensions: tuple[Dimension, ...], counts: NDArray[np.int64], key: CellKey) -> int:
    """A cell summed straight from the full cross-classification, not from any table."""
    index = tuple(
        slice(None) if code == TOTAL else dimension.codes.index(code)
        for dimension, code in zip(dimensions, key, strict=True)
    )
    return int(counts[index].sum())


def _assert_nothing_recoverable(release: LinkedRelease) -> None:
    report = attack_linked(release)
    assert report.recovered == {}
    assert report.collapsed == {}
    # Independently of the elimination: each witness changes blank cells only and keeps every
    # line of every table adding up, so it is a different dataset with the same release; together
    # the witnesses move every blank cell.
    design, blank = release.design, release.blank
    unknowns = np.flatnonzero(blank).tolist()
    system = line_equations(design.lines.cells, release.values, blank)
    witnesses = solve(unknowns, system).witnesses
    for witness in witnesses:
        assert all(blank[cell] for cell, value in witness.items() if value)
        for cube, ids in zip(design.cubes, design.ids, strict=True):
            for line in cube.lines.cells:
                cells = [int(ids[cell]) for cell in line]
                members = sum((Fraction(witness.get(c, 0)) for c in cells[:-1]), Fraction(0))
                assert members == witness.get(cells[-1], 0)
    for cell in unknowns:
        assert any(witness.get(cell, 0) for witness in witnesses)


def _mask(design: LinkedDesign, keys: Sequence[CellKey]) -> NDArray[np.bool_]:
    mask = np.zeros(design.size, dtype=bool)
    for key in keys:
        mask[design.cell(key)] = True
    return mask


def test_cells_are_numbered_once_across_tables_in_dataset_order() -> None:
    counts = np.arange(12).reshape(3, 2, 2)
    tables = LinkedTables.from_counts(
        (REGION, SEX, AGE), counts, [("SEX", "REGION"), ("AGE", "SEX")]
    )
    design = tables.design
    # SEX × REGION has 3 × 4 cells; AGE × SEX adds 3 × 3 less the 3 sex totals it shares.
    assert design.size == 12 + 9 - 3
    # Keys are in the dataset's order whatever order a table shows its dimensions in.
    assert design.keys[0] == ("R1", "F", TOTAL)
    assert design.keys[11] == (TOTAL, TOTAL, TOTAL)
    assert design.keys[12] == (TOTAL, "F", "Y")
    shared = design.cell((TOTAL, "M", TOTAL))
    assert shared in design.ids[0].tolist()
    assert shared in design.ids[1].tolist()
    assert tables.values[shared] == counts[:, 1, :].sum()
    assert tables.values[design.cell((TOTAL, TOTAL, "O"))] == counts[:, :, 1].sum()
    with pytest.raises(TableInvalid, match="not a cell"):
        design.cell(("R1", TOTAL, "Y"))


def test_a_table_inside_another_adds_no_cells_and_no_lines() -> None:
    counts = np.arange(12).reshape(3, 2, 2)
    big = LinkedTables.from_counts((REGION, SEX, AGE), counts, [("REGION", "SEX", "AGE")])
    both = LinkedTables.from_counts(
        (REGION, SEX, AGE), counts, [("REGION", "SEX", "AGE"), ("AGE", "SEX")]
    )
    assert both.design.size == big.design.size
    assert set(both.design.lines.cells) == set(big.design.lines.cells)


def test_counts_given_as_a_mapping_or_per_table_give_the_same_tables() -> None:
    counts = np.array([[[3, 0], [7, 1]], [[0, 2], [5, 5]], [[9, 4], [0, 6]]])
    dimensions = (REGION, SEX, AGE)
    design = [("REGION", "SEX"), ("SEX", "AGE")]
    from_array = LinkedTables.from_counts(dimensions, counts, design)
    mapping: dict[CellKey, int] = {
        (r, s, a): int(counts[i, j, k])
        for i, r in enumerate(REGION.codes)
        for j, s in enumerate(SEX.codes)
        for k, a in enumerate(AGE.codes)
    }
    from_mapping = LinkedTables.from_counts(dimensions, mapping, design)
    per_table = LinkedTables.from_tables(
        dimensions,
        [
            CubeTable.from_counts((REGION, SEX), counts.sum(axis=2)),
            CubeTable.from_counts((SEX, AGE), counts.sum(axis=0)),
        ],
    )
    expected = from_array.values.tolist()
    assert from_mapping.values.tolist() == expected
    assert per_table.values.tolist() == expected


def test_tables_that_disagree_on_a_shared_cell_are_refused() -> None:
    by_region = CubeTable.from_counts((REGION, SEX), np.array([[5, 6], [7, 8], [9, 10]]))
    # 21 women and 24 men by region, but 21 and 25 by age: the male total is not one number.
    by_age = CubeTable.from_counts((AGE, SEX), np.array([[10, 11], [11, 14]]))
    with pytest.raises(TableInvalid, match=r"\('_T', 'M', '_T'\) counts 24 .* 25 in AGE × SEX"):
        LinkedTables.from_tables((REGION, SEX, AGE), [by_region, by_age])


@pytest.mark.parametrize(
    ("dimensions", "tables", "message"),
    [
        ((REGION, SEX, AGE), [("REGION", "SEX"), ("SEX", "AGE"), ("AGE", "REGION")], "cycle"),
        ((REGION, SEX), [("REGION", "SEX"), ("SEX", "REGION")], "twice"),
        ((REGION, SEX), [("REGION", "PERMIT")], "PERMIT"),
        ((REGION, SEX), [], "at least one table"),
        ((REGION, SEX), [("REGION", "REGION")], "distinct"),
        ((REGION, SEX), [()], "distinct"),
        ((Dimension("TIME", ("2024", "2025"), total=None), SEX), [("SEX",)], "needs a total"),
    ],
)
def test_a_design_that_cannot_be_proven_is_refused(
    dimensions: tuple[Dimension, ...], tables: list[tuple[str, ...]], message: str
) -> None:
    with pytest.raises(TableInvalid, match=message):
        LinkedDesign(dimensions, tuple(tables))


def test_tables_on_other_code_lists_and_bad_counts_are_refused() -> None:
    other_sex = Dimension("SEX", ("F", "M", "X"))
    table = CubeTable.from_counts((REGION, other_sex), np.ones((3, 3), dtype=np.int64))
    with pytest.raises(TableInvalid, match="differs from the dataset's"):
        LinkedTables.from_tables((REGION, SEX), [table])
    with pytest.raises(TableInvalid, match="not a code of dimension 'AGE'"):
        LinkedTables.from_counts((REGION, SEX, AGE), {("R1", "F", "X"): 3}, [("REGION",)])
    with pytest.raises(TableInvalid, match="negative"):
        LinkedTables.from_counts((REGION, SEX), {("R1", "F"): 3, ("R1", "M"): -3}, [("REGION",)])
    with pytest.raises(TableInvalid, match="shape"):
        LinkedTables.from_counts((REGION, SEX), np.ones((2, 3), dtype=np.int64), [("REGION",)])


# The age × sex table alone must hide (Y, F) = 3. Old men count 0, so the line of men offers
# only the male total, and the sex totals end up blank; region × sex alone has no small cell
# and publishes them.
COUNTS = np.array([[[1, 9], [12, 0]], [[1, 10], [13, 0]], [[1, 11], [15, 0]]])
DESIGN = [("REGION", "SEX"), ("AGE", "SEX")]


def test_tables_protected_one_by_one_leak_through_a_shared_margin() -> None:
    tables = LinkedTables.from_counts((REGION, SEX, AGE), COUNTS, DESIGN)
    design = tables.design
    one_by_one = [_heuristic(table, 5) for table in tables.tables]
    for released in one_by_one:
        assert attack(released).disclosed == {}
    by_age = one_by_one[1]
    assert by_age.status_of(("Y", "F")) is ConfStatus.PRIMARY
    assert by_age.value((TOTAL, "F")) is None
    assert one_by_one[0].value((TOTAL, "F")) == 33
    # A receiver holds both: a cell published by either table is known.
    blank = np.ones(design.size, dtype=bool)
    primary = np.zeros(design.size, dtype=bool)
    for released, ids in zip(one_by_one, design.ids, strict=True):
        blank[ids[~released.blank]] = False
        statuses = np.array([status is ConfStatus.PRIMARY for status in released.status])
        primary[ids[statuses]] = True
    together = LinkedRelease.release(tables, primary, blank & ~primary)
    assert attack_linked(together).disclosed[(TOTAL, "F", "Y")] == 3

    linked = protect_linked(tables, 5)
    # One cell, one status: the female total is the same in both tables, and nothing blank
    # can be narrowed below the interval from both together.
    by_region, by_age_linked = linked.tables
    assert by_region.status_of((TOTAL, "F")) is by_age_linked.status_of((TOTAL, "F"))
    assert linked.value((TOTAL, "F", "Y")) is None
    _assert_nothing_recoverable(linked)
    assert narrowed(design.lines.cells, tables.values, linked.blank, 5) == []


def _heuristic(table: CubeTable, threshold: int) -> PublishedTable:
    """A table protected on its own by the heuristic (the optimiser's fallback)."""
    primary = primary_cells(table, threshold)
    blank = heuristic_blanks(table, threshold)
    return PublishedTable.release(table, primary, blank & ~primary)


def test_the_attack_on_all_tables_finds_what_no_single_table_gives_away() -> None:
    # A × C blanks its column c1 in rows a1, a2 only, with their row totals: it tells the
    # receiver the sum of the A totals of a1 and a2. A × B, alone, leaves that sum free, and
    # with it the blanks of its column b1; knowing it pins (a3, b1).
    a, b, c = (
        Dimension(n, tuple(f"{n.lower()}{i}" for i in range(k)))
        for n, k in zip("ABC", (4, 3, 2), strict=True)
    )
    counts = np.array(
        [
            [[20, 23], [36, 33], [6, 30]],
            [[26, 21], [6, 17], [33, 17]],
            [[31, 5], [20, 7], [34, 16]],
            [[9, 27], [9, 33], [27, 20]],
        ]
    )
    tables = LinkedTables.from_counts((a, b, c), counts, [("A", "B"), ("A", "C")])
    margins = [(f"a{i}", TOTAL, TOTAL) for i in range(4)]
    by_b = [("a0", "b2"), ("a1", "b1"), ("a2", "b1"), ("a3", "b1"), ("a3", "b2")]
    by_c = [("a0", "c0"), ("a1", "c1"), ("a2", "c1"), ("a3", "c0")]
    pattern = margins + [(x, y, TOTAL) for x, y in by_b] + [(x, TOTAL, z) for x, z in by_c]
    forced = _mask(tables.design, pattern)
    naive = LinkedRelease.release(tables, np.zeros_like(forced), forced)
    for table in naive.tables:
        assert attack(table).disclosed == {}
    assert attack_linked(naive).recovered == {("a3", "b1", TOTAL): 42}

    linked = protect_linked(tables, 1, forced=forced)
    assert (linked.blank & forced).tolist() == forced.tolist()
    assert linked.blank.sum() > forced.sum()
    _assert_nothing_recoverable(linked)


def test_one_table_is_protected_as_protect_does() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 12, size=(3, 2, 2))
    tables = LinkedTables.from_counts((REGION, SEX, AGE), counts, [("REGION", "AGE")])
    linked = protect_linked(tables, 5)
    alone = protect(tables.tables[0], 5)
    assert linked.tables[0].status == alone.status


def test_observations_come_table_by_table_each_cell_once() -> None:
    tables = LinkedTables.from_counts((REGION, SEX, AGE), COUNTS, DESIGN)
    release = protect_linked(tables, 5)
    keys = [observation.key for observation in release.observations()]
    assert len(keys) == len(set(keys)) == tables.design.size
    assert keys[:12] == [
        (region, sex, TOTAL) for region in (*REGION.codes, TOTAL) for sex in (*SEX.codes, TOTAL)
    ]
    # Then what AGE × SEX adds: its cells less the sex totals met already.
    assert keys[12:] == [(TOTAL, sex, age) for age in AGE.codes for sex in (*SEX.codes, TOTAL)]
    first = next(release.observations())
    assert first.key == ("R1", "F", TOTAL)
    assert (first.value is None) is (first.status is not ConfStatus.FREE)
    assert release.value((TOTAL, TOTAL, TOTAL)) == 73
    assert release.primary_count == 1
    assert narrowed(tables.design.lines.cells, tables.values, release.blank, 5) == []


def test_forced_cells_must_fit() -> None:
    tables = LinkedTables.from_counts((REGION, SEX, AGE), COUNTS, DESIGN)
    with pytest.raises(ValueError, match="forced"):
        protect_linked(tables, 5, forced=np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="forced"):
        protect(tables.tables[0], 5, forced=np.zeros(3, dtype=bool))


@st.composite
def linked_cases(draw: st.DrawFn) -> tuple[NDArray[np.int64], LinkedTables, int, bool]:
    sizes = draw(st.lists(st.integers(2, 4), min_size=2, max_size=4))
    dimensions = tuple(
        Dimension(f"D{i}", tuple(f"c{j}" for j in range(n))) for i, n in enumerate(sizes)
    )
    ids = [dimension.id for dimension in dimensions]
    subsets = [subset for size in range(1, 4) for subset in combinations(ids, size)]
    chosen = draw(st.lists(st.sampled_from(subsets), min_size=1, max_size=4, unique_by=frozenset))
    # Each table shows its dimensions in an order of its own.
    shown = [tuple(draw(st.permutations(table))) for table in chosen]
    try:
        LinkedDesign(dimensions, tuple(shown))
    except TableInvalid as refused:
        assert "cycle" in str(refused)
        assume(False)
    interior = int(np.prod(sizes))
    # Mostly small counts, as in a fine breakdown of a few thousand workers.
    count = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(5, 200))
    counts = np.array(draw(st.lists(count, min_size=interior, max_size=interior))).reshape(sizes)
    tables = LinkedTables.from_counts(dimensions, counts, shown)
    return counts, tables, draw(st.integers(3, 10)), draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(linked_cases())
def test_a_linked_release_hides_every_blank_and_tells_the_truth(
    case: tuple[NDArray[np.int64], LinkedTables, int, bool],
) -> None:
    counts, tables, threshold, zeros_safe = case
    design = tables.design
    release = protect_linked(tables, threshold, zeros_safe=zeros_safe)
    # (a) Every cell below the threshold, in whichever table, is blank and primary.
    for table, published in zip(tables.tables, release.tables, strict=True):
        small = primary_cells(table, threshold, zeros_safe=zeros_safe)
        assert [s is ConfStatus.PRIMARY for s in published.status] == small.tolist()
    # (b) Nothing blank can be worked out from all the tables together, nor narrowed below
    # the interval (the threshold, by default).
    _assert_nothing_recoverable(release)
    assert narrowed(design.lines.cells, tables.values, release.blank, threshold) == []
    # (c) A cell several tables share has one value and one status in all of them.
    seen: dict[CellKey, tuple[int | None, ConfStatus]] = {}
    for cube, published in zip(design.cubes, release.tables, strict=True):
        axis = [design.dimensions.index(dimension) for dimension in cube.dimensions]
        for observation in published.observations():
            full = [TOTAL] * len(design.dimensions)
            for place, code in zip(axis, observation.key, strict=True):
                full[place] = code
            shown = (observation.value, observation.status)
            assert seen.setdefault(tuple(full), shown) == shown
    assert seen == {o.key: (o.value, o.status) for o in release.observations()}
    # (d), (e) Every published value, margins included, is the true count of the full
    # cross-classification, never a sum of what is left after suppression.
    for observation in release.observations():
        if observation.value is not None:
            assert observation.value == _true_value(design.dimensions, counts, observation.key)


def _workers(persons: int, seed: int) -> tuple[tuple[Dimension, ...], NDArray[np.int64]]:
    """A skewed dataset like the agreement's: few large regions and occupations, many small."""
    rng = np.random.default_rng(seed)
    sizes = {"REGION": 17, "SEX": 2, "AGE": 6, "OCCUPATION": 10, "PERMIT": 4}
    dimensions = tuple(
        Dimension(name, tuple(f"{name[:3]}{i}" for i in range(n))) for name, n in sizes.items()
    )
    shape = tuple(sizes.values())
    weights = np.ones(shape)
    for axis, n in enumerate(shape):
        share = rng.dirichlet(np.full(n, 0.7))
        weights = weights * share.reshape([n if a == axis else 1 for a in range(len(shape))])
    weights = weights * rng.gamma(0.5, size=shape)
    counts = rng.multinomial(persons, (weights / weights.sum()).reshape(-1)).reshape(shape)
    return dimensions, counts


@pytest.mark.parametrize("persons", [2_600, 26_000])
def test_a_release_of_five_dimensions_is_protected_in_seconds(persons: int) -> None:
    dimensions, counts = _workers(persons, 2025)
    design = [
        ("REGION", "SEX"),
        ("AGE", "SEX"),
        ("OCCUPATION", "SEX"),
        ("PERMIT", "SEX"),
        ("REGION", "SEX", "AGE"),
    ]
    tables = LinkedTables.from_counts(dimensions, counts, design)
    started = time.perf_counter()
    release = protect_linked(tables, 5)
    protected = time.perf_counter() - started
    report = attack_linked(release)
    attacked = time.perf_counter() - started - protected
    print(
        f"{persons} persons, {tables.design.size} cells: protect {protected:.3f}s, "
        f"attack {attacked:.3f}s, {release.primary_count} primary, "
        f"{release.secondary_count} secondary"
    )
    assert release.primary_count > 0
    assert report.disclosed == {}
    assert protected < 30
