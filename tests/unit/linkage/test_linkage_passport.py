"""The passport pass: two records of one document meet in a block whatever else differs."""

from __future__ import annotations

import pyarrow as pa

from migrex.linkage.blocking import blocking_tokens, candidate_pairs
from migrex.linkage.records import FIELDS, Register

KEY = bytes(range(32))


def _register(rows: list[dict[str, str]]) -> Register:
    return Register({f: pa.array([r.get(f) for r in rows], pa.string()) for f in FIELDS})


def test_one_passport_in_both_registers_puts_its_records_in_one_block() -> None:
    left = _register([
        {"national_id": "K1", "surname": "Оганесян", "given_name": "Арам",
         "birth_date": "1980-03-25", "passport_number": "AM1234567"},
        {"national_id": "K2", "surname": "Петров", "given_name": "Иван",
         "birth_date": "1970-01-01", "passport_number": "N12345678"},
    ])  # fmt: skip
    right = _register([
        # Another birth year and another surname: no other pass brings them together.
        {"national_id": "A1", "surname": "Մկրտչյան", "given_name": "Տիգրան",
         "birth_date": "1979-04-02", "passport_number": "am1234567"},
        {"national_id": "A2", "surname": "Սարգսյան", "given_name": "Անի",
         "birth_date": "1990-05-05"},
    ])  # fmt: skip
    li, ri, per_pass = candidate_pairs(blocking_tokens(left, KEY), blocking_tokens(right, KEY))
    assert set(zip(li.tolist(), ri.tolist(), strict=True)) == {(0, 0)}
    assert per_pass["passport"] == 1
