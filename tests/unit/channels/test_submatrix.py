"""`peeling.submatrix` is SciPy's `matrix[persons][:, entities]`, without walking every
column of a register of millions for each block."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.channels.peeling import submatrix


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
