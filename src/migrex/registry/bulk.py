"""Fast loading of validated Arrow tables inside the caller's transaction.

Registries run to millions of rows, and building one Python dict per row for the ORM costs more
than the checks. PostgreSQL gets the rows through COPY as CSV written by Arrow; SQLite gets one
executemany of plain tuples. Both write through the session's own connection, so the rows
commit or roll back with the rest of the unit of work. A refresh reads the stored rows back the
same way (COPY out, or one SELECT) and updates or deletes through a temporary table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Column, Date, MetaData, Table
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


def read_text_table(session: Session, table: Table, columns: Sequence[str]) -> pa.Table:
    """Every stored row of `table`, `columns` as text cells the way a registry file is read:
    dates as YYYY-MM-DD, missing values as nulls. Read in the caller's transaction, so what is
    compared is what the same transaction then changes."""
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        return _copy_out(driver, table, columns)
    selected = ", ".join(f'CAST("{name}" AS TEXT)' for name in columns)
    cursor = driver.cursor()
    # In chunks: a million rows of two dozen cells as Python strings would take gigabytes.
    chunks = []
    try:
        cursor.execute(f'SELECT {selected} FROM "{table.name}"')  # noqa: S608 - names come from our own metadata
        while rows := cursor.fetchmany(CHUNK_ROWS):
            cells = zip(*rows, strict=True)
            chunks.append(pa.table([pa.array(c, pa.string()) for c in cells], names=list(columns)))
    finally:
        cursor.close()
    if not chunks:
        return pa.table([pa.array([], pa.string()) for _ in columns], names=list(columns))
    return pa.concat_tables(chunks).combine_chunks()


def _copy_out(driver: Any, table: Table, columns: Sequence[str]) -> pa.Table:
    def text(name: str) -> str:
        # to_char does not depend on the session's DateStyle.
        if isinstance(table.c[name].type, Date):
            return f"to_char(\"{name}\", 'YYYY-MM-DD')"
        return f'CAST("{name}" AS TEXT)'

    selected = ", ".join(map(text, columns))
    query = f'COPY (SELECT {selected} FROM "{table.name}") TO STDOUT WITH (FORMAT csv)'  # noqa: S608 - names come from our own metadata
    buffer = bytearray()
    with driver.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            buffer += block
    if not buffer:
        return pa.table([pa.array([], pa.string()) for _ in columns], names=list(columns))
    # py_buffer reads the bytearray in place: a million rows are hundreds of megabytes.
    return pacsv.read_csv(
        pa.py_buffer(buffer),
        read_options=pacsv.ReadOptions(column_names=list(columns)),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
            # COPY writes a missing value unquoted and an empty text as "": keep them apart.
            quoted_strings_can_be_null=False,
        ),
    )


def update_rows(session: Session, table: Table, key: str, rows: pa.Table) -> None:
    """Sets the columns of `rows` on the stored rows of `table` with the same `key`.

    The new values go to a temporary table by the same fast path as an insert, then one
    UPDATE ... FROM writes them: a million changed records are not a million statements.
    """
    if rows.num_rows == 0:
        return
    connection = session.connection()
    driver = connection.connection.driver_connection
    staging = _staging_table(connection.dialect.name, driver, table, rows.column_names)
    bulk_insert(session, staging, rows)
    assignments = ", ".join(f'"{n}" = s."{n}"' for n in rows.column_names if n != key)
    _run(
        driver,
        f'UPDATE "{table.name}" SET {assignments} FROM "{staging.name}" AS s '  # noqa: S608 - names come from our own metadata
        f'WHERE "{table.name}"."{key}" = s."{key}"',
    )
    _run(driver, f'DROP TABLE "{staging.name}"')


def delete_rows(session: Session, table: Table, key: str, keys: pa.Array) -> None:
    """Deletes the stored rows of `table` whose `key` is one of `keys`."""
    if len(keys) == 0:
        return
    connection = session.connection()
    driver = connection.connection.driver_connection
    staging = _staging_table(connection.dialect.name, driver, table, [key])
    bulk_insert(session, staging, pa.table({key: keys}))
    _run(
        driver,
        f'DELETE FROM "{table.name}" WHERE "{key}" IN (SELECT "{key}" FROM "{staging.name}")',  # noqa: S608 - names come from our own metadata
    )
    _run(driver, f'DROP TABLE "{staging.name}"')


def _staging_table(dialect: str, driver: Any, table: Table, columns: Sequence[str]) -> Table:
    """A temporary table with `columns` of `table`, dropped by the caller once used.

    PostgreSQL copies the real column types, so COPY parses dates as it does into the table.
    SQLite gets TEXT columns: a copied NUMERIC affinity would turn an identifier such as
    "0012345" into the number 12345 before the UPDATE copies it back as "12345".
    """
    name = f"staging_{table.name}"
    names = ", ".join(f'"{n}"' for n in columns)
    if dialect == "postgresql":
        copied = f'SELECT {names} FROM "{table.name}" WITH NO DATA'  # noqa: S608 - names come from our own metadata
        _run(driver, f'CREATE TEMPORARY TABLE "{name}" AS {copied}')
    else:
        typed = ", ".join(f'"{n}" TEXT' for n in columns)
        _run(driver, f'CREATE TEMPORARY TABLE "{name}" ({typed})')
    return Table(name, MetaData(), *(Column(n) for n in columns))


def _run(driver: Any, statement: str) -> None:
    cursor = driver.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()
