"""The fused block scoring finds exactly the pairs, and the scores, that listing every
blocked pair and scoring the list finds, whatever the tokens and however small the batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.linkage.blocking import _pass_chunks
from migrex.linkage.blockwise import blocks_of, scored_pairs
from migrex.linkage.compare import pair_scores
from migrex.linkage.encoder import LAYOUT, Tokens


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
