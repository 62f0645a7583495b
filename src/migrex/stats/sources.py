"""Where DuckDB reads the registries from: Parquet files in place, or the node's database.

DuckDB's SQLite and PostgreSQL scanners are extensions downloaded at first use, which a node on
a closed government network cannot do. So the node's database is read through SQLAlchemy,
only the columns statistics need (never a name or a document number), into Arrow tables that
DuckDB scans without copying.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.errors import NotFound
from migrex.registry.tables import EmploymentRow, PersonPresentRow, ViolationRow

NEEDS = {
    "workers": ("employment", "persons_present"),
    "persons-present": ("persons_present",),
    "violations": ("violations",),
}

# Only the columns the populations read: statistics never pull identifying fields.
_COLUMNS = {
    "persons_present": (
        PersonPresentRow,
        (
            "record_id",
            "sex",
            "birth_date",
            "citizenship",
            "entry_date",
            "departure_date",
            "purpose_of_stay",
            "registration_region",
            "permit_type",
        ),
    ),
    "employment": (
        EmploymentRow,
        ("record_id", "person_record_id", "occupation_isco08", "region", "start_date", "end_date"),
    ),
    "violations": (
        ViolationRow,
        ("record_id", "citizenship", "violation_type", "detected_on", "region"),
    ),
}


def from_parquet(directory: Path, population: str) -> duckdb.DuckDBPyConnection:
    """A connection that sees `directory`'s registry files (as `migrex synth` writes them)."""
    connection = duckdb.connect()
    for name in NEEDS[population]:
        path = directory / f"{name}.parquet"
        if not path.is_file():
            raise NotFound(f"{path} does not exist: the {population} statistics need it")
        connection.register(name, connection.read_parquet(str(path)))
    return connection


def from_database(session: Session, population: str) -> duckdb.DuckDBPyConnection:
    """A connection that sees the node's registries as Arrow tables (statistics columns only)."""
    connection = duckdb.connect()
    for name in NEEDS[population]:
        row_type, columns = _COLUMNS[name]
        statement = select(*(getattr(row_type, column) for column in columns))
        result = session.execute(statement)
        data = list(zip(*result.all(), strict=False)) or [() for _ in columns]
        schema = pa.schema(
            [(c, pa.date32() if c.endswith(("date", "_on")) else pa.string()) for c in columns]
        )
        table = pa.Table.from_arrays(
            [pa.array(values, type=field.type) for values, field in zip(data, schema, strict=True)],
            schema=schema,
        )
        connection.register(name, table)
    return connection
