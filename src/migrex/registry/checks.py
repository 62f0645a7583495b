"""Validation of one registry table, column by column, reporting every bad cell.

Pure: takes an Arrow table of text cells (as read from a CSV or Parquet file) and returns
the problems found, each with its row, column and reason. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from migrex.registry import identifiers, scripts
from migrex.registry.columns import COLUMNS, Column, Kind, Rule, Type
from migrex.registry.vectorised import Mask, bin_mask, date_mask, iin_mask, regex_mask

# Dates that describe something that has already happened cannot lie in the future.
PAST_DATES = frozenset(
    {"birth_date", "entry_date", "detected_on", "citizenship_acquired", "start_date",
     "passport_issued", "decision_date", "departure_date", "document_issue_date"}
)  # fmt: skip
# (earlier, later) pairs checked whenever both cells are present.
ORDERED_DATES = (
    ("permit_valid_from", "permit_valid_to"),
    ("start_date", "end_date"),
    ("passport_issued", "passport_expires"),
    ("detected_on", "decision_date"),
    ("birth_date", "entry_date"),
    ("birth_date", "document_issue_date"),
    ("entry_date", "departure_date"),
    ("birth_date", "citizenship_acquired"),
)
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)

# ISCO-08 sub-major groups (the first two digits of a unit group).
ISCO08_SUB_MAJOR = frozenset(
    [
        "01",
        "02",
        "03",
        "11",
        "12",
        "13",
        "14",
        "21",
        "22",
        "23",
        "24",
        "25",
        "26",
        "31",
        "32",
        "33",
        "34",
        "35",
        "41",
        "42",
        "43",
        "44",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "71",
        "72",
        "73",
        "74",
        "75",
        "81",
        "82",
        "83",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
    ]
)
_TEXT = r"[^\x00-\x1f\x7f]{1,200}"
_RECORD_ID = r"[A-Za-z0-9._\-]{1,40}"


@dataclass(frozen=True, order=True)
class CellProblem:
    row: int  # zero-based row of the table
    column: str
    reason: str


@cache
def country_codes() -> frozenset[str]:
    return frozenset(country.alpha_3 for country in pycountry.countries)


@cache
def region_codes(state: str) -> frozenset[str]:
    return frozenset(sub.code for sub in pycountry.subdivisions if sub.country_code == state)


@cache
def _alpha3_by_alpha2() -> dict[str, str]:
    return {country.alpha_2: country.alpha_3 for country in pycountry.countries}


def alpha3(state: str) -> str:
    return _alpha3_by_alpha2()[state]


@dataclass
class TableCheck:
    """Checks one table of `kind` for a node of `state` (ISO alpha-2)."""

    kind: Kind
    state: str
    today: date

    def run(self, table: pa.Table) -> list[CellProblem]:
        self.table = table
        self.problems: list[CellProblem] = []
        self.dates: dict[str, pa.Array] = {}
        for column in COLUMNS[self.kind]:
            if column.extension and column.name not in table.column_names:
                continue  # a register without the column: nothing to check
            self._check_column(column, table.column(column.name).combine_chunks())
        self._check_date_order()
        self._check_unique()
        return sorted(self.problems)

    def _report(self, bad: Mask, column: str, reason: str | Callable[[str], str]) -> None:
        values = self.table.column(column)
        for row in np.flatnonzero(bad):
            text = reason if isinstance(reason, str) else reason(values[int(row)].as_py())
            self.problems.append(CellProblem(int(row), column, text))

    def _check_column(self, column: Column, values: pa.Array) -> None:
        present = np.asarray(values.is_valid(), dtype=bool)
        if column.required:
            self._report(~present, column.name, "a value is required")
        if not present.any():
            return
        if column.type is Type.DATE:
            self._check_dates(column.name, values, present)
            return
        ok, reason = self._rule(column, values)
        self._report(present & ~ok, column.name, reason)

    def _rule(self, column: Column, values: pa.Array) -> tuple[Mask, str | Callable[[str], str]]:
        match column.rule:
            case Rule.TEXT:
                return regex_mask(
                    values, _TEXT
                ), "free text of 1-200 characters without control characters"
            case Rule.RECORD_ID:
                return regex_mask(
                    values, _RECORD_ID
                ), "an id of 1-40 Latin letters, digits, '.', '_' or '-'"
            case Rule.LOCAL_NAME:
                pattern = scripts.LOCAL_NAME_PATTERNS[self.state]
                return regex_mask(
                    values, pattern
                ), lambda v: scripts.check_local_name(v, self.state) or ""
            case Rule.LATIN_NAME:
                return regex_mask(
                    values, scripts.LATIN_NAME_PATTERN
                ), lambda v: scripts.check_latin_name(v) or ""
            case Rule.SEX:
                return _in(values, {"M", "F"}), "sex is M or F"
            case Rule.COUNTRY:
                return _in(values, country_codes()), "not an ISO 3166-1 alpha-3 country code"
            case Rule.DOCUMENT_TYPE:
                return _in(values, {"P", "I"}), "document type is P (passport) or I (identity card)"
            case Rule.REGION:
                codes = region_codes(self.state)
                return _in(values, codes), f"not an ISO 3166-2 region of {self.state}"
            case Rule.ISCO08:
                ok = regex_mask(values, "[0-9]{4}") & _in(
                    pc.utf8_slice_codeunits(values, 0, 2), ISCO08_SUB_MAJOR
                )
                return ok, "not an ISCO-08 unit group (4 digits of a real sub-major group)"
            case Rule.CODE:
                return _in(values, column.codes), "not one of: " + ", ".join(sorted(column.codes))
            case Rule.NATIONAL_ID:
                return self._national_id(values)
            case Rule.ORGANISATION_ID:
                return self._organisation_id(values)
            case Rule.DOCUMENT_NUMBER:
                return self._document_number(values)
        raise AssertionError(f"no check for {column.rule}")  # pragma: no cover

    def _national_id(self, values: pa.Array) -> tuple[Mask, str | Callable[[str], str]]:
        if self.state == "KZ":
            return iin_mask(values), lambda v: identifiers.check_iin(v) or ""
        if self.state == "AM":
            ok = regex_mask(values, "[0-9]{10}") & ~_in(values, {"0" * 10})
            return ok, lambda v: identifiers.check_psn(v) or ""
        return regex_mask(values, "[A-Z0-9]{5,20}"), "a national id of 5-20 capitals or digits"

    def _organisation_id(self, values: pa.Array) -> tuple[Mask, str | Callable[[str], str]]:
        if self.state == "KZ":
            return bin_mask(values) | iin_mask(values), "neither a valid BIN nor a valid IIN"
        if self.state == "AM":
            return regex_mask(values, "[0-9]{8}"), lambda v: identifiers.check_am_tax_id(v) or ""
        return regex_mask(values, "[A-Z0-9]{5,20}"), "an organisation id of 5-20 capitals or digits"

    def _document_number(self, values: pa.Array) -> tuple[Mask, str | Callable[[str], str]]:
        """Each row is checked against the format of the state that issued the document."""
        n = len(values)
        if self.kind is Kind.CITIZENS:
            issuers = pa.array([alpha3(self.state)] * n)
            types = pa.array(["P"] * n)
        else:
            issuers = self.table.column("citizenship").combine_chunks()
            types = (
                self.table.column("document_type").combine_chunks()
                if "document_type" in self.table.column_names
                else pa.array([None] * n, pa.string())
            )
        ok = regex_mask(values, "[A-Z0-9]{5,9}")
        for issuer in set(identifiers.PASSPORT_FORMATS) | set(identifiers.ID_CARD_FORMATS):
            of_issuer = np.asarray(pc.equal(issuers, issuer).fill_null(False), dtype=bool)
            if not of_issuer.any():
                continue
            is_card = np.asarray(pc.equal(types, "I").fill_null(False), dtype=bool)
            passport = identifiers.PASSPORT_FORMATS.get(issuer)
            card = identifiers.ID_CARD_FORMATS.get(issuer)
            passport_ok = regex_mask(values, passport.pattern) if passport else ok
            card_ok = regex_mask(values, card.pattern) if card else ok
            if types.null_count == n:  # no document type column: either document is fine
                ok = np.where(of_issuer, passport_ok | card_ok, ok)
            else:
                ok = np.where(of_issuer, np.where(is_card, card_ok, passport_ok), ok)

        def reason(row_value: str) -> str:
            return "not a document number in the issuing state's format"

        return ok, reason

    def _check_dates(self, name: str, values: pa.Array, present: Mask) -> None:
        ok, dates = date_mask(values)
        self._report(present & ~ok, name, "not a date in the form YYYY-MM-DD")
        latest = self.today if name in PAST_DATES else LATEST_DATE
        in_range = np.asarray(
            pc.and_(pc.greater_equal(dates, EARLIEST_DATE), pc.less_equal(dates, latest)).fill_null(
                True
            ),
            dtype=bool,
        )
        self._report(
            ok & ~in_range, name, f"a date between {EARLIEST_DATE} and {latest} is expected"
        )
        self.dates[name] = dates

    def _check_date_order(self) -> None:
        for earlier, later in ORDERED_DATES:
            if earlier in self.dates and later in self.dates:
                wrong = pc.less(self.dates[later], self.dates[earlier]).fill_null(False)
                self._report(np.asarray(wrong, dtype=bool), later, f"is before {earlier}")

    def _check_unique(self) -> None:
        key = "national_id" if self.kind is Kind.CITIZENS else "record_id"
        values = self.table.column(key).combine_chunks()
        counts = pc.value_counts(values.drop_null())
        repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
        if len(repeated):
            duplicate = np.asarray(
                pc.is_in(values, value_set=repeated).fill_null(False), dtype=bool
            )
            self._report(duplicate, key, "appears more than once in the file")


def _in(values: pa.Array, allowed: frozenset[str] | set[str]) -> Mask:
    matched = pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string()))
    return np.asarray(matched.fill_null(False), dtype=bool)
