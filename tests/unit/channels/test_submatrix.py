"""`peeling.submatrix` is SciPy's `matrix[persons][:, entities]`, without walking every
column of a register of millions for each block."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.channels import peeling
from migrex.channels.peeling import select, submatrix


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_a_submatrix_is_scipys(
    shape: tuple[int, int], density: float, seed: int, data: st.DataObject
) -> None:
    matrix = sp.random(*shape, density=density, format="csr", random_state=seed,
                       data_rvs=lambda k: np.arange(1, k + 1, dtype=np.float64))  # fmt: skip
    persons = np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), unique=True)), np.int64)
    entities = np.array(data.draw(st.lists(st.integers(0, shape[1] - 1), unique=True)), np.int64)
    expected = matrix[persons][:, entities].toarray()
    got = submatrix(matrix, persons, entities)
    assert got.shape == (len(persons), len(entities))
    assert got.has_sorted_indices
    assert np.array_equal(got.toarray(), expected)
    # Both ways of finding the entities, whichever the sizes would pick.
    edges = matrix[persons].indices
    ways = (peeling._by_search(edges, entities), peeling._by_table(edges, entities, shape[1]))
    for found, column in ways:
        assert np.array_equal(column, got_columns(matrix, persons, entities)[found])


def got_columns(matrix: sp.csr_matrix, persons: np.ndarray, entities: np.ndarray) -> np.ndarray:
    """Each edge of the persons' rows: its entity's position in `entities`, -1 if absent."""
    where = {int(e): i for i, e in enumerate(entities)}
    return np.array([where.get(int(c), -1) for c in matrix[persons].indices], dtype=np.int64)


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 10), st.integers(1, 10)), seed=st.integers(0, 2**16),
       data=st.data())  # fmt: skip
def test_selecting_by_masks_is_scipys(
    shape: tuple[int, int], seed: int, data: st.DataObject
) -> None:
    matrix = sp.random(*shape, density=0.5, format="csr", random_state=seed)
    rows = np.array(data.draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0])))
    cols = np.array(data.draw(st.lists(st.booleans(), min_size=shape[1], max_size=shape[1])))
    assert np.array_equal(select(matrix, rows, cols).toarray(), matrix[rows][:, cols].toarray())
