"""The cube: margins summed from the counts, keys and flat cells, and the lines between them."""

from __future__ import annotations

import numpy as np
import pytest

from migrex.stats import TOTAL, CellKey, CubeTable, Dimension, TableInvalid

SEX = Dimension("SEX", ("F", "M"))
REGION = Dimension("REGION", ("KZ-ALA", "KZ-AST", "KZ-SHY"))
YEAR = Dimension("TIME_PERIOD", ("2024", "2025"), total=None)


def test_margins_are_summed_from_the_counts() -> None:
    table = CubeTable.from_counts(
        (SEX, REGION),
        {("F", "KZ-ALA"): 3, ("M", "KZ-ALA"): 10, ("M", "KZ-SHY"): 7},
    )
    assert table.value(("F", TOTAL)) == 3
    assert table.value(("M", TOTAL)) == 17
    assert table.value((TOTAL, "KZ-ALA")) == 13
    assert table.value((TOTAL, "KZ-AST")) == 0
    assert table.value((TOTAL, TOTAL)) == 20
    assert table.cube.size == 3 * 4
    assert not table.values.flags.writeable


def test_an_array_of_counts_gives_the_same_cube_as_a_mapping() -> None:
    counts = np.arange(6).reshape(2, 3)
    mapping: dict[CellKey, int] = {
        (sex, region): int(counts[i, j])
        for i, sex in enumerate(SEX.codes)
        for j, region in enumerate(REGION.codes)
    }
    from_array = CubeTable.from_counts((SEX, REGION), counts)
    from_mapping = CubeTable.from_counts((SEX, REGION), mapping)
    assert from_array.values.tolist() == from_mapping.values.tolist()


def test_every_line_sums_to_its_margin() -> None:
    rng = np.random.default_rng(5)
    dimensions = (
        Dimension("A", ("a1", "a2", "a3")),
        Dimension("B", ("b1", "b2")),
        Dimension("C", ("c1", "c2", "c3", "c4")),
    )
    table = CubeTable.from_counts(dimensions, rng.integers(0, 20, size=(3, 2, 4)))
    lines = table.cube.lines
    # One line per dimension and per combination of the other dimensions' cube codes.
    assert len(lines.cells) == 3 * 5 + 4 * 5 + 4 * 3
    for line in lines.cells:
        assert sum(int(table.values[cell]) for cell in line[:-1]) == table.values[line[-1]]
    assert all(len(of) == 3 for of in lines.of_cell)


def test_a_dimension_without_total_is_never_summed_over() -> None:
    table = CubeTable.from_counts((YEAR, SEX), np.array([[5, 6], [7, 8]]))
    assert table.cube.shape == (2, 3)
    assert table.value(("2025", TOTAL)) == 15
    assert table.cube.grand_total is None
    with pytest.raises(TableInvalid):
        table.value((TOTAL, "F"))
    assert len(table.cube.lines.cells) == 2


def test_keys_and_flat_cells_correspond() -> None:
    table = CubeTable.from_counts((SEX, REGION), np.ones((2, 3), dtype=np.int64))
    for cell in range(table.cube.size):
        assert table.cube.cell(table.cube.key(cell)) == cell
    assert table.cube.key(table.cube.size - 1) == (TOTAL, TOTAL)
    assert next(key for key, _ in table.cells()) == ("F", "KZ-ALA")


def test_a_cube_from_sql_is_checked_for_additivity() -> None:
    good = CubeTable.from_counts((SEX,), {("F",): 4, ("M",): 6})
    cells = dict(good.cells())
    assert CubeTable.from_cube((SEX,), cells).values.tolist() == [4, 6, 10]
    with pytest.raises(TableInvalid, match="not the sum"):
        CubeTable.from_cube((SEX,), {**cells, (TOTAL,): 11})
    with pytest.raises(TableInvalid, match="missing"):
        CubeTable.from_cube((SEX,), {("F",): 4, ("M",): 6})


@pytest.mark.parametrize(
    ("dimensions", "counts", "message"),
    [
        ((SEX,), {("X",): 1}, "not a code"),
        ((SEX,), {(TOTAL,): 1}, "margin"),
        ((SEX,), {("F",): -1}, "negative"),
        ((SEX, REGION), {("F",): 1}, "one code per dimension"),
        ((SEX, SEX), {}, "repeats a dimension"),
        ((), {}, "at least one dimension"),
    ],
)
def test_bad_tables_are_refused(
    dimensions: tuple[Dimension, ...], counts: dict[tuple[str, ...], int], message: str
) -> None:
    with pytest.raises(TableInvalid, match=message):
        CubeTable.from_counts(dimensions, counts)


def test_bad_dimensions_are_refused() -> None:
    with pytest.raises(TableInvalid, match="no codes"):
        Dimension("SEX", ())
    with pytest.raises(TableInvalid, match="repeats a code"):
        Dimension("SEX", ("F", "F"))
    with pytest.raises(TableInvalid, match="total code"):
        Dimension("SEX", ("F", TOTAL))
    with pytest.raises(TableInvalid, match="shape"):
        CubeTable.from_counts((SEX,), np.zeros(3, dtype=np.int64))
