"""Migrated databases for tests, without running every migration for every new SQLite file.

Alembic takes most of a second to bring a new SQLite file to head, and thousands of tests
need one. The first new file of a test process is migrated for real and kept as a template;
every later new file is a copy of it. A database that already holds anything, PostgreSQL, and
any revision other than head are migrated for real. tests/integration/core/test_migrations.py
runs the migrations themselves.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import Engine

from migrex import migrate
from migrex.db import make_engine

_template: Path | None = None


def _sqlite_template() -> Path:
    global _template  # noqa: PLW0603 - one template per test process, made on first use
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="migrex-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "head.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        engine.dispose()  # the last connection to close folds the WAL into the file
        _template = path
    return _template


def _fresh_sqlite_file(engine: Engine) -> Path | None:
    """The file behind `engine` if it is SQLite and holds no table yet, else None."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    path = Path(str(engine.url.database))
    if not path.exists():
        return path
    with sqlite3.connect(path) as connection:
        (tables,) = connection.execute("select count(*) from sqlite_master").fetchone()
    connection.close()
    return path if tables == 0 else None


def upgrade(engine: Engine) -> None:
    """Brings `engine`'s database to head, as migrate.upgrade does."""
    path = _fresh_sqlite_file(engine)
    if path is None:
        migrate.upgrade(engine)
        return
    engine.dispose()  # no pooled connection may keep the empty file open under the copy
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(_sqlite_template(), path)
