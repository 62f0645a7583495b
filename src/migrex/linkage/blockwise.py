"""Blocking and scoring fused: each block of records sharing a token is scored as a small
dense block, never as a list of pairs.

Listing every pair a pass blocks together, then scoring the list, reads both records of a
pair from wherever they lie in memory: at twenty million records that is a cache miss per
record per pair, and the pairs of a pass (billions) must be cut into chunks. Here a block's
records are gathered once into the thread's own buffers (their cache misses overlap instead
of stalling the comparisons one by one) and every left-hand record of the block is scored
against them, and only the scores of one batch of blocks are held at a time. Of those, only
the pairs at or above the threshold are turned back into row numbers. The score is
`linkage.compare`'s, field by field, to the same float32.

The kernel is compiled for the unit's `LAYOUT`: its segment bounds are constants, so the
compiler unrolls each field's words and keeps a pair's sums in registers. A block's pairs
number |L|·|R| and a pair counts as one comparison whether or not it reaches the threshold.

Row numbers are held as 32-bit integers while a pass is scored: blocks name every token's
row, some 45 million on the largest pass of twenty million records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

from migrex.linkage.compare import FLOOR, field_counts, inverses, popcount
from migrex.linkage.layout import LAYOUT, Ints, Tokens, Words

Scores = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int32]
# Scores held at once: 64 MiB of float32, however common a token is.
BATCH_PAIRS: Final = 1 << 24
# The layout compiled into the kernel (a stale compiled copy is refused: `_block_scores`).
BOUNDS: Final = tuple(int(b) for b in LAYOUT.bounds())
FIELDS: Final = len(BOUNDS) - 1
WORDS: Final = BOUNDS[-1]


@numba.njit(parallel=True, nogil=True, cache=True)
def _block_scores(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    left: Words, right: Words, left_counts: Any, right_counts: Any,
    left_rows: Rows, right_rows: Rows, l_first: Ints, l_count: Ints, r_first: Ints,
    r_count: Ints, offsets: Ints, bounds: Ints, weights: Any, floor: float, inverse: Any,
    out: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    # The compiled copy is kept between runs keyed by this file alone: a layout changed in
    # the encoder since must not be scored with the old bounds.
    if len(bounds) != FIELDS + 1 or left.shape[1] != WORDS or right.shape[1] != WORDS:
        raise ValueError("the block kernel was compiled for another layout")
    for f in range(FIELDS + 1):
        if bounds[f] != BOUNDS[f]:
            raise ValueError("the block kernel was compiled for another layout")
    stretch = 1.0 / (1.0 - floor)
    for b in numba.prange(len(l_first)):
        many, few = l_count[b], r_count[b]
        ours = np.empty((many, WORDS), dtype=np.uint64)
        own = np.empty((many, FIELDS), dtype=np.int64)
        for x in range(many):
            i = left_rows[l_first[b] + x]
            for w in range(WORDS):
                ours[x, w] = left[i, w]
            for f in range(FIELDS):
                own[x, f] = left_counts[i, f]
        theirs = np.empty((few, WORDS), dtype=np.uint64)
        their = np.empty((few, FIELDS), dtype=np.int64)
        for y in range(few):
            j = right_rows[r_first[b] + y]
            for w in range(WORDS):
                theirs[y, w] = right[j, w]
            for f in range(FIELDS):
                their[y, f] = right_counts[j, f]
        at = offsets[b]
        for x in range(many):
            for y in range(few):
                num, den = 0.0, 0.0
                for f in range(FIELDS):
                    common = 0
                    for w in range(BOUNDS[f], BOUNDS[f + 1]):
                        common += popcount(ours[x, w] & theirs[y, w])
                    a, c = own[x, f], their[y, f]
                    # `compare.score_pair`'s arithmetic, in its order: the same float32.
                    if a != 0 and c != 0:
                        agreement = (2.0 * common * inverse[a + c] - floor) * stretch
                        num += weights[f] * max(agreement, 0.0)
                        den += weights[f]
                out[at] = num / den if den > 0 else 0.0
                at += 1


@dataclass(frozen=True)
class Blocks:
    """One pass's blocks: per shared token, where its records start and how many, on each
    side (in the token-sorted row orders `left_rows` and `right_rows`)."""

    left_rows: Rows
    right_rows: Rows
    l_first: Ints
    l_count: Ints
    r_first: Ints
    r_count: Ints

    @property
    def pairs(self) -> int:
        return int((self.l_count * self.r_count).sum())


def _by_token(tokens: Tokens) -> tuple[npt.NDArray[np.uint64], Rows]:
    """The tokens sorted, and their rows in that order as 32-bit integers."""
    if len(tokens.rows) and int(tokens.rows.max()) >= 1 << 31:
        raise ValueError("a register of more than 2**31 records")
    order = np.argsort(tokens.tokens, kind="stable")
    rows: Rows = tokens.rows.astype(np.int32, copy=False)[order]
    return tokens.tokens[order], rows


def blocks_of(left: Tokens, right: Tokens) -> Blocks:
    """The blocks of one pass. Memory is that of the sorted tokens and their rows: each
    side's sorted tokens are let go as soon as the blocks are found."""
    lt, left_rows = _by_token(left)
    # The first of each run of equal tokens in the sorted order.
    l_first = np.flatnonzero(np.concatenate([[True], lt[1:] != lt[:-1]])) if len(lt) else (
        np.zeros(0, np.int64))  # fmt: skip
    l_count = np.diff(np.append(l_first, len(lt)))
    common = lt[l_first]
    del lt
    rt, right_rows = _by_token(right)
    r_first = np.searchsorted(rt, common, side="left")
    r_count = np.searchsorted(rt, common, side="right") - r_first
    del rt
    keep = r_count > 0
    return Blocks(
        left_rows, right_rows,
        l_first[keep].astype(np.int64), l_count[keep].astype(np.int64),
        r_first[keep].astype(np.int64), r_count[keep].astype(np.int64),
    )  # fmt: skip


def scored_pairs(
    left: Words, right: Words, blocks: Blocks, threshold: float, *,
    counts: tuple[Any, Any] | None = None, floor: float = FLOOR, batch: int = BATCH_PAIRS,
) -> Iterator[tuple[Ints, Ints, Scores]]:  # fmt: skip
    """The pairs of the blocks scoring at least `threshold` under `LAYOUT`: (left rows,
    right rows, scores), a batch of blocks at a time. A block larger than `batch` is scored
    whole."""
    left_counts, right_counts = counts or (field_counts(left), field_counts(right))
    sizes = blocks.l_count * blocks.r_count
    bounds, weights, inverse = LAYOUT.bounds(), LAYOUT.weights(), inverses(LAYOUT)
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
        li = blocks.left_rows[blocks.l_first[part][block] + within // width].astype(np.int64)
        ri = blocks.right_rows[blocks.r_first[part][block] + within % width].astype(np.int64)
        yield li, ri, out[hits]
        start = stop
