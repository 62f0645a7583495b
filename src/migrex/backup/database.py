"""The database in a backup: a consistent snapshot out, every row back in.

SQLite is copied with `VACUUM INTO`, which writes one transaction's view of the database to
a new file. PostgreSQL is read table by table inside one REPEATABLE READ, read-only
transaction, so every table is seen at the same instant while the node keeps running, and
written as JSON lines (one file per table: its column names, then one array per row). That
format is ours rather than `pg_dump`'s: it restores into either database, and needs no
client tools of the server's version on the operator's machine.

A restore always loads rows into a database migrated to this code's head, in the order the
foreign keys need; a SQLite snapshot from an older schema is upgraded first, in a copy.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    Table,
    func,
    insert,
    select,
    text,
)

from migrex import migrate
from migrex.db import make_engine
from migrex.schema import metadata

SQLITE_FILE: Final = "database/node.db"
ROWS_DIR: Final = "database/rows"
_BATCH: Final = 1_000


@dataclass(frozen=True)
class Snapshot:
    """What the manifest says of the database: how it was taken, at which schema revision,
    the audit log's head in the same snapshot, and how many rows each table held."""

    dialect: str
    format: str
    revision: str
    audit_size: int
    audit_root: str
    rows: dict[str, int]


def _tables() -> Sequence[Table]:
    return metadata.sorted_tables


def _audit_head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(text("SELECT size, root_hash FROM audit_head WHERE id = 1")).first()
    if row is None:
        return 0, ""
    return int(row[0]), bytes(row[1]).hex()


def _revision(connection: Connection) -> str:
    return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _counts(connection: Connection) -> dict[str, int]:
    return {
        t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
        for t in _tables()
    }


def snapshot(engine: Engine, folder: Path) -> Snapshot:
    """Write a consistent copy of the database under `folder` (its files at `SQLITE_FILE`
    or under `ROWS_DIR`) and describe it."""
    if engine.dialect.name == "sqlite":
        target = folder / SQLITE_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM INTO ?", (str(target),))
        copy = make_engine(f"sqlite:///{target.as_posix()}")
        try:
            with copy.connect() as connection:
                return Snapshot("sqlite", "sqlite-file", _revision(connection),
                                *_audit_head(connection), _counts(connection))  # fmt: skip
        finally:
            copy.dispose()
    rows_dir = folder / ROWS_DIR
    rows_dir.mkdir(parents=True, exist_ok=True)
    reading = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with reading.connect() as connection, connection.begin():
        counts = {table.name: _dump_table(connection, table, rows_dir) for table in _tables()}
        return Snapshot(engine.dialect.name, "rows-jsonl", _revision(connection),
                        *_audit_head(connection), counts)  # fmt: skip


# ---------------------------------------------------------------- rows as JSON


def _encode(table: Table) -> list[Any]:
    """A function per column turning its Python value into JSON."""
    coders: list[Any] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, LargeBinary):
            coders.append(lambda v: None if v is None else base64.b64encode(bytes(v)).decode())
        elif isinstance(kind, DateTime | Date) or isinstance(getattr(kind, "impl", None), DateTime):
            coders.append(lambda v: None if v is None else v.isoformat())
        else:
            coders.append(lambda v: v)
    return coders


def _decode(table: Table) -> list[Any]:
    decoders: list[Any] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, LargeBinary):
            decoders.append(lambda v: None if v is None else base64.b64decode(v))
        elif isinstance(kind, Date) and not isinstance(kind, DateTime):
            decoders.append(lambda v: None if v is None else date.fromisoformat(v))
        elif isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
            decoders.append(lambda v: None if v is None else datetime.fromisoformat(v))
        else:
            decoders.append(lambda v: v)
    return decoders


def _dump_table(connection: Connection, table: Table, folder: Path) -> int:
    coders = _encode(table)
    count = 0
    with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
        out.write(json.dumps([c.name for c in table.columns]) + "\n")
        result = connection.execution_options(yield_per=_BATCH).execute(select(table))
        for row in result:
            values = [code(value) for code, value in zip(coders, row, strict=True)]
            out.write(json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def _rows_from_files(table: Table, folder: Path) -> Iterator[dict[str, Any]]:
    path = folder / f"{table.name}.jsonl"
    if not path.exists():
        return
    decoders = _decode(table)
    with path.open(encoding="utf-8") as source:
        names = json.loads(source.readline())
        if names != [c.name for c in table.columns]:
            raise ValueError(f"{table.name}: the backup's columns differ from this schema's")
        for line in source:
            values = json.loads(line)
            yield {n: d(v) for n, d, v in zip(names, decoders, values, strict=True)}


def _rows_from_sqlite(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    for row in connection.execution_options(yield_per=_BATCH).execute(select(table)):
        yield dict(row._mapping)


# ---------------------------------------------------------------- loading


def rows_in_use(engine: Engine) -> dict[str, int]:
    """The node's tables holding rows in the database at `engine` (empty: a fresh database,
    migrated or not)."""
    with engine.connect() as connection:
        present = set(engine.dialect.get_table_names(connection))
        return {
            t.name: n
            for t in _tables()
            if t.name in present
            and (n := int(connection.execute(select(func.count()).select_from(t)).scalar_one()))
        }


def empty(connection: Connection) -> None:
    """Delete every row of the node's tables (restore --force), in `connection`'s
    transaction."""
    present = set(connection.dialect.get_table_names(connection))
    for table in reversed(_tables()):
        if table.name in present:
            connection.execute(table.delete())


def load(folder: Path, snapshot_format: str, connection: Connection) -> dict[str, int]:
    """Insert the backup's rows through `connection` (a transaction on a database at this
    code's head, its tables empty); returns the rows loaded per table."""
    loaded: dict[str, int] = {}
    if snapshot_format == "sqlite-file":
        copy = make_engine(f"sqlite:///{(folder / SQLITE_FILE).as_posix()}")
        try:
            migrate.upgrade(copy)  # an older schema is brought to this code's first
            with copy.connect() as source:
                for table in _tables():
                    loaded[table.name] = _insert(connection, table,
                                                 _rows_from_sqlite(source, table))  # fmt: skip
        finally:
            copy.dispose()
    else:
        for table in _tables():
            loaded[table.name] = _insert(connection, table,
                                         _rows_from_files(table, folder / ROWS_DIR))  # fmt: skip
    if connection.dialect.name == "postgresql":
        _advance_sequences(connection)
    return loaded


def _insert(connection: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            connection.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def _advance_sequences(connection: Connection) -> None:
    """Rows came with their ids: each serial column's sequence moves past the largest."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and len(table.primary_key.columns) == 1
                and column.type.python_type is int
            ):  # fmt: skip
                sequence = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    connection.execute(
                        text(f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") '  # noqa: S608
                             f'FROM "{table.name}"), 0) + 1, false)'),
                        {"s": sequence},
                    )  # fmt: skip
