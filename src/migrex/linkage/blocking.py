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
  a surname changed on marriage or Russified beyond what the variants reach.

Pair completeness (the share of true pairs that meet in some block) is measured by the
evaluation and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from migrex.linkage.encoder import Ints, Tokens, distinct_values, joined
from migrex.linkage.keys import Keyed
from migrex.linkage.names import forms
from migrex.linkage.records import Register

PREFIX: Final = 4  # letters of a name's skeleton in its blocking token


def _date_tokens(value: str | None) -> list[str]:
    if not value or len(value) < 10:
        return []
    low, high = sorted((value[5:7], value[8:10]))
    return [f"{value[:4]}{low}{high}"]


def _year_name_tokens(value: str | None) -> list[str]:
    """Year, then the start of each form of the name (`year\x1fsex\x1fname\x1flatin`)."""
    if not value:
        return []
    year, sex, *spellings = value.split("\x1f")
    if len(year) < 4:
        return []
    return sorted({f"{year[:4]}{sex}{form[:PREFIX]}" for form in forms(spellings)})


PASSES: Final[dict[str, tuple[tuple[str, ...], Callable[[str | None], list[str]]]]] = {
    "date": (("birth_date",), _date_tokens),
    "year-surname": (("birth_date", "", "surname", "surname_latin"), _year_name_tokens),
    "year-given": (("birth_date", "sex", "given_name", "given_name_latin"), _year_name_tokens),
}


def blocking_tokens(register: Register, key: bytes) -> dict[str, Tokens]:
    """The keyed tokens of every pass for a register's records."""
    n = len(register)
    empty = pa.nulls(n, pa.string())
    out: dict[str, Tokens] = {}
    for name, (columns, tokens_of) in PASSES.items():
        rows, values = distinct_values(joined([register.columns[c] if c else empty for c in columns]))
        texts: list[str] = []
        offsets = [0]
        for value in values:
            texts += tokens_of(value)
            offsets.append(len(texts))
        starts = np.array(offsets, dtype=np.int64)
        lengths = (starts[1:] - starts[:-1])[rows]
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        at = np.repeat(starts[:-1][rows] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        at = at + np.arange(int(lengths.sum()), dtype=np.int64)
        distinct = Keyed(key, f"block\x1f{name}").tokens(texts)
        out[name] = Tokens(distinct[at] if len(at) else np.zeros(0, np.uint64), owner)
    return out


def _pass_pairs(left: Tokens, right: Tokens) -> npt.NDArray[np.int64]:
    """Every (left row, right row) that share a token, as left·2³² + right."""
    lo = np.argsort(left.tokens, kind="stable")
    ro = np.argsort(right.tokens, kind="stable")
    lt, rt = left.tokens[lo], right.tokens[ro]
    common, l_first, l_count = np.unique(lt, return_index=True, return_counts=True)
    r_first = np.searchsorted(rt, common, side="left")
    r_count = np.searchsorted(rt, common, side="right") - r_first
    keep = r_count > 0
    l_first, l_count, r_first, r_count = l_first[keep], l_count[keep], r_first[keep], r_count[keep]
    sizes = l_count * r_count
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, np.int64)
    block = np.repeat(np.arange(len(sizes)), sizes)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    li = l_first[block] + within // r_count[block]
    ri = r_first[block] + within % r_count[block]
    return left.rows[lo[li]] * (1 << 32) + right.rows[ro[ri]]


def candidate_pairs(
    left: dict[str, Tokens], right: dict[str, Tokens]
) -> tuple[Ints, Ints, dict[str, int]]:
    """The distinct pairs that share a token in any pass: (left rows, right rows, pairs per
    pass before the passes are merged)."""
    found = []
    per_pass: dict[str, int] = {}
    for name in PASSES:
        pairs = _pass_pairs(left[name], right[name])
        per_pass[name] = len(pairs)
        found.append(pairs)
    merged = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return merged >> 32, merged & 0xFFFFFFFF, per_pass
