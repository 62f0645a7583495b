"""Blocking: which pairs of records the linkage unit compares at all.

Comparing every record of 20 M with every one of 3 M is 6·10¹³ comparisons; a person's two
records almost always share a birth date. Each party computes keyed tokens per pass (HMAC:
the unit sees equal tokens, not dates or names), and the unit compares the records that share
a token in any pass:

- `date`: the birth date with day and month as an unordered pair, so a record whose day and
  month were swapped meets its twin in the same block as the exact date;
- `year-surname`: the birth year and the first letters of each form of the surname, for a
  date typed wrong by a day or more;
- `year-given`: the birth year, sex and the first letters of each form of the given name, for
  a surname changed on marriage or Russified beyond what the variants reach;
- `passport`: the passport number, where both registers hold the same document (a person
  registered in one state with the other state's passport).

Pair completeness (the share of true pairs that meet in some block) is measured by the
evaluation and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.linkage.encoder import distinct_values, joined
from migrex.linkage.keys import Keyed
from migrex.linkage.layout import PREFIX, Ints, Tokens
from migrex.linkage.records import Register
from migrex.spelling.names import forms_of


def _date_tokens(value: str | None) -> list[str]:
    if not value or len(value) < 10:
        return []
    low, high = sorted((value[5:7], value[8:10]))
    return [f"{value[:4]}{low}{high}"]


def _prefixes(value: str | None) -> list[str]:
    """The first letters of each form of a name (`local\x1flatin`)."""
    return sorted({form[:PREFIX] for form in forms_of(value)}) if value else []


def _year(value: str | None) -> list[str]:
    return [value] if value and len(value) == 4 else []


# Each pass: its groups of columns, each group giving texts per distinct value; a record's
# tokens are every combination of one text from each group (a year and a name prefix).
Part = tuple[tuple[str, ...], Callable[[str | None], list[str]]]
PASSES: Final[dict[str, tuple[Part, ...]]] = {
    "date": ((("birth_date",), _date_tokens),),
    "year-surname": ((("birth_year",), _year), (("surname", "surname_latin"), _prefixes)),
    "year-given": (
        (("birth_year", "sex"), lambda v: [v] if v and len(v.split("\x1f")[0]) == 4 else []),
        (("given_name", "given_name_latin"), _prefixes),
    ),
    "passport": ((("passport_number",), lambda v: [v.upper()] if v else []),),
}
Passes = dict[str, tuple[Part, ...]]


def _texts(columns: list[pa.Array], texts_of: Callable[[str | None], list[str]]) -> tuple[
    Ints, Ints, list[str]
]:  # fmt: skip
    """Each record's texts as (record, text id) pairs, and the distinct texts."""
    rows, values = distinct_values(joined(columns))
    vocabulary: dict[str, int] = {}
    ids: list[int] = []
    offsets = [0]
    for value in values:
        ids += [vocabulary.setdefault(t, len(vocabulary)) for t in texts_of(value)]
        offsets.append(len(ids))
    starts = np.array(offsets, dtype=np.int64)
    lengths = (starts[1:] - starts[:-1])[rows]
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    at = np.repeat(starts[:-1][rows] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    at = at + np.arange(int(lengths.sum()), dtype=np.int64)
    return owner, np.array(ids, dtype=np.int64)[at], list(vocabulary)


def blocking_tokens(
    register: Register, key: bytes, passes: Passes = PASSES
) -> dict[str, Tokens]:  # fmt: skip
    """The keyed tokens of every pass of `passes` for a register's records."""
    columns = dict(register.columns)
    columns["birth_year"] = pc.utf8_slice_codeunits(columns["birth_date"], 0, 4)
    out: dict[str, Tokens] = {}
    for name, parts in passes.items():
        # Start from one empty text per record and combine with each part in turn.
        owner = np.arange(len(register), dtype=np.int64)
        combined = np.zeros(len(register), dtype=np.int64)
        names: list[str] = [""]
        for group, texts_of in parts:
            rows, ids, vocabulary = _texts([columns[c] for c in group], texts_of)
            # Join the tokens so far (by record) with this part's texts (by record).
            order = np.argsort(owner, kind="stable")
            owner, combined = owner[order], combined[order]
            first = np.searchsorted(owner, rows, side="left")
            count = np.searchsorted(owner, rows, side="right") - first
            pick = np.repeat(first, count) + (
                np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
            )
            codes = combined[pick] * max(len(vocabulary), 1) + np.repeat(ids, count)
            distinct, combined = np.unique(codes, return_inverse=True)
            width = max(len(vocabulary), 1)
            names = [names[c // width] + "\x1f" + vocabulary[c % width] for c in distinct.tolist()]
            owner = owner[pick]
        tokens = Keyed(key, f"block\x1f{name}").tokens(names)
        out[name] = Tokens(tokens[combined] if len(combined) else np.zeros(0, np.uint64), owner)
    return out


CHUNK_PAIRS: Final = 1 << 22  # pairs handed out at once: 64 MiB of row numbers


def _pass_chunks(left: Tokens, right: Tokens, chunk: int) -> Iterator[tuple[Ints, Ints]]:
    """Every (left rows, right rows) pair that shares a token, `chunk` pairs at a time.

    The pairs of all blocks are numbered one after the other (block b holds |L_b|·|R_b|
    numbers), and a chunk is a range of those numbers: memory stays bounded however large
    the registers, and a block of a very common date is cut like any other range."""
    lo = np.argsort(left.tokens, kind="stable")
    ro = np.argsort(right.tokens, kind="stable")
    lt, rt = left.tokens[lo], right.tokens[ro]
    common, l_first, l_count = np.unique(lt, return_index=True, return_counts=True)
    r_first = np.searchsorted(rt, common, side="left")
    r_count = np.searchsorted(rt, common, side="right") - r_first
    keep = r_count > 0
    l_first, l_count, r_first, r_count = l_first[keep], l_count[keep], r_first[keep], r_count[keep]
    ends = np.cumsum(l_count * r_count)
    total = int(ends[-1]) if len(ends) else 0
    for start in range(0, total, chunk):
        number = np.arange(start, min(start + chunk, total), dtype=np.int64)
        block = np.searchsorted(ends, number, side="right")
        within = number - (ends[block] - l_count[block] * r_count[block])
        li = l_first[block] + within // r_count[block]
        ri = r_first[block] + within % r_count[block]
        yield left.rows[lo[li]], right.rows[ro[ri]]


def candidate_chunks(
    left: dict[str, Tokens], right: dict[str, Tokens], chunk: int = CHUNK_PAIRS,
    passes: Passes = PASSES,
) -> Iterator[tuple[str, Ints, Ints]]:  # fmt: skip
    """(pass, left rows, right rows) of the pairs that share a token, pass after pass. A pair
    that shares tokens in two passes comes twice; matching keeps it once."""
    for name in passes:
        for li, ri in _pass_chunks(left[name], right[name], chunk):
            yield name, li, ri


def candidate_pairs(
    left: dict[str, Tokens], right: dict[str, Tokens]
) -> tuple[Ints, Ints, dict[str, int]]:
    """The distinct pairs that share a token in any pass, all at once: (left rows, right
    rows, pairs per pass before the passes are merged). For small registers and tests; a
    run goes through `candidate_chunks`."""
    found = []
    per_pass = dict.fromkeys(PASSES, 0)
    for name, li, ri in candidate_chunks(left, right):
        per_pass[name] += len(li)
        found.append(li * (1 << 32) + ri)
    merged = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return merged >> 32, merged & 0xFFFFFFFF, per_pass


def pair_completeness(
    left: dict[str, Tokens], right: dict[str, Tokens], pairs: set[tuple[int, int]]
) -> float:
    """The share of `pairs` (the true ones) whose records share a token in some pass."""
    if not pairs:
        return 1.0
    wanted_left = np.array(sorted({a for a, _ in pairs}), dtype=np.int64)
    wanted_right = np.array(sorted({b for _, b in pairs}), dtype=np.int64)

    def tokens_of(tokens: Tokens, wanted: Ints) -> dict[int, set[int]]:
        inside = np.isin(tokens.rows, wanted)
        found: dict[int, set[int]] = {}
        for row, token in zip(
            tokens.rows[inside].tolist(), tokens.tokens[inside].tolist(), strict=True
        ):
            found.setdefault(row, set()).add(token)
        return found

    met: set[tuple[int, int]] = set()
    for name in PASSES:
        ours, theirs = tokens_of(left[name], wanted_left), tokens_of(right[name], wanted_right)
        met |= {(a, b) for a, b in pairs if ours.get(a, set()) & theirs.get(b, set())}
    return len(met) / len(pairs)
