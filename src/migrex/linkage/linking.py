"""A linkage, as a run does it: each party encodes its register (`encode`), the unit blocks,
compares and matches the two encodings (`compare`); `link` does both on two registers at once,
for evaluations and benchmarks.

Only what a run needs is imported here: a party or a unit node loads this module when it
starts, and the attacks and scoring of `linkage.evaluation` need libraries it does not.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from migrex.linkage.blocking import blocking_tokens, pair_completeness
from migrex.linkage.blockwise import blocks_of, scored_pairs
from migrex.linkage.compare import THRESHOLD, Matches, field_counts, match
from migrex.linkage.decoys import with_decoys
from migrex.linkage.encoder import encode_filters
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.layout import SALT, Encoded, Ints
from migrex.linkage.records import Register
from migrex.linkage.review import LOOKED_AT, second_look


def encode(register: Register, key: bytes, *, salt: str | None = SALT) -> Encoded:
    """A party's side of a run: its filters and blocking tokens."""
    return Encoded(encode_filters(register, key, salt=salt), blocking_tokens(register, key))


@dataclass
class Linkage:
    """What a run found, by row of each register, and what it took."""

    matches: Matches
    compared_pairs: int  # a pair blocked together by two passes counts twice
    pairs_per_pass: dict[str, int]
    seconds: dict[str, float]
    pair_completeness: Callable[[set[tuple[int, int]]], float] = field(repr=False)
    encoded: tuple[int, int] = (0, 0)
    """Records each side encoded: its people and its decoys."""
    decoy_pairs: int = 0
    """Pairs of a person and a decoy: the person's party gets them as candidates, and the
    decoy's owner answers that the pair is no one. Not in `matches`; wrong, for `scored`."""


def link(
    left: Register, right: Register, *, key: bytes | None = None,
    threshold: float = THRESHOLD, salt: str | None = SALT, review: bool = True,
    decoys: float = 0.0, seed: int | None = None,
) -> Linkage:  # fmt: skip
    """Encode both registers (under a throwaway key unless given one), each with `decoys`
    per record mixed in (drawn from `seed`, or at random), then `compare`. The matches name
    the registers' own rows: pairs of two decoys are dropped, as both owners drop them, and
    pairs of a person and a decoy are counted apart (`Linkage.decoy_pairs`)."""
    key = key or secrets.token_bytes(KEY_BYTES)
    clock = time.perf_counter()
    rng = np.random.default_rng(seed)
    left_mixed, left_origin = with_decoys(left, decoys, rng)
    right_mixed, right_origin = with_decoys(right, decoys, rng)
    ours = encode(left_mixed, key, salt=salt)
    theirs = encode(right_mixed, key, salt=salt)
    linkage = compare(ours, theirs, threshold=threshold, review=review)
    linkage.seconds = {"encode": round(time.perf_counter() - clock, 3)} | linkage.seconds
    return _without_decoys(linkage, left_origin, right_origin) if decoys else linkage


def _without_decoys(linkage: Linkage, left_origin: Ints, right_origin: Ints) -> Linkage:
    """The linkage in the registers' own rows (`link`)."""
    m = linkage.matches
    left, right = left_origin[m.left], right_origin[m.right]
    people = (left >= 0) & (right >= 0)
    linkage.decoy_pairs = int(((left >= 0) != (right >= 0)).sum())
    linkage.matches = Matches(left[people], right[people], m.scores[people], m.bands[people])
    mixed_pairs = linkage.pair_completeness

    def mixed(origin: Ints) -> Ints:
        where = np.empty(int(origin.max()) + 1, dtype=np.int64)
        people = np.flatnonzero(origin >= 0)
        where[origin[people]] = people
        return where

    left_at, right_at = mixed(left_origin), mixed(right_origin)
    linkage.pair_completeness = lambda truth: mixed_pairs(
        {(int(left_at[a]), int(right_at[b])) for a, b in truth}
    )
    return linkage


def compare(
    ours: Encoded, theirs: Encoded, *, threshold: float = THRESHOLD, review: bool = True
) -> Linkage:
    """Block, compare and match two parties' encodings: what a linkage unit does. Each
    pass's blocks are scored as small dense blocks (`linkage.blockwise`) and only the pairs
    at or above the threshold are kept, so memory follows the matches, not the pairs
    compared. With `review`, pairs short of the threshold by one field get
    `review.second_look` (those scoring at least `review.LOOKED_AT` are kept for it)."""
    counts = (field_counts(ours.filters), field_counts(theirs.filters))
    passes = [name for name in ours.blocks if name in theirs.blocks]
    per_pass = dict.fromkeys(passes, 0)
    kept: list[tuple[Ints, Ints, npt.NDArray[np.float32]]] = []
    blocking = comparing = 0.0
    looked_at = min(LOOKED_AT, threshold) if review else threshold
    for name in passes:
        start = time.perf_counter()
        blocks = blocks_of(ours.blocks[name], theirs.blocks[name])
        per_pass[name] = blocks.pairs
        blocked = time.perf_counter()
        for li, ri, first in scored_pairs(ours.filters, theirs.filters, blocks, looked_at,
                                          counts=counts):  # fmt: skip
            scores = (
                first
                if not review
                else second_look(
                    ours.filters, theirs.filters, li, ri, first, counts=counts, threshold=threshold
                )
            )
            good = scores >= threshold
            kept.append((li[good], ri[good], scores[good]))
        blocking += blocked - start
        comparing += time.perf_counter() - blocked
        del blocks  # before the next pass's are built: the two never held at once
    start = time.perf_counter()
    li, ri, scores = (np.concatenate(part) for part in zip(*kept, strict=True)) if kept else (
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))  # fmt: skip
    # A pair two passes found is kept twice with the same score: keep it once.
    _, first = np.unique(li * (1 << 32) + ri, return_index=True)
    li, ri, scores = li[first], ri[first], scores[first]
    matches = match(li, ri, scores, n_left=len(ours), n_right=len(theirs), threshold=threshold)
    matched = time.perf_counter()
    return Linkage(
        matches=matches,
        compared_pairs=sum(per_pass.values()),
        pairs_per_pass=per_pass,
        seconds={
            "block": round(blocking, 3),
            "compare": round(comparing, 3),
            "match": round(matched - start, 3),
        },
        pair_completeness=lambda truth: pair_completeness(ours.blocks, theirs.blocks, truth),
        encoded=(len(ours), len(theirs)),
    )
