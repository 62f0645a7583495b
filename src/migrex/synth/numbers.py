"""Identifiers and document numbers, issued in bulk and never twice.

Each series (IINs, Armenian passports, Kazakh work permits ...) keeps the numbers it has issued,
so a person's IIN never equals another's and a firm's BIN never equals a person's IIN, across
every registry of a generated population.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from migrex.synth.arrays import Bools, Days, Ints, codes, digits, ymd

_IIN_W1 = np.arange(1, 12, dtype=np.int64)
_IIN_W2 = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], dtype=np.int64)
_POWERS_11 = 10 ** np.arange(10, -1, -1, dtype=np.int64)


def iin_check_digits(first_eleven: Ints) -> Ints:
    """The IIN/BIN check digit of each 11-digit number; -1 where such a number is never issued."""
    d = (first_eleven[:, None] // _POWERS_11) % 10
    r1 = d @ _IIN_W1 % 11
    r2 = d @ _IIN_W2 % 11
    return np.where(r1 != 10, r1, np.where(r2 != 10, r2, -1))


@dataclass
class NumberBook:
    """The numbers issued so far in each series."""

    issued: dict[str, Ints] = field(default_factory=dict)

    def issue(self, series: str, n: int, draw: Callable[[Ints], Ints]) -> Ints:
        """n new numbers; `draw(rows)` proposes one candidate per pending row (-1: none)."""
        taken = self.issued.get(series, np.empty(0, dtype=np.int64))  # sorted
        fresh = np.empty(0, dtype=np.int64)  # sorted: accepted by this call so far
        result = np.full(n, -1, dtype=np.int64)
        pending = np.arange(n, dtype=np.int64)
        for _ in range(200):
            if not len(pending):
                break
            candidate = draw(pending)
            ok = (candidate >= 0) & ~_contains(taken, candidate) & ~_contains(fresh, candidate)
            # Of equal candidates in one round, the first row gets the number.
            rows = np.flatnonzero(ok)
            rows = rows[np.argsort(candidate[rows], kind="stable")]
            ordered = candidate[rows]
            first = np.ones(len(rows), dtype=bool)
            first[1:] = ordered[1:] != ordered[:-1]
            won = rows[first]
            result[pending[won]] = candidate[won]
            # Two sorted runs: the stable sort (timsort) merges them in linear time.
            fresh = np.sort(np.concatenate([fresh, ordered[first]]), kind="stable")
            left = np.ones(len(pending), dtype=bool)
            left[won] = False
            pending = pending[left]
        if len(pending):
            raise RuntimeError(f"series {series} is exhausted")
        self.issued[series] = np.sort(np.concatenate([taken, fresh]), kind="stable")
        return result


def _contains(sorted_values: Ints, values: Ints) -> Bools:
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return np.asarray(sorted_values[at] == values, dtype=bool)


def iins(book: NumberBook, rng: np.random.Generator, birth: Days, female: Bools) -> pa.Array:
    """Persons' IINs: birth date YYMMDD, century/sex digit, a 4-digit serial, check digit."""
    y, m, d = ymd(birth)
    century_sex = np.where(y >= 2000, 5, 3) + female.astype(np.int64)
    head = ((y % 100) * 10_000 + m * 100 + d) * 10 + century_sex

    def draw(rows: Ints) -> Ints:
        first = head[rows] * 10_000 + rng.integers(0, 10_000, len(rows))
        check = iin_check_digits(first)
        return np.where(check >= 0, first * 10 + check, -1)

    return digits(book.issue("IIN", len(birth), draw), 12)


def bins(book: NumberBook, rng: np.random.Generator, registered: Days, foreign: Bools) -> pa.Array:
    """BINs: year and month of registration, entity type (4 resident, 5 foreign-company
    branch), an attribute digit (0 head office, 1 branch), a 5-digit serial, check digit.
    They share the IIN series: a BIN's fifth digit (4-6) can never be an IIN's day digit."""
    y, m, _ = ymd(registered)
    kind = np.where(foreign, 51, 40)
    head = ((y % 100) * 100 + m) * 100 + kind

    def draw(rows: Ints) -> Ints:
        first = head[rows] * 100_000 + rng.integers(0, 100_000, len(rows))
        check = iin_check_digits(first)
        return np.where(check >= 0, first * 10 + check, -1)

    return digits(book.issue("IIN", len(registered), draw), 12)


def psns(book: NumberBook, rng: np.random.Generator, birth: Days) -> pa.Array:
    """Armenian public-service numbers. The law on the number builds it from the birth date,
    a 3-digit serial and a control digit; the control digit's rule is not published, so
    here it is random (the importer, rightly, checks only the ten digits)."""
    y, m, d = ymd(birth)
    head = (d * 100 + m) * 100 + y % 100

    def draw(rows: Ints) -> Ints:
        return head[rows] * 10_000 + rng.integers(0, 10_000, len(rows))

    return digits(book.issue("PSN", len(birth), draw), 10)


def am_tax_ids(book: NumberBook, rng: np.random.Generator, n: int) -> pa.Array:
    """Armenian taxpayer numbers (ՀՎՀՀ) of companies: 8 digits, a leading 0 and a
    two-digit tax office code, as company numbers are printed."""
    offices = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 22, 26, 27, 28, 35, 42, 56, 80])

    def draw(rows: Ints) -> Ints:
        office = rng.choice(offices, size=len(rows))
        return office * 100_000 + rng.integers(0, 100_000, len(rows))

    return digits(book.issue("AM-TIN", n, draw), 8)


@dataclass(frozen=True)
class DocumentFormat:
    """Series prefixes (all of one length) followed by `width` digits."""

    prefixes: tuple[str, ...]
    width: int


# Formats as each state issues them (see registry.identifiers for the checked ones); other
# states follow their real layouts within the ICAO rule of 5-9 letters or digits.
DOCUMENT_FORMATS: dict[tuple[str, str], DocumentFormat] = {
    ("KAZ", "P"): DocumentFormat(("N",), 8),
    ("KAZ", "I"): DocumentFormat(("0",), 8),
    ("ARM", "P"): DocumentFormat(("AK", "AM", "AN", "AP", "AR", "AS", "AT", "AU"), 7),
    ("ARM", "I"): DocumentFormat(("0",), 8),
    ("KGZ", "P"): DocumentFormat(("AC", "PE"), 7),
    ("KGZ", "I"): DocumentFormat(("ID",), 7),
    ("RUS", "P"): DocumentFormat(("75", "76", "77"), 7),
    ("UZB", "P"): DocumentFormat(("AA", "AB", "AC", "AD", "FA"), 7),
    ("CHN", "P"): DocumentFormat(("E",), 8),
    ("TUR", "P"): DocumentFormat(("U",), 8),
    ("BLR", "P"): DocumentFormat(("MP", "KH", "AB"), 7),
    ("IRN", "P"): DocumentFormat(("K", "H"), 8),
    ("GEO", "P"): DocumentFormat(("13", "14", "15"), 7),
    ("IND", "P"): DocumentFormat(("K", "L", "M", "N", "P", "R", "S", "T"), 7),
}


def document_numbers(
    book: NumberBook, rng: np.random.Generator, state: str, document_type: str, n: int
) -> pa.Array:
    spec = DOCUMENT_FORMATS[(state, document_type)]
    space = 10**spec.width

    def draw(rows: Ints) -> Ints:
        series = rng.integers(0, len(spec.prefixes), len(rows))
        # Serial numbers never start with 0 except where the format itself starts with 0.
        low = 0 if spec.prefixes[0] == "0" else space // 10
        return np.asarray(series * space + rng.integers(low, space, len(rows)), dtype=np.int64)

    issued = book.issue(f"DOC:{state}:{document_type}", n, draw)
    return codes(spec.prefixes, issued // space, issued % space, spec.width)


def permit_numbers(book: NumberBook, rng: np.random.Generator, prefix: str, n: int) -> pa.Array:
    """Permit numbers such as KZ-WP-1234567 (a registry record id: letters, digits, '-')."""

    def draw(rows: Ints) -> Ints:
        return rng.integers(1_000_000, 10_000_000, len(rows))

    return digits(book.issue(f"PERMIT:{prefix}", n, draw), 7, prefix=f"{prefix}-")
