"""A second look at candidate pairs: those short of the threshold by one field that the
registers explain, and those above it that one field says are two people.

Two records of one person can disagree wholly in one field for a reason the registers know
well: a woman registered under her maiden surname in one state and her married one in the
other; a birth date whose day and month one clerk swapped (a swap keeps the year and the
unordered day and month, a third of the date's letter pairs, so the date agrees in part
only). The score of `compare.pair_scores` then falls below the threshold however well the
rest agrees. A second look (`LOOKS`) scores such a pair again without that field, on the
same filters and popcounts (the unit learns nothing more), if the other fields hold: its
score is that, capped at `LOOK_CEILING`, so such a lead enters the list as "possible" at
best, never "strong", and an officer sees why.

The other way round, the weighted mean can carry a pair over the threshold on common names
alone while a field that both records hold says two people (`DOUBTS`): fathers of different
names (namesakes, cousins), or a birth date a few days off and another birthplace. Such a
pair's score is multiplied by `DISCOUNT`, below the threshold.

The rules are data; both are measured by `migrex linkage evaluate` and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from migrex.linkage.compare import THRESHOLD, pair_scores
from migrex.linkage.layout import LAYOUT, Ints, Layout, Words

Scores = npt.NDArray[np.float32]
Counts = tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]

# A second look's score is the pair's score without the field, at most this: a "possible"
# lead (`compare.BANDS`), never "probable" or "strong".
LOOK_CEILING: Final = 0.89
# A doubted pair's score is multiplied by this: below the threshold.
DISCOUNT: Final = 0.85
# Pairs scored lower than this at first are not looked at again: they disagree in more than
# one field.
LOOKED_AT: Final = 0.55
# A field "agrees" for a second look when its Dice is at least this, and "differs" for a
# doubt when it is below `DIFFERS` (the true pairs of the synthetic registers: 0.68 at least
# for fathers' names, 1.0 for birthplaces).
AGREES: Final = 0.85
DIFFERS: Final = 0.6


@dataclass(frozen=True)
class Look:
    """Score a pair again without `field` when that field's own Dice is at least
    `agreement` (0: it may disagree wholly), every field of `required` agrees and every field
    of `optional` agrees or is lacking on a side: a pair forgiven one field must hold the
    others beyond a common name's chance."""

    field: str
    agreement: float
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


LOOKS: Final = (
    # Maiden and married surnames: the given name, the birth date and the birthplace agree,
    # and the father's name where both keep one. Two strangers with one given name born the
    # same day are not rare in a large register; born in the same town as well, they are.
    Look("surname", 0.0, ("given_name", "birth_date", "birth_place"), ("patronymic",)),
    # A day and month swapped: the year and the unordered day and month agree, 3 of the
    # date's 8 letter pairs (with the bits they share by chance, a Dice of 0.45 to 0.6 seen);
    # another date of the same year shares 1 (up to 0.44 seen).
    Look("birth_date", 0.45, ("surname", "given_name", "birth_place"), ("patronymic",)),
)


@dataclass(frozen=True)
class Doubt:
    """A pair whose `fields` both records hold and all differ, whose `inexact` fields all
    fall short of agreeing and whose `unconfirmed` fields one side or the other lacks, is
    taken for two people."""

    fields: tuple[str, ...]
    inexact: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    differs: float = DIFFERS  # the Dice below which `fields` differ


DOUBTS: Final = (
    Doubt(("patronymic",)),  # the fathers differ: namesakes, cousins
    Doubt(("sex",)),  # a brother and a sister (twins: Карен and Карине)
    # Given names less alike than a typo leaves them (0.71 at least in the synthetic pairs):
    # twins and siblings, who share all else (Ани and Анна, Гагик and Հայկ).
    Doubt(("given_name",), differs=0.66),
    # Born in other towns, and days apart or with names alike but not the same (Армен and
    # Арман, Попова and Борисова): two people whom common names and a birthday bring close.
    Doubt(("birth_place",), ("birth_date",)),
    Doubt(("birth_place",), ("surname",)),
    Doubt(("birth_place",), ("given_name",)),
    # Born in other towns, with no father's name on one side to confirm the rest: the names
    # and the birthday alone are what namesakes born the same day share.
    Doubt(("birth_place",), unconfirmed=("patronymic",)),
)


def _weighted(layout: Layout, weights: dict[str, float]) -> Layout:
    return Layout(tuple(replace(s, weight=weights.get(s.field, 0.0)) for s in layout.segments))


def _without(layout: Layout, field: str) -> Layout:
    return _weighted(layout, {s.field: s.weight for s in layout.segments if s.field != field})


@dataclass(frozen=True)
class _Pairs:
    """Some candidate pairs, each field's Dice for them (0 where either side lacks it), and
    whether both sides hold each field."""

    left: Ints
    right: Ints
    dice: dict[str, Scores]
    held: dict[str, npt.NDArray[np.bool_]]


def _fields(
    left: Words, right: Words, a: Ints, b: Ints, *, counts: Counts, layout: Layout
) -> _Pairs:  # fmt: skip
    dice, held = {}, {}
    for f, segment in enumerate(layout.segments):
        alone = _weighted(layout, {segment.field: 1.0})
        dice[segment.field] = pair_scores(left, right, a, b, layout=alone, floor=0.0, counts=counts)
        held[segment.field] = (counts[0][a, f] > 0) & (counts[1][b, f] > 0)
    return _Pairs(a, b, dice, held)


def _explained(
    pairs: _Pairs, left: Words, right: Words, counts: Counts, layout: Layout
) -> Scores:  # fmt: skip
    """Each pair's best score without one field that a rule of `LOOKS` explains (0: none)."""
    best = np.zeros(len(pairs.left), dtype=np.float32)
    for look in LOOKS:
        holds = pairs.dice[look.field] >= look.agreement
        for name in look.required:
            holds &= pairs.dice[name] >= AGREES
        for name in look.optional:
            holds &= (pairs.dice[name] >= AGREES) | ~pairs.held[name]
        if holds.any():
            rest = pair_scores(
                left, right, pairs.left[holds], pairs.right[holds],
                layout=_without(layout, look.field), counts=counts,
            )  # fmt: skip
            best[holds] = np.maximum(best[holds], rest)
    return best


def _doubted(pairs: _Pairs) -> npt.NDArray[np.bool_]:
    """Which pairs a rule of `DOUBTS` takes for two people."""
    doubted = np.zeros(len(pairs.left), dtype=bool)
    for doubt in DOUBTS:
        holds = np.ones(len(pairs.left), dtype=bool)
        for name in doubt.fields:
            holds &= pairs.held[name] & (pairs.dice[name] < doubt.differs)
        for name in doubt.inexact:
            holds &= pairs.dice[name] < AGREES
        for name in doubt.unconfirmed:
            holds &= ~pairs.held[name]
        doubted |= holds
    return doubted


def second_look(
    left: Words, right: Words, li: Ints, ri: Ints, scores: Scores, *, counts: Counts,
    layout: Layout = LAYOUT, threshold: float = THRESHOLD,
) -> Scores:  # fmt: skip
    """The scores of the pairs (li[k], ri[k]) after a second look: below `threshold`, raised
    to their score without a field that a rule of `LOOKS` explains (at most
    `LOOK_CEILING`); at or
    above it, lowered by `DISCOUNT` where a rule of `DOUBTS` holds; the others as they were."""
    out = scores.copy()
    looked = np.flatnonzero((scores < threshold) & (scores >= LOOKED_AT))
    if len(looked):
        pairs = _fields(left, right, li[looked], ri[looked], counts=counts, layout=layout)
        best = _explained(pairs, left, right, counts, layout)
        out[looked] = np.maximum(scores[looked], np.minimum(best, LOOK_CEILING))
    matched = np.flatnonzero(scores >= threshold)
    if len(matched):
        pairs = _fields(left, right, li[matched], ri[matched], counts=counts, layout=layout)
        doubted = matched[_doubted(pairs)]
        out[doubted] = (scores[doubted] * DISCOUNT).astype(np.float32)
    return out
