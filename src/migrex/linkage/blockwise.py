"""Blocking and scoring fused: each block of records sharing a token is scored as a small
dense block, never as a list of pairs.

Listing every pair a pass blocks together, then scoring the list, reads both records of a
pair from wherever they lie in memory: at twenty million records that is a cache miss per
record per pair, and the pairs of a pass (billions) must be cut into chunks. Here a block's
right-hand records are read once and stay in the cache while every left-hand record of the
block is scored against them, and only the scores of one batch of blocks are held at a time.
Of those, only the pairs at or above the threshold are turned back into row numbers. The
score is `linkage.compare`'s, field by field, to the same float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

from migrex.linkage.compare import FLOOR, field_counts, inverses, score_pair
from migrex.linkage.encoder import LAYOUT, Ints, Layout, Tokens, Words

Scores = npt.NDArray[np.float32]
# Scores held at once: 64 MiB of float32, however common a token is.
BATCH_PAIRS: Final = 1 << 24


@numba.njit(parallel=True, nogil=True, cache=True)
def _block_scores(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    left: Words, right: Words, left_counts: Any, right_counts: Any,
    left_rows: Ints, right_rows: Ints, l_first: Ints, l_count: Ints, r_first: Ints,
    r_count: Ints, offsets: Ints, bounds: Ints, weights: Any, floor: float, inverse: Any,
    out: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    for b in numba.prange(len(l_first)):
        at = offsets[b]
        for x in range(l_count[b]):
            i = left_rows[l_first[b] + x]
            for y in range(r_count[b]):
                out[at] = score_pair(left, right, left_counts, right_counts, i,
                                     right_rows[r_first[b] + y], bounds, weights, floor,
                                     inverse)  # fmt: skip
                at += 1


@dataclass(frozen=True)
class Blocks:
    """One pass's blocks: per shared token, where its records start and how many, on each
    side (in the token-sorted row orders `left_rows` and `right_rows`)."""

    left_rows: Ints
    right_rows: Ints
    l_first: Ints
    l_count: Ints
    r_first: Ints
    r_count: Ints

    @property
    def pairs(self) -> int:
        return int((self.l_count * self.r_count).sum())


def blocks_of(left: Tokens, right: Tokens) -> Blocks:
    lo = np.argsort(left.tokens, kind="stable")
    ro = np.argsort(right.tokens, kind="stable")
    lt, rt = left.tokens[lo], right.tokens[ro]
    common, l_first, l_count = np.unique(lt, return_index=True, return_counts=True)
    r_first = np.searchsorted(rt, common, side="left")
    r_count = np.searchsorted(rt, common, side="right") - r_first
    keep = r_count > 0
    return Blocks(
        left.rows[lo].astype(np.int64), right.rows[ro].astype(np.int64),
        l_first[keep].astype(np.int64), l_count[keep].astype(np.int64),
        r_first[keep].astype(np.int64), r_count[keep].astype(np.int64),
    )  # fmt: skip


def scored_pairs(
    left: Words, right: Words, blocks: Blocks, threshold: float, *,
    counts: tuple[Any, Any] | None = None, layout: Layout = LAYOUT, floor: float = FLOOR,
    batch: int = BATCH_PAIRS,
) -> Iterator[tuple[Ints, Ints, Scores]]:  # fmt: skip
    """The pairs of the blocks scoring at least `threshold`: (left rows, right rows,
    scores), a batch of blocks at a time. A block larger than `batch` is scored whole."""
    left_counts, right_counts = counts or (field_counts(left, layout), field_counts(right, layout))
    sizes = blocks.l_count * blocks.r_count
    bounds, weights, inverse = layout.bounds(), layout.weights(), inverses(layout)
    start = 0
    while start < len(sizes):
        stop = start + 1
        total = int(sizes[start])
        while stop < len(sizes) and total + sizes[stop] <= batch:
            total += int(sizes[stop])
            stop += 1
        part = slice(start, stop)
        ends = np.cumsum(sizes[part])
        offsets = ends - sizes[part]
        out = np.empty(total, dtype=np.float32)
        _block_scores(left, right, left_counts, right_counts, blocks.left_rows,
                      blocks.right_rows, blocks.l_first[part], blocks.l_count[part],
                      blocks.r_first[part], blocks.r_count[part], offsets, bounds, weights,
                      floor, inverse, out)  # fmt: skip
        hits = np.flatnonzero(out >= threshold)
        block = np.searchsorted(ends, hits, side="right")
        within = hits - offsets[block]
        width = blocks.r_count[part][block]
        li = blocks.left_rows[blocks.l_first[part][block] + within // width]
        ri = blocks.right_rows[blocks.r_first[part][block] + within % width]
        yield li, ri, out[hits]
        start = stop
