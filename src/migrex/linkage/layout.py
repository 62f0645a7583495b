"""The shape of what a party encodes and sends, apart from the encoding (`linkage.encoder`):
the filter's segments, its blocking tokens, the default salting. Receiving, storing and
checking an encoding needs these and not the compiled kernels or Arrow that build one, so a
node loads those only when it encodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Segment:
    field: str
    words: int  # 64-bit words
    hashes: int  # bits each gram sets
    weight: float  # its weight in the score (relative to the other fields both records hold)


@dataclass(frozen=True)
class Layout:
    segments: tuple[Segment, ...]

    @property
    def words(self) -> int:
        return sum(s.words for s in self.segments)

    @property
    def bits(self) -> int:
        return 64 * self.words

    def bounds(self) -> Ints:
        """The first word of each segment, then the end: segment f is words [b[f], b[f+1])."""
        return np.concatenate([[0], np.cumsum([s.words for s in self.segments])]).astype(np.int64)

    def weights(self) -> npt.NDArray[np.float64]:
        return np.array([s.weight for s in self.segments], dtype=np.float64)


# 1024 bits. Names carry most of the weight and the bits; the birth date as much as a name,
# since the register's date is the best-kept field. The father's name, where both registers
# keep one, tells namesakes born days apart from one person (Иванов Александр, born in 1985,
# is many people); sex and birthplace break near ties.
LAYOUT: Final = Layout((
    Segment("surname", 4, 4, 0.28),
    Segment("given_name", 4, 5, 0.28),
    Segment("patronymic", 2, 4, 0.2),
    Segment("birth_date", 3, 8, 0.28),
    Segment("sex", 1, 8, 0.05),
    Segment("birth_place", 2, 4, 0.05),
))  # fmt: skip


WINDOW: Final = 2  # days either side of a birth date that its segment also holds


@dataclass(frozen=True)
class Tokens:
    """One blocking pass: record `rows[i]` is in the block of `tokens[i]`. Rows are 64-bit
    as blocking makes them, or 32-bit where a unit holds tens of millions of records."""

    tokens: npt.NDArray[np.uint64]
    rows: Ints | npt.NDArray[np.int32]


@dataclass(frozen=True)
class Encoded:
    """What a party sends: its filters and blocking tokens, by row; no name, no id."""

    filters: Words  # (records, LAYOUT.words)
    blocks: dict[str, Tokens]

    def __len__(self) -> int:
        return len(self.filters)


SALT: Final = "date-sex"  # the default salting (`encoder.SALTS`)
# Decoys per record in a run (`decoys.with_decoys`): one takes the graph attacks in a salt
# group from nearly every person to a few in a hundred, at four times the comparisons and
# twice the records.
DECOYS: Final = 1.0


# The blocking passes (`blocking.PASSES`) by name, and the letters of a name's skeleton in
# its token: a transfer's parameters name them, and the two parties must agree on them.
PASS_NAMES: Final = ("date", "year-surname", "year-given", "passport")
PREFIX: Final = 4
