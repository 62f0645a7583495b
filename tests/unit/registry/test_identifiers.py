"""National identifiers: the scalar checks, and the column-at-a-time versions that must agree."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from factories import make_iin
from migrex.registry.identifiers import (
    check_bin,
    check_document_number,
    check_iin,
    check_psn,
    iin_birth_date,
    iin_check_digit,
    iin_sex,
)
from migrex.registry.vectorised import bin_mask, date_mask, iin_mask

twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)
near_iins = st.one_of(
    twelve_digits,
    st.text(alphabet="0123456789 x", min_size=0, max_size=14),
    st.dates(date(1800, 1, 1), date(2099, 12, 31)).flatmap(
        lambda d: st.integers(0, 9999).map(
            lambda serial: make_iin(d.strftime("%y%m%d"), _century_digit(d.year), serial)
        )
    ),
)


def _century_digit(year: int) -> int:
    return {18: 1, 19: 3, 20: 5}[year // 100]


def test_a_known_iin() -> None:
    iin = make_iin("900101", 3, 12)
    assert check_iin(iin) is None
    assert iin_birth_date(iin) == date(1990, 1, 1)
    assert iin_sex(iin) == "M"


def test_iin_errors_say_what_is_wrong() -> None:
    good = make_iin("850314", 4, 77)
    assert check_iin(good[:11]) == "an IIN has exactly 12 digits"
    assert check_iin("851314" + good[6:]) == (
        "the first 7 digits of an IIN do not encode a real birth date"
    )
    wrong = good[:11] + str((int(good[11]) + 1) % 10)
    assert check_iin(wrong) == "the IIN check digit does not match"


def test_the_second_weighting_is_used_when_the_first_gives_ten() -> None:
    # Find eleven digits whose first weighted sum is 10 mod 11: the check digit must then come
    # from the second weighting (or the number is never issued).
    for serial in range(10_000):
        first = f"8001013{serial:04d}"
        if sum(int(c) * w for c, w in zip(first, range(1, 12), strict=True)) % 11 == 10:
            second = (
                sum(
                    int(c) * w
                    for c, w in zip(first, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)
                )
                % 11
            )
            assert iin_check_digit(first) == (None if second == 10 else second)
            return
    raise AssertionError("no such number in the range")


@given(st.lists(near_iins, max_size=30))
def test_vectorised_iin_check_agrees_with_the_scalar_one(values: list[str]) -> None:
    mask = iin_mask(pa.array(values, pa.string()))
    assert mask.tolist() == [check_iin(v) is None for v in values]


@given(st.lists(st.one_of(twelve_digits, st.text(max_size=13)), max_size=30))
def test_vectorised_bin_check_agrees_with_the_scalar_one(values: list[str]) -> None:
    mask = bin_mask(pa.array(values, pa.string()))
    assert mask.tolist() == [check_bin(v) is None for v in values]


@given(st.dates(date(1800, 1, 1), date(2099, 12, 31)), st.integers(0, 9999))
def test_generated_iins_encode_their_birth_date(born: date, serial: int) -> None:
    iin = make_iin(born.strftime("%y%m%d"), _century_digit(born.year), serial)
    assert check_iin(iin) is None
    assert iin_birth_date(iin) == born


@given(st.lists(st.one_of(st.dates().map(date.isoformat), st.text(max_size=12)), max_size=30))
def test_date_check_accepts_exactly_real_iso_dates(values: list[str]) -> None:
    ok, parsed = date_mask(pa.array(values, pa.string()))
    for value, accepted, as_date in zip(values, ok.tolist(), parsed.to_pylist(), strict=True):
        try:
            real = date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
        except ValueError:
            real = None
        expected = real is not None and real.isoformat() == value
        assert accepted == expected, value
        assert (as_date == real) if accepted else as_date is None


def test_psn_and_document_formats() -> None:
    assert check_psn("1234567890") is None
    assert check_psn("123456789") is not None
    assert check_psn("0000000000") is not None
    assert check_document_number("N12345678", "KAZ") is None
    assert check_document_number("AM1234567", "ARM") is None
    assert check_document_number("123456789", "ARM", "I") is None
    assert check_document_number("AM1234567", "KAZ") == "not a KAZ passport number"
    assert check_document_number("X1234567", "FRA") is None  # ICAO general rule
    assert check_document_number("x-1", "FRA") is not None
