"""The linkage unit's work: Dice on popcounts, one-to-one matching, score bands.

The unit holds only filters and the candidate pairs blocking found. A pair's score is the
weighted mean of the Dice coefficients of its fields' segments, 2·|A∧B| / (|A| + |B|), each
less `FLOOR` and stretched back to [0, 1], over the fields both records hold (an empty
segment is a field the record lacks: a patronymic one register does not keep counts for
neither side). The kernels are compiled by numba and
run on every thread numba is allowed (`numba.set_num_threads`).

Matching is greedy: pairs from the highest score down, each taken unless one of its records
is already taken, until the threshold. Greedy is not the optimal assignment, but a person
has one record per register and true pairs score well above their rivals; a pair lost to a
better-scoring rival was not the better lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt
from numba import types
from numba.extending import intrinsic

from migrex.linkage.candidate_rules import BANDS as BAND_NAMES
from migrex.linkage.layout import LAYOUT, Ints, Layout, Words

Floats = npt.NDArray[np.float64]

# The lowest score matched. Chance look-alikes (a common name, the same birth date or a day
# off) grow with the registers: with 200,000 × 100,000 synthetic citizens, 0.82 matched one
# pair of two people among 299; with 1,000,000 × 500,000, 88 among 385, where the synthetic
# registers (a few dozen names per people) hold 102 pairs of two people with the same name,
# birth date and sex: only the father's name can tell those apart (`migrex bench linkage`).
THRESHOLD: Final = 0.82
# A field's Dice below FLOOR counts as no agreement at all, and the rest is stretched to
# [0, 1]: two different names still share a letter pair or a stray bit (Dice 0.3-0.4), which
# would otherwise lift twins, who differ only in their given names, to the threshold.
FLOOR: Final = 0.3
# Score bands for officers: a candidate is a lead, never a decision; the band says how good.
BANDS: Final = tuple(zip(BAND_NAMES, (0.95, 0.9, THRESHOLD), strict=True))


@intrinsic
def popcount(typingctx: Any, value: Any) -> Any:  # pragma: no cover - compiled
    """The CPU's popcount instruction (LLVM's ctpop) on one 64-bit word."""
    signature = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return signature, codegen


@numba.njit(parallel=True, nogil=True, cache=True)
def _field_counts(filters: Words, bounds: Ints) -> Any:  # pragma: no cover - compiled
    n, fields = filters.shape[0], len(bounds) - 1
    counts = np.zeros((n, fields), dtype=np.int16)
    for i in numba.prange(n):
        for f in range(fields):
            total = 0
            for w in range(bounds[f], bounds[f + 1]):
                total += popcount(filters[i, w])
            counts[i, f] = total
    return counts


@numba.njit(inline="always", nogil=True, cache=True)
def score_pair(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    left: Words, right: Words, left_counts: Any, right_counts: Any, i: int, j: int,
    bounds: Ints, weights: Floats, floor: float, inverse: Floats,
) -> float:  # pragma: no cover - compiled  # fmt: skip
    """The score of left record i against right record j. `inverse[n]` is 1 / n: one
    multiplication per field where a division would cost several times more."""
    num, den = 0.0, 0.0
    stretch = 1.0 / (1.0 - floor)
    for f in range(len(bounds) - 1):
        a, b = left_counts[i, f], right_counts[j, f]
        if a == 0 or b == 0:
            continue
        common = 0
        for w in range(bounds[f], bounds[f + 1]):
            common += popcount(left[i, w] & right[j, w])
        agreement = (2.0 * common * inverse[a + b] - floor) * stretch
        num += weights[f] * max(agreement, 0.0)
        den += weights[f]
    return num / den if den > 0 else 0.0


def inverses(layout: Layout) -> Floats:
    """1 / n for every sum of two segments' bit counts (0 maps to 0, never used)."""
    top = 2 * 64 * max(s.words for s in layout.segments) + 1
    table: Floats = np.zeros(top, dtype=np.float64)
    table[1:] = 1.0 / np.arange(1, top, dtype=np.float64)
    return table


@numba.njit(parallel=True, nogil=True, cache=True)
def _pair_scores(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    left: Words, right: Words, left_counts: Any, right_counts: Any,
    li: Ints, ri: Ints, bounds: Ints, weights: Floats, floor: float, inverse: Floats,
) -> Any:  # pragma: no cover - compiled  # fmt: skip
    scores = np.zeros(len(li), dtype=np.float32)
    for p in numba.prange(len(li)):
        scores[p] = score_pair(left, right, left_counts, right_counts, li[p], ri[p], bounds,
                               weights, floor, inverse)  # fmt: skip
    return scores


# Right-hand filters are compared eight at a time: word w of eight filters is one 512-bit
# vector, so the sixteen words of a tile fill sixteen vector registers and every left filter
# is compared with the eight by broadcasting its words (AND, VPOPCNTQ, add: three
# instructions a word for eight pairs). LLVM keeps a tile in registers while the left
# filters stream past only when the tile's words lie side by side, hence the transposition.
LANES: Final = 8
# Left filters compared with one tile before the next tile is loaded: 8 KiB of left filters
# stay in the first-level cache, and a thread takes this many rows at a time.
LEFT_ROWS: Final = 64


@numba.njit(nogil=True, cache=True)
def _tiles(right: Words, per_mille: int) -> Any:  # pragma: no cover - compiled
    """The right filters as (tiles, 16 words, `LANES` filters), and per filter
    `per_mille`·|b|; the padding of the last tile weighs more than any pair can reach."""
    m = right.shape[0]
    tiles = np.zeros(((m + LANES - 1) // LANES, 16, LANES), dtype=np.uint64)
    weights = np.full(tiles.shape[0] * LANES, 1 << 40, dtype=np.int64)
    for j in range(m):
        count = 0
        for w in range(16):
            tiles[j // LANES, w, j % LANES] = right[j, w]
            count += popcount(right[j, w])
        weights[j] = per_mille * count
    return tiles, weights


@numba.njit(parallel=True, nogil=True, cache=True)
def _dense_dice(
    left: Words, tiles: Any, weights: Ints, per_mille: int
) -> Any:  # pragma: no cover - compiled
    """Whole-filter Dice of every left record with every right one (anonlink's measure) on
    16-word filters: how many pairs reach `per_mille` / 1000. Integers only: Dice ≥ t is
    2000·common ≥ t·1000·(|a| + |b|). Every pair is computed: no bound skips one, so the
    pairs counted by the benchmark are pairs compared."""
    n = left.shape[0]
    runs = (n + LEFT_ROWS - 1) // LEFT_ROWS
    found = np.zeros(runs, dtype=np.int64)
    for run in numba.prange(runs):
        first, last = run * LEFT_ROWS, min(n, (run + 1) * LEFT_ROWS)
        own = np.zeros(LEFT_ROWS, dtype=np.int64)
        for i in range(first, last):
            count = 0
            for w in range(16):
                count += popcount(left[i, w])
            own[i - first] = per_mille * count
        hits = 0
        for t in range(tiles.shape[0]):
            for i in range(first, last):
                for k in range(LANES):
                    common = popcount(left[i, 0] & tiles[t, 0, k])
                    for w in range(1, 16):
                        common += popcount(left[i, w] & tiles[t, w, k])
                    hits += 2000 * common >= own[i - first] + weights[t * LANES + k]
        found[run] = hits
    return found.sum()


@numba.njit(nogil=True, cache=True)
def _greedy(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    li: Ints, ri: Ints, scores: Any, order: Ints, n_left: int, n_right: int, threshold: float
) -> Any:  # pragma: no cover - compiled
    taken_left = np.zeros(n_left, dtype=np.bool_)
    taken_right = np.zeros(n_right, dtype=np.bool_)
    chosen = np.zeros(len(order), dtype=np.int64)
    count = 0
    for k in order:
        if scores[k] < threshold:
            break
        if taken_left[li[k]] or taken_right[ri[k]]:
            continue
        taken_left[li[k]] = True
        taken_right[ri[k]] = True
        chosen[count] = k
        count += 1
    return chosen[:count]


def field_counts(filters: Words, layout: Layout = LAYOUT) -> npt.NDArray[np.int16]:
    """The bits set in each field's segment of each filter: (records, fields). 16-bit: a
    segment holds at most a few hundred bits, and a unit holds twenty million records."""
    if max(s.words for s in layout.segments) * 64 > np.iinfo(np.int16).max:
        raise ValueError("a segment too long for 16-bit bit counts")
    result: npt.NDArray[np.int16] = _field_counts(filters, layout.bounds())
    return result


def pair_scores(
    left: Words, right: Words, li: Ints, ri: Ints, *, layout: Layout = LAYOUT,
    floor: float = FLOOR, counts: tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]] | None = None,
) -> npt.NDArray[np.float32]:  # fmt: skip
    """The score of each candidate pair (left row li[k], right row ri[k]), in [0, 1].
    `counts` are both sides' `field_counts`, when the caller scores chunk after chunk."""
    bounds = layout.bounds()
    left_counts, right_counts = counts or (field_counts(left, layout), field_counts(right, layout))
    result: npt.NDArray[np.float32] = _pair_scores(
        left, right, left_counts, right_counts,
        li.astype(np.int64), ri.astype(np.int64), bounds, layout.weights(), floor,
        inverses(layout),
    )  # fmt: skip
    return result


def dense_dice_count(left: Words, right: Words, threshold: float) -> int:
    """How many of all left × right pairs of 1024-bit filters have a whole-filter Dice of at
    least `threshold` (to a thousandth)."""
    if left.shape[1] != 16 or right.shape[1] != 16:
        raise ValueError("the all-pairs kernel compares 1024-bit filters")
    per_mille = round(threshold * 1000)
    tiles, weights = _tiles(np.ascontiguousarray(right), per_mille)
    return int(_dense_dice(np.ascontiguousarray(left), tiles, weights, per_mille))


def dense_dice_count_numpy(left: Words, right: Words, threshold: float, rows: int = 64) -> int:
    """The same count with plain NumPy (`bitwise_count`), block by block: the baseline."""
    right_counts = np.bitwise_count(right).sum(axis=1, dtype=np.int64)
    hits = 0
    for start in range(0, len(left), rows):
        block = left[start : start + rows]
        common = np.bitwise_count(block[:, None, :] & right[None, :, :]).sum(axis=2, dtype=np.int64)
        counts = np.bitwise_count(block).sum(axis=1, dtype=np.int64)
        per_mille = round(threshold * 1000)
        hits += int((2000 * common >= per_mille * (counts[:, None] + right_counts[None, :])).sum())
    return hits


@dataclass(frozen=True)
class Matches:
    """One-to-one pairs: left row, right row, score, band index (into `BANDS`)."""

    left: Ints
    right: Ints
    scores: npt.NDArray[np.float32]
    bands: Ints


def band_of(scores: npt.NDArray[np.float32]) -> Ints:
    """The index in `BANDS` of each score's band (scores below the last band: len(BANDS))."""
    edges = np.array([low for _, low in BANDS], dtype=np.float64)
    bands: Ints = np.sum(scores[:, None] < edges[None, :], axis=1).astype(np.int64)
    return bands


def match(
    li: Ints, ri: Ints, scores: npt.NDArray[np.float32], *, n_left: int, n_right: int,
    threshold: float = THRESHOLD,
) -> Matches:  # fmt: skip
    """Greedy one-to-one matching of the scored candidate pairs at or above `threshold`."""
    # Ties are broken by row numbers, so the same inputs always give the same matches.
    order = np.lexsort((ri, li, -scores.astype(np.float64)))
    chosen = _greedy(li, ri, scores, order.astype(np.int64), n_left, n_right, threshold)
    return Matches(li[chosen], ri[chosen], scores[chosen], band_of(scores[chosen]))
