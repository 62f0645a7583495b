"""Fast loading of validated Arrow tables inside the caller's transaction.

Registries run to millions of rows, and building one Python dict per row for the ORM costs more
than the checks. PostgreSQL gets the rows through COPY as CSV written by Arrow; SQLite gets one
executemany of plain tuples. Both write through the session's own connection, so the rows
commit or roll back with the rest of the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Table
from sqlalchemy.orm import Session

CHUNK_ROWS = 50_000


def bulk_insert(
    session: Session,
    table: Table,
    rows: pa.Table,
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Appends `rows` (text columns named like the table's columns) to `table`."""
    connection = session.connection()
    dialect = connection.dialect.name
    for offset in range(0, rows.num_rows, CHUNK_ROWS):
        chunk = rows.slice(offset, CHUNK_ROWS)
        if dialect == "postgresql":
            _copy(connection.connection.driver_connection, table, chunk)
        else:
            _executemany(connection.connection.driver_connection, table, chunk)
        if on_chunk:
            on_chunk(offset + chunk.num_rows)


def _copy(driver: Any, table: Table, chunk: pa.Table) -> None:
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(chunk, buffer, pacsv.WriteOptions(include_header=False))
    columns = ", ".join(f'"{name}"' for name in chunk.column_names)
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy,
    ):
        copy.write(buffer.getvalue().to_pybytes())


def _executemany(driver: Any, table: Table, chunk: pa.Table) -> None:
    # SQLAlchemy stores SQLite dates as ISO text, which is what the validated cells already are.
    columns = ", ".join(f'"{name}"' for name in chunk.column_names)
    marks = ", ".join("?" for _ in chunk.column_names)
    values = zip(*(column.to_pylist() for column in chunk.columns), strict=True)
    cursor = driver.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values)  # noqa: S608 - names come from our own metadata
    finally:
        cursor.close()
