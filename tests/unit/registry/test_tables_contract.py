"""The registry tables hold exactly what the file contract (`registry.columns`) admits.

The contract is the one place a register's columns are defined, and the tables are built
from it (`registry.tables.register_table`); the classes only name the columns again as typed
`Mapped` attributes, because the queries use them. These tests keep all three from drifting:
same columns in the same order, a column nullable exactly when the contract makes it
optional, dates as dates, every text column wide enough for the longest value its rule lets
through the import checks, and each class's attributes the contract's columns with their
Python types. (The migration that created the tables is history and stays as written;
`tests/integration/core/test_migrations.py` checks the tables against the migrations.)"""

from __future__ import annotations

import inspect
from datetime import date

import pytest
from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped

from migrex.db import Base
from migrex.registry.columns import COLUMNS, Column, Kind, Rule, Type
from migrex.registry.tables import ROWS

# The longest value each rule admits (see `registry.checks`).
# (A national id: KZ IIN or AM public-service number; a document: 9 characters at most in the
# ICAO zone; a region: "KZ-75".)
LONGEST: dict[Rule, int] = {
    Rule.RECORD_ID: 40, Rule.LOCAL_NAME: 200, Rule.LATIN_NAME: 200, Rule.SEX: 1,
    Rule.COUNTRY: 3, Rule.DOCUMENT_TYPE: 1, Rule.DOCUMENT_NUMBER: 9, Rule.NATIONAL_ID: 12,
    Rule.ORGANISATION_ID: 12, Rule.REGION: 6, Rule.ISCO08: 4, Rule.TEXT: 200,
}  # fmt: skip
TABLE_ONLY = {"id", "batch_id"}


def longest(column: Column) -> int:
    if column.rule is Rule.CODE:
        return max(len(code) for code in column.codes)
    return LONGEST[column.rule]


@pytest.mark.parametrize("kind", list(Kind))
def test_each_register_table_is_its_file_contract(kind: Kind) -> None:
    table = ROWS[kind].__table__
    stored = [c for c in table.columns if c.name not in TABLE_ONLY]
    assert [c.name for c in stored] == [c.name for c in COLUMNS[kind]]
    for spec, column in zip(COLUMNS[kind], stored, strict=True):
        assert column.nullable is not spec.required, spec.name
        if spec.type is Type.DATE:
            assert isinstance(column.type, Date), spec.name
        else:
            assert isinstance(column.type, String), spec.name
            assert column.type.length is not None and column.type.length >= longest(spec), (
                spec.name,
                column.type.length,
                longest(spec),
            )


@pytest.mark.parametrize("kind", list(Kind))
def test_each_register_class_names_its_columns_with_their_python_types(kind: Kind) -> None:
    row = ROWS[kind]
    annotations: dict[str, object] = {}
    for klass in reversed(row.__mro__):  # the class's own and its mixins', not Base's
        if klass is row or not issubclass(Base, klass):
            annotations.update(inspect.get_annotations(klass, eval_str=True))
    expected: dict[str, object] = {"id": Mapped[int], "batch_id": Mapped[int]}
    for spec in COLUMNS[kind]:
        python_type = date if spec.type is Type.DATE else str
        expected[spec.name] = Mapped[python_type] if spec.required else Mapped[python_type | None]
    assert annotations == expected
