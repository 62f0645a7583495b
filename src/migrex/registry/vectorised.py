"""Column-at-a-time versions of the identifier checks, for files of millions of rows.

Each function returns a boolean numpy mask that is True where the value passes. The scalar
checks in `identifiers` stay the reference: tests assert both agree on arbitrary input, and
the importer asks the scalar check for the reason only on the few cells that fail here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]

_WEIGHTS_FIRST = np.arange(1, 12)
_WEIGHTS_SECOND = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def regex_mask(values: pa.Array, pattern: str) -> Mask:
    """True where the whole value matches `pattern` (RE2 syntax); False for nulls."""
    matched = pc.match_substring_regex(values, f"^(?:{pattern})$")
    return np.asarray(matched.fill_null(False), dtype=bool)


def _digit_matrix(values: pa.Array, width: int) -> tuple[Mask, npt.NDArray[np.int64]]:
    """Rows of `width` digits as an int matrix, and the mask of rows that were digits."""
    shaped = regex_mask(values, f"[0-9]{{{width}}}")
    selected = values.filter(pa.array(shaped)).to_pylist()
    joined = "".join(selected).encode("ascii")
    digits = (np.frombuffer(joined, dtype=np.uint8).astype(np.int64) - 48).reshape(-1, width)
    return shaped, digits


def _check_digit_ok(digits: npt.NDArray[np.int64]) -> Mask:
    first = digits[:, :11] @ _WEIGHTS_FIRST % 11
    second = digits[:, :11] @ _WEIGHTS_SECOND % 11
    expected = np.where(first != 10, first, np.where(second != 10, second, -1))
    return np.asarray(expected == digits[:, 11], dtype=bool)


def _birth_date_ok(digits: npt.NDArray[np.int64]) -> Mask:
    century_sex = digits[:, 6]
    century = np.select([century_sex <= 2, century_sex <= 4, century_sex <= 6], [1800, 1900, 2000])
    year = century + digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    day = digits[:, 4] * 10 + digits[:, 5]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return np.asarray(
        (century_sex >= 1) & (century_sex <= 6) & month_ok & (day >= 1) & (day <= days),
        dtype=bool,
    )


def iin_mask(values: pa.Array) -> Mask:
    shaped, digits = _digit_matrix(values, 12)
    result = np.zeros(len(values), dtype=bool)
    result[shaped] = _check_digit_ok(digits) & _birth_date_ok(digits)
    return result


def bin_mask(values: pa.Array) -> Mask:
    shaped, digits = _digit_matrix(values, 12)
    result = np.zeros(len(values), dtype=bool)
    result[shaped] = _check_digit_ok(digits) & np.isin(digits[:, 4], (4, 5, 6))
    return result


def date_mask(values: pa.Array) -> tuple[Mask, pa.Array]:
    """True where the value is a real ISO date; also the values as date32 (null if not)."""
    shaped = regex_mask(values, r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
    parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2024-02-30 over to 2024-03-01; printing it back catches that.
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)
    ok = shaped & np.asarray(round_trip.fill_null(False), dtype=bool)
    dates = pc.if_else(pa.array(ok), pc.cast(parsed, pa.date32()), pa.scalar(None, pa.date32()))
    return ok, dates
