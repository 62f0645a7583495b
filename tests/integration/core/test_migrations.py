"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine

from migrex import migrate
from migrex.schema import metadata


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    migrate.check(engine)  # raises when autogenerate finds a difference
    tables = set(sa.inspect(engine).get_table_names())
    assert {table.name for table in metadata.sorted_tables} <= tables


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.check(engine)
