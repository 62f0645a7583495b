"""SQLite's plan for a statement, to show a frequent query is served by its index."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.sql import Executable


def sqlite_plan(engine: Engine, statement: Executable) -> str:
    """The details of `EXPLAIN QUERY PLAN` for `statement` on `engine` (SQLite), as one line."""
    compiled = statement.compile(dialect=engine.dialect)  # type: ignore[attr-defined]
    names = compiled.positiontup or list(compiled.params)
    params = tuple(compiled.params[name] for name in names)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
        return " ".join(str(row[-1]) for row in rows)
