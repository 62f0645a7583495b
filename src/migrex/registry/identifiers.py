"""National identifiers and document numbers: pure checks, no I/O.

Each check returns None when the value is valid and a short reason when it is not, so the
importer can report every bad cell in one pass.
"""

from __future__ import annotations

import re
from datetime import date

# The IIN (Kazakhstan's individual identification number, also used as the BIN of legal
# entities) carries a mod-11 check digit. When the first weighting gives 10, a second
# weighting is tried; when that also gives 10, the number is never issued.
_IIN_WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_IIN_WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

# Seventh digit of a person's IIN: century of birth and sex.
IIN_CENTURY_SEX = {1: (1800, "M"), 2: (1800, "F"), 3: (1900, "M"), 4: (1900, "F"),
                   5: (2000, "M"), 6: (2000, "F")}  # fmt: skip


def iin_check_digit(first_eleven: str) -> int | None:
    """The check digit for eleven digits, or None when such a number is never issued."""
    digits = [int(c) for c in first_eleven]
    for weights in (_IIN_WEIGHTS_FIRST, _IIN_WEIGHTS_SECOND):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def check_iin(value: str) -> str | None:
    """Checks a person's IIN: twelve digits, a real birth date, century/sex digit, check digit."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return "an IIN has exactly 12 digits"
    if iin_birth_date(value) is None:
        return "the first 7 digits of an IIN do not encode a real birth date"
    if iin_check_digit(value[:11]) != int(value[11]):
        return "the IIN check digit does not match"
    return None


def iin_birth_date(value: str) -> date | None:
    """The birth date an IIN encodes, or None when it encodes none."""
    century_sex = IIN_CENTURY_SEX.get(int(value[6]))
    if century_sex is None:
        return None
    try:
        return date(century_sex[0] + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return None


def iin_sex(value: str) -> str | None:
    century_sex = IIN_CENTURY_SEX.get(int(value[6])) if value[6:7].isdigit() else None
    return century_sex[1] if century_sex else None


def check_bin(value: str) -> str | None:
    """Checks a Kazakh business identification number: 12 digits with the IIN check digit."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return "a BIN has exactly 12 digits"
    if int(value[4]) not in (4, 5, 6):
        return "the fifth digit of a BIN gives the entity type and must be 4, 5 or 6"
    if iin_check_digit(value[:11]) != int(value[11]):
        return "the BIN check digit does not match"
    return None


_PSN = re.compile(r"[0-9]{10}")


def check_psn(value: str) -> str | None:
    """Checks an Armenian public-service number (ՀԾՀ): ten digits, not all zero.

    The number carries no published check digit, so only its format can be checked.
    """
    if not _PSN.fullmatch(value):
        return "an Armenian public-service number has exactly 10 digits"
    if value == "0" * 10:
        return "an Armenian public-service number cannot be all zeros"
    return None


_AM_TAX_ID = re.compile(r"[0-9]{8}")


def check_am_tax_id(value: str) -> str | None:
    """Checks an Armenian taxpayer identification number (ՀՎՀՀ): eight digits."""
    return None if _AM_TAX_ID.fullmatch(value) else "an Armenian taxpayer number has 8 digits"


# Passport and identity card numbers as each state issues them; other states get the
# ICAO 9303 general rule (up to 9 letters or digits, as in the machine-readable zone).
PASSPORT_FORMATS: dict[str, re.Pattern[str]] = {
    "KAZ": re.compile(r"N[0-9]{8}"),
    "ARM": re.compile(r"A[A-Z][0-9]{7}"),
    "KGZ": re.compile(r"(AC|ID|PE)[0-9]{7}"),
    "RUS": re.compile(r"[0-9]{9}"),
    "UZB": re.compile(r"(AA|AB|AC|AD|FA)[0-9]{7}"),
}
ID_CARD_FORMATS: dict[str, re.Pattern[str]] = {
    "KAZ": re.compile(r"[0-9]{9}"),
    "ARM": re.compile(r"[0-9]{9}"),
}
_ICAO_DOCUMENT = re.compile(r"[A-Z0-9]{5,9}")


def check_document_number(number: str, issuing_state: str, document_type: str = "P") -> str | None:
    """Checks a travel document number against the issuing state's format."""
    formats = ID_CARD_FORMATS if document_type == "I" else PASSPORT_FORMATS
    pattern = formats.get(issuing_state)
    if pattern is not None:
        if pattern.fullmatch(number):
            return None
        document = "identity card" if document_type == "I" else "passport"
        return f"not a {issuing_state} {document} number"
    if _ICAO_DOCUMENT.fullmatch(number):
        return None
    return "a document number has 5 to 9 Latin capitals or digits"
