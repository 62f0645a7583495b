"""The fused block scoring finds exactly the pairs, and the scores, that listing every
blocked pair and scoring the list finds, whatever the tokens and however small the batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.linkage.blocking import _pass_chunks
from migrex.linkage.blockwise import _block_scores, blocks_of, scored_pairs
from migrex.linkage.compare import field_counts, inverses, pair_scores
from migrex.linkage.layout import LAYOUT, Layout, Segment, Tokens


def _tokens(rng: np.random.Generator, records: int, vocabulary: int) -> Tokens:
    owners = np.sort(rng.integers(0, records, records * 2)).astype(np.int64)
    return Tokens(rng.integers(0, vocabulary, len(owners)).astype(np.uint64), owners)


def _filters(rng: np.random.Generator, records: int) -> np.ndarray:  # type: ignore[type-arg]
    return rng.integers(0, 2**63, (records, LAYOUT.words), dtype=np.uint64)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), vocabulary=st.integers(1, 40), batch=st.integers(1, 500),
       threshold=st.floats(0.0, 0.6))  # fmt: skip
def test_blockwise_scores_are_the_listed_pairs_scores(
    seed: int, vocabulary: int, batch: int, threshold: float
) -> None:
    rng = np.random.default_rng(seed)
    left, right = _filters(rng, 60), _filters(rng, 40)
    right[:10] = left[:10]  # some pairs agree perfectly, the others by chance
    lt, rt = _tokens(rng, 60, vocabulary), _tokens(rng, 40, vocabulary)
    expected = {}
    for li, ri in _pass_chunks(lt, rt, 1 << 20):
        for i, j, s in zip(li, ri, pair_scores(left, right, li, ri), strict=True):
            if s >= threshold:
                expected[(int(i), int(j))] = float(s)
    found = {}
    for li, ri, scores in scored_pairs(left, right, blocks_of(lt, rt), threshold, batch=batch):
        for i, j, s in zip(li, ri, scores, strict=True):
            found[(int(i), int(j))] = float(s)
    assert found == expected


def test_the_kernel_refuses_a_layout_it_was_not_compiled_for() -> None:
    """Its compiled copy outlives a change of the encoder's layout: scoring with other
    bounds than its own is an error, never scores under the old ones."""
    rng = np.random.default_rng(1)
    left = _filters(rng, 4)
    blocks = blocks_of(Tokens(np.zeros(4, np.uint64), np.arange(4)),
                       Tokens(np.zeros(4, np.uint64), np.arange(4)))  # fmt: skip
    other = Layout((Segment("surname", 8, 4, 0.5), Segment("given_name", 8, 5, 0.5)))
    counts = field_counts(left, other)
    out = np.zeros(16, dtype=np.float32)
    with pytest.raises(ValueError, match="another layout"):
        _block_scores(left, left, counts, counts, blocks.left_rows, blocks.right_rows,
                      blocks.l_first, blocks.l_count, blocks.r_first, blocks.r_count,
                      np.zeros(1, np.int64), other.bounds(), other.weights(), 0.3,
                      inverses(other), out)  # fmt: skip
    assert not out.any()
