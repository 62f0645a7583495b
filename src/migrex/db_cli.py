"""`migrex db`: bring a node's database to the current schema, or check the migrations."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from migrex import migrate
from migrex.console import out
from migrex.context import node_from
from migrex.db import make_engine

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration to the node's database."""
    node = node_from(ctx)
    migrate.upgrade(node.engine)
    out.print(f"database at head: {node.engine.url.render_as_string(hide_password=True)}")


@app.command()
def check(
    url: str = typer.Option("", help="database to check; default: a new, empty SQLite file"),
) -> None:
    """Migrate a database to head and fail if the models still differ from it."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url or f"sqlite:///{Path(folder) / 'check.db'}")
        try:
            migrate.upgrade(engine)
            migrate.check(engine)
        finally:
            engine.dispose()
    out.print("migrations match the models")
