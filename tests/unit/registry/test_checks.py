"""Table checks, without a database: each rule reports exactly the cells that break it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import citizen, employment, person_present, violation
from migrex.registry.checks import CellProblem, TableCheck
from migrex.registry.columns import Kind, column_names
from migrex.registry.scripts import check_latin_name, check_local_name

TODAY = date(2025, 12, 31)


def table_of(kind: Kind, rows: list[dict[str, Any]]) -> pa.Table:
    names = column_names(kind)
    columns = {n: pa.array([row[n] or None for row in rows], pa.string()) for n in names}
    return pa.table(columns)


def problems(kind: Kind, rows: list[dict[str, Any]], state: str = "KZ") -> list[CellProblem]:
    return TableCheck(kind, state, TODAY).run(table_of(kind, rows))


def armenian_citizen(n: int, **overrides: Any) -> dict[str, Any]:
    row = citizen(
        n,
        national_id=f"{1234500000 + n}",
        surname="Հովհաննիսյան",
        given_name="Արամ",
        patronymic="Աշոտի",
        surname_latin="HOVHANNISYAN",
        passport_number=f"AM{n:07d}",
    )
    row.update(overrides)
    return row


def test_valid_rows_of_every_kind_pass() -> None:
    assert problems(Kind.PERSONS_PRESENT, [person_present(1), person_present(2)]) == []
    assert problems(Kind.EMPLOYMENT, [employment(1, 1)]) == []
    assert problems(Kind.CITIZENS, [citizen(1), citizen(2)]) == []
    assert problems(Kind.VIOLATIONS, [violation(1)]) == []
    assert problems(Kind.CITIZENS, [armenian_citizen(1)], state="AM") == []


@pytest.mark.parametrize(
    ("kind", "row", "column"),
    [
        (Kind.EMPLOYMENT, employment(1, 1, occupation_isco08="1000"), "occupation_isco08"),
        (Kind.EMPLOYMENT, employment(1, 1, occupation_isco08="711"), "occupation_isco08"),
        (Kind.EMPLOYMENT, employment(1, 1, employer_id="940540000013"), "employer_id"),
        (Kind.EMPLOYMENT, employment(1, 1, end_date="2024-01-01"), "end_date"),
        (Kind.EMPLOYMENT, employment(1, 1, start_date="2030-01-01"), "start_date"),
        (Kind.CITIZENS, citizen(1, passport_number="AM1234567"), "passport_number"),
        (Kind.CITIZENS, citizen(1, status="asleep"), "status"),
        (Kind.CITIZENS, citizen(1, given_name_latin="Nurlan"), "given_name_latin"),
        (Kind.CITIZENS, citizen(1, birth_date="1899-12-31"), "birth_date"),
        (Kind.VIOLATIONS, violation(1, decision_date="2025-03-01"), "decision_date"),
        (Kind.VIOLATIONS, violation(1, violation_type="jaywalking"), "violation_type"),
        (Kind.VIOLATIONS, violation(1, legal_article="art.\x07517"), "legal_article"),
        (Kind.PERSONS_PRESENT, person_present(1, sex="X"), "sex"),
        (Kind.PERSONS_PRESENT, person_present(1, document_type="I"), "document_number"),
        (Kind.PERSONS_PRESENT, person_present(1, surname=""), "surname"),
    ],
)
def test_each_rule_names_its_cell(kind: Kind, row: dict[str, Any], column: str) -> None:
    assert [(p.row, p.column) for p in problems(kind, [row])] == [(0, column)]


def test_armenian_node_rules() -> None:
    bad = [
        armenian_citizen(1, national_id="123"),
        armenian_citizen(2, surname="Оганесян"),  # Cyrillic in an Armenian registry
        armenian_citizen(3, passport_number="N12345678"),  # a Kazakh passport format
    ]
    found = [(p.row, p.column) for p in problems(Kind.CITIZENS, bad, state="AM")]
    assert found == [(0, "national_id"), (1, "surname"), (2, "passport_number")]


def test_duplicates_are_reported_on_every_copy() -> None:
    rows = [citizen(1), citizen(2), citizen(1)]
    assert [(p.row, p.reason) for p in problems(Kind.CITIZENS, rows)] == [
        (0, "appears more than once in the file"),
        (2, "appears more than once in the file"),
    ]


names = st.text(alphabet=st.sampled_from("АБВЖЗОҚӘҢабвқәіАВС ABCabc-'Հհ1"), min_size=0, max_size=12)


@given(st.lists(names, min_size=1, max_size=20), st.sampled_from(["KZ", "AM"]))
def test_vectorised_name_checks_agree_with_the_scalar_ones(values: list[str], state: str) -> None:
    rows = [person_present(i, surname=v, surname_latin=v) for i, v in enumerate(values)]
    if state == "AM":
        for row in rows:
            row.update(
                given_name="Արամ", patronymic="", registration_region="AM-ER", national_id=""
            )
    found = {(p.row, p.column, p.reason) for p in problems(Kind.PERSONS_PRESENT, rows, state=state)}
    for i, value in enumerate(values):
        # An empty cell is a missing value: "required" rather than a script problem.
        local = check_local_name(value, state) if value else "a value is required"
        latin = check_latin_name(value) if value else "a value is required"
        assert ((i, "surname", local) in found) == (local is not None), value
        assert ((i, "surname_latin", latin) in found) == (latin is not None), value
