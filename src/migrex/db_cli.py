"""`migrex db`: create a new node's database, bring one to the current schema, or check the
migrations."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from migrex import migrate
from migrex.checks import (
    DatabaseMissing,
    DatabaseUnreachable,
    check_database,
    first_line,
    redacted,
)
from migrex.console import out
from migrex.context import node_from
from migrex.db import make_engine
from migrex.errors import Conflict

app = typer.Typer(no_args_is_help=True)


@app.command()
def create(ctx: typer.Context) -> None:
    """Create a new node's database (its data_dir and SQLite file, or the PostgreSQL
    database) and migrate it to the current schema; refused where one already exists."""
    node = node_from(ctx, database="new")
    settings = node.settings
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if path.exists():
            raise Conflict(f"the database {path} already exists: run `migrex db upgrade`")
    else:
        try:
            check_database(settings, "exists")
        except DatabaseMissing:
            _create_postgres_database(url)
        else:
            if _has_schema(node.engine):
                raise Conflict(
                    f"the database {redacted(url)} already has a schema: run `migrex db upgrade`"
                )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    applied = migrate.upgrade(node.engine)
    out.print(f"database created at head ({applied} migrations): {redacted(node.engine.url)}")


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration to the node's existing database."""
    node = node_from(ctx, database="exists")
    applied = migrate.upgrade(node.engine)
    done = f"{applied} migration{'s' * (applied != 1)} applied" if applied else "nothing to apply"
    out.print(f"database at head ({done}): {redacted(node.engine.url)}")


@app.command()
def check(
    url: str = typer.Option(
        "", help="an empty database to check on; default: a new SQLite file, deleted after"
    ),
) -> None:
    """For developers: check that the migrations build the tables the code declares, on a new,
    empty database (not the node's: the configuration is not read; `migrex db upgrade`
    brings a node's database up to date)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url or f"sqlite:///{Path(folder) / 'check.db'}")
        try:
            migrate.upgrade(engine)
            migrate.check(engine)
        finally:
            engine.dispose()
    out.print("migrations match the models")


def _create_postgres_database(url: URL) -> None:
    """CREATE DATABASE through the server's maintenance database, as the node's user."""
    driver = "postgresql+psycopg" if url.drivername == "postgresql" else url.drivername
    admin = create_engine(
        url.set(drivername=driver, database="postgres"),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    name = (url.database or "").replace('"', '""')
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        raise DatabaseUnreachable(
            f"cannot create the database {redacted(url)} ({first_line(error)}): "
            "ask its administrator to create it, then run `migrex db upgrade`"
        ) from None
    finally:
        admin.dispose()


def _has_schema(engine: Engine) -> bool:
    with engine.connect() as connection:
        return inspect(connection).has_table("alembic_version")
