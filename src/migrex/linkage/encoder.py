"""A register encoded as keyed Bloom filters: what a party hands to the linkage unit.

Each record is one filter of `LAYOUT.bits` bits in 64-bit words, cut into one segment per
field, so the unit can weigh fields and leave out a field either side lacks (a patronymic one
register does not keep) while comparing only popcounts. Into its segment a field puts the
letter pairs of every form of the name (`names.forms`) or the tokens of the date, each
setting `hashes` bits chosen by keyed double hashing: position i of gram g is
h1(g) + i·h2(g) mod the segment's size, h1 and h2 from HMAC-SHA256 under the run's key.

Hardening: with `salted` (the default) the hashes of every field are keyed by the record's
birth year as well, so one letter pair sets different bits in every year's records. The
frequency and pattern-mining attacks that re-identify unsalted Bloom filters count bit
patterns over the whole register; salting splits it into a hundred small, unrelated ones. A
year typed wrong on one side then costs the pair its name agreement; birth-date typos are of
days (and day/month swaps keep the year), so that is rare.

Work is done per distinct value: a register of millions repeats its surnames, names and
dates, and hashing, name variants and segment building are paid once per (year, value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from migrex.linkage.keys import Keyed
from migrex.linkage.records import Register
from migrex.spelling.names import bigrams, father_name, forms, forms_of, place_forms

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
    """One blocking pass: record `rows[i]` is in the block of `tokens[i]`."""

    tokens: npt.NDArray[np.uint64]
    rows: Ints


@dataclass(frozen=True)
class Encoded:
    """What a party sends: its filters and blocking tokens, by row; no name, no id."""

    filters: Words  # (records, LAYOUT.words)
    blocks: dict[str, Tokens]

    def __len__(self) -> int:
        return len(self.filters)


def joined(columns: Sequence[pa.Array]) -> pa.Array:
    """The cells of several columns as one text per row, joined by U+001F (a missing cell is
    empty): a name and its passport Latin are one value to normalise."""
    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(
        *columns, "\x1f", null_handling="replace", null_replacement=""
    )


def distinct_values(column: pa.Array) -> tuple[Ints, list[str | None]]:
    """Each row's index among the distinct values, and those values (None for missing)."""
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return indices, encoded.dictionary.to_pylist()


def _name_grams(value: str | None) -> set[str]:
    return bigrams(forms_of(value)) if value else set()


def _patronymic_grams(value: str | None) -> set[str]:
    return bigrams(forms([father_name(value)])) if value else set()


def _date_grams(value: str | None) -> set[str]:
    """The year; the day and month as an unordered pair (twice: it survives a swap of day and
    month); the days two either side of the date, so a date typed a day off keeps most."""
    if not value or len(value) < 10:
        return set()
    try:
        day = date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return set()
    low, high = sorted((value[5:7], value[8:10]))
    pair = f"{value[:4]}{low}{high}"
    return {f"y{value[:4]}", f"p{pair}", f"q{pair}"} | {
        f"w{day + shift}" for shift in range(-WINDOW, WINDOW + 1)
    }


def _sex_grams(value: str | None) -> set[str]:
    return {f"s{value}"} if value else set()


def _place_grams(value: str | None) -> set[str]:
    return bigrams(place_forms(value))


_FIELD_INPUT: Final[dict[str, tuple[tuple[str, ...], Callable[[str | None], set[str]]]]] = {
    "surname": (("surname", "surname_latin"), _name_grams),
    "given_name": (("given_name", "given_name_latin"), _name_grams),
    "patronymic": (("patronymic",), _patronymic_grams),
    "birth_date": (("birth_date",), _date_grams),
    "sex": (("sex",), _sex_grams),
    "birth_place": (("birth_place",), _place_grams),
}


def _lists(
    values: list[str | None], grams_of: Callable[[str | None], set[str]]
) -> tuple[Ints, Ints, list[str]]:
    """CSR lists of gram ids per distinct value: (offsets, ids, vocabulary)."""
    vocabulary: dict[str, int] = {}
    ids: list[int] = []
    offsets = [0]
    for value in values:
        grams = grams_of(value)
        for gram in grams:
            number = vocabulary.get(gram)
            if number is None:
                number = vocabulary[gram] = len(vocabulary)
            ids.append(number)
        offsets.append(len(ids))
    return np.array(offsets, np.int64), np.array(ids, np.int64), list(vocabulary)


def _explode(offsets: Ints, chosen: Ints) -> tuple[Ints, Ints]:
    """For each chosen list, the positions of its items in the flat array: (owner, position)."""
    lengths = offsets[chosen + 1] - offsets[chosen]
    owner = np.repeat(np.arange(len(chosen), dtype=np.int64), lengths)
    starts = np.repeat(offsets[chosen] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return owner, starts + np.arange(int(lengths.sum()), dtype=np.int64)


def _segment(
    keyed: Keyed,
    *, segment: Segment, rows: Ints, values: list[str | None],
    salts: Ints, salt_names: list[str],
) -> Words:  # fmt: skip
    """The segment of every record: rows[i] is record i's distinct value, salts[i] its salt."""
    grams_of = _FIELD_INPUT[segment.field][1]
    offsets, gram_ids, vocabulary = _lists(values, grams_of)
    width = np.int64(len(values))
    combos, inverse = np.unique(salts * width + rows, return_inverse=True)
    combo_value, combo_salt = combos % width, combos // width
    owner, at = _explode(offsets, combo_value)
    grams = gram_ids[at]
    # Each (salt, gram) is hashed once, however many combinations hold it.
    pairs, pair_of = np.unique(combo_salt[owner] * len(vocabulary) + grams, return_inverse=True)
    texts = [
        f"{salt_names[s]}\x1f{vocabulary[g]}"
        for s, g in zip(
            (pairs // max(len(vocabulary), 1)).tolist(),
            (pairs % max(len(vocabulary), 1)).tolist(),
            strict=True,
        )
    ]
    h1, h2 = keyed.pairs(texts)
    bits = np.uint64(64 * segment.words)
    steps = np.arange(segment.hashes, dtype=np.uint64)
    positions = ((h1[:, None] + steps[None, :] * h2[:, None]) % bits).astype(np.int64)
    masks = np.zeros((len(pairs), segment.words), dtype=np.uint64)
    np.bitwise_or.at(
        masks,
        (np.repeat(np.arange(len(pairs)), segment.hashes), positions.ravel() >> 6),
        np.left_shift(np.uint64(1), (positions.ravel() & 63).astype(np.uint64)),
    )
    combo_masks = np.zeros((len(combos), segment.words), dtype=np.uint64)
    lengths = np.bincount(owner, minlength=len(combos))
    filled = np.flatnonzero(lengths)
    if len(filled):
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[filled]
        combo_masks[filled] = np.bitwise_or.reduceat(masks[pair_of], starts, axis=0)
    return combo_masks[inverse]


def _years(register: Register) -> tuple[Ints, list[str]]:
    """Each record's birth year as an index among the distinct years, and those years."""
    rows, years = distinct_values(pc.utf8_slice_codeunits(register.columns["birth_date"], 0, 4))
    return rows, [year or "" for year in years]


def _dates(register: Register) -> tuple[Ints, list[str]]:
    """Each record's birth date as an index among the distinct salts, and those salts: the
    year with the day and month unordered, so a swap of day and month keeps the salt."""
    rows, dates = distinct_values(register.columns["birth_date"])
    salts = []
    for value in dates:
        low, high = sorted((value[5:7], value[8:10])) if value and len(value) >= 10 else ("", "")
        salts.append(f"{(value or '')[:4]}-{low}-{high}")
    distinct, inverse = np.unique(np.array(salts, dtype=object), return_inverse=True)
    return np.asarray(inverse, dtype=np.int64)[rows], [str(s) for s in distinct]


# What a record's hashes are salted by. The year is the default. The date is a stronger
# hardening: a name sets bits shared only with the people born on the same day, so no
# similarity graph is left to match (`migrex linkage attack`); a birth date typed a day off
# then costs the pair its name agreement, and the linkage some recall.
SALTS: Final[dict[str, Callable[[Register], tuple[Ints, list[str]]]]] = {
    "year": _years,
    "date": _dates,
}


def encode_filters(
    register: Register, key: bytes, layout: Layout = LAYOUT, *, salted: bool = True,
    salt: str = "year",
) -> Words:  # fmt: skip
    """The (records, layout.words) filters of a register under `key`; with `salted`, the
    hashes salted by `salt` (a key of `SALTS`)."""
    n = len(register)
    salts, salt_names = SALTS[salt](register) if salted else (np.zeros(n, np.int64), [""])
    parts = []
    for segment in layout.segments:
        columns, _ = _FIELD_INPUT[segment.field]
        rows, values = distinct_values(joined([register.columns[c] for c in columns]))
        keyed = Keyed(key, f"filter\x1f{segment.field}")
        parts.append(
            _segment(
                keyed, segment=segment, rows=rows, values=values, salts=salts, salt_names=salt_names
            )
        )
    return np.ascontiguousarray(np.concatenate(parts, axis=1))
