"""A register encoded as keyed Bloom filters: what a party hands to the linkage unit.

Each record is one filter of `LAYOUT.bits` bits in 64-bit words, cut into one segment per
field, so the unit can weigh fields and leave out a field either side lacks (a patronymic one
register does not keep) while comparing only popcounts. Into its segment a field puts the
letter pairs of every form of the name (`names.forms`) or the tokens of the date, each
setting `hashes` bits chosen by keyed double hashing: position i of gram g in a record of
salt s is h1 + i·h2 mod the segment's size, where (h1, h2) is the AES-256 encipherment, under
a key derived from the run's, of the block (HMAC-SHA256 of g, HMAC-SHA256 of s).

Hardening (`SALTS`): the hashes of every field are keyed by a value of the record as well,
its salt, so one letter pair sets different bits in the records of different salts. The
default salts by the birth date (day and month unordered, so a swap keeps it) and the sex:
two records share bits beyond chance only when they share both, so the similarity graph the
graph-matching attack aligns with the attacker's own falls apart into pairs and small groups,
and the frequency and pattern-mining attacks, which count bit patterns over the register,
find no pattern frequent enough to count. A field the salt holds whole (the date and the sex)
then keeps in its segment only that it is present: its bits would tell the attacker which
records share a salt and nothing the unit needs, since names agree only within one salt
anyway. A record whose date or sex differs between the two registers loses its name
agreement: a birth date typed a day off, some 2 % of the synthetic dual citizens, and
`migrex bench linkage` measures what that costs (`f1_cost_points`), and on FEBRL4, whose
duplicates lose or mistype a ninth of their birth dates, recall cannot pass 0.91.
`migrex linkage attack` measures each salting (by year, by date, by date and sex) against
four attacks; on a thousand encodings drawn from a population, graph matching on the unit's
own score finds 11-14 % salted by year, the former default, and 0.5-1.6 % by date and sex:
about what the filters' weights give away. Balancing (a segment with its complement, so every
filter weighs the same) was measured too and did worse: it turns two different names of one
salt, which share few bits, into two filters that agree on most. Salting does nothing inside
one salt group: the few hundred people of one sex born on one day in a register of millions
are encoded as if unsalted, and graph matching finds nearly all of them
(`attack.one_salt_group`). Neither did what was tried against that: XOR-folding a name's
segment in two or four (whole-filter Dice blurs, but a name's folded segment is still the
same in every record that holds it: frequency analysis still names a third of the group's
names, and graph matching on which fields agree, equal or not, 88-90 % of its people),
random bit flips (a few percent cost the cross-script linkage most of its recall), or
salting by the names' first letters as well (groups shrink, and so does recall on FEBRL4 and
across scripts, below 0.9).

Work is done per distinct value: a register of millions repeats its surnames, names and
dates, and hashing, name variants and segment building are paid once per (salt, value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.linkage.keys import Keyed, Uint64s
from migrex.linkage.layout import (
    LAYOUT,
    SALT,
    WINDOW,
    Ints,
    Layout,
    Segment,
    Words,
)
from migrex.linkage.records import Register
from migrex.spelling.names import bigrams, father_name, forms, forms_of, place_forms


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


def _code_grams(value: str | None) -> set[str]:
    """A code compared whole (a postcode, a house number): one gram."""
    return {f"c{value}"} if value else set()


_FIELD_INPUT: Final[dict[str, tuple[tuple[str, ...], Callable[[str | None], set[str]]]]] = {
    "surname": (("surname", "surname_latin"), _name_grams),
    "given_name": (("given_name", "given_name_latin"), _name_grams),
    "patronymic": (("patronymic",), _patronymic_grams),
    "birth_date": (("birth_date",), _date_grams),
    "sex": (("sex",), _sex_grams),
    "birth_place": (("birth_place",), _place_grams),
    "code": (("code",), _code_grams),
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


@numba.njit(nogil=True, cache=True)
def _filled(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    h1: Uint64s, h2: Uint64s, owner: Ints, hashes: int, words: int, count: int
) -> Words:  # pragma: no cover - compiled
    """Segments of `words` words, one per owner: entry k sets the bits h1[k] + i·h2[k] mod
    the segment's size, i < hashes, in segment owner[k]."""
    out = np.zeros((count, words), dtype=np.uint64)
    size = np.uint64(64 * words)
    for k in range(len(owner)):
        for i in range(hashes):
            position = (h1[k] + np.uint64(i) * h2[k]) % size
            out[owner[k], position >> np.uint64(6)] |= np.uint64(1) << (position & np.uint64(63))
    return out


def _segment(
    keyed: Keyed,
    *, segment: Segment, rows: Ints, values: list[str | None],
    grams_of: Callable[[str | None], set[str]], salts: Ints, salt_hashes: Uint64s,
) -> Words:  # fmt: skip
    """The segment of every record: rows[i] is record i's distinct value, salts[i] its salt
    (an index into `salt_hashes`)."""
    offsets, gram_ids, vocabulary = _lists(values, grams_of)
    width = np.int64(len(values))
    combos, inverse = np.unique(salts * width + rows, return_inverse=True)
    combo_value, combo_salt = combos % width, combos // width
    owner, at = _explode(offsets, combo_value)
    # One HMAC per distinct gram; each (salt, gram) of a combination then costs one block of
    # AES, not a Python call.
    gram_hashes = keyed.tokens(vocabulary)
    h1, h2 = keyed.salted_pairs(gram_hashes[gram_ids[at]], salt_hashes[combo_salt[owner]])
    segments: Words = _filled(h1, h2, owner, segment.hashes, segment.words, len(combos))
    return segments[inverse]


Salting = Callable[[Register], tuple[Ints, list[str]]]


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


def _dates_and_sexes(register: Register) -> tuple[Ints, list[str]]:
    """The date's salt (`_dates`) with the sex after it."""
    dates, date_names = _dates(register)
    sexes, sex_names = distinct_values(register.columns["sex"])
    width = len(sex_names)
    distinct, inverse = np.unique(dates * width + sexes, return_inverse=True)
    names = [f"{date_names[d // width]}-{sex_names[d % width] or ''}" for d in distinct.tolist()]
    return np.asarray(inverse, dtype=np.int64), names


@dataclass(frozen=True)
class Salt:
    """What a record's hashes are salted by, and the fields that salt holds whole."""

    of: Salting
    holds: frozenset[str] = frozenset()


# The year splits the register in a hundred; the date in tens of thousands, and the date and
# sex in twice as many, which `migrex linkage attack` shows the graph-matching attack needs.
SALTS: Final[dict[str, Salt]] = {
    "year": Salt(_years),
    "date": Salt(_dates, frozenset({"birth_date"})),
    "date-sex": Salt(_dates_and_sexes, frozenset({"birth_date", "sex"})),
}


def _present(grams_of: Callable[[str | None], set[str]]) -> Callable[[str | None], set[str]]:
    """One gram for any value that has grams: a field its salt holds says only that it is
    there, so the unit still counts it, and records of one salt share no extra bits."""
    return lambda value: {"\x1epresent"} if grams_of(value) else set()


def encode_filters(
    register: Register, key: bytes, layout: Layout = LAYOUT, *, salt: str | None = SALT
) -> Words:
    """The (records, layout.words) filters of a register under `key`, the hashes salted by
    `salt` (a key of `SALTS`; None for none, which only the attack harness wants)."""
    n = len(register)
    salting = SALTS[salt] if salt is not None else Salt(lambda _: (np.zeros(n, np.int64), [""]))
    salts, salt_names = salting.of(register)
    salt_hashes = Keyed(key, "filter-salt").tokens(salt_names)
    unsalted, no_salt = np.zeros(n, np.int64), Keyed(key, "filter-salt").tokens([""])
    parts = []
    for segment in layout.segments:
        columns, grams_of = _FIELD_INPUT[segment.field]
        held = segment.field in salting.holds
        rows, values = distinct_values(joined([register.columns[c] for c in columns]))
        keyed = Keyed(key, f"filter\x1f{segment.field}")
        parts.append(
            _segment(
                keyed,
                segment=segment,
                rows=rows,
                values=values,
                grams_of=_present(grams_of) if held else grams_of,
                salts=unsalted if held else salts,
                salt_hashes=no_salt if held else salt_hashes,
            )
        )
    return np.ascontiguousarray(np.concatenate(parts, axis=1))
