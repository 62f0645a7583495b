"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for integration tests.

PostgreSQL tests run against the server at MIGREX_TEST_POSTGRES (default: the local server).
Outside CI they are skipped when the server is unreachable; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# The test processes of a parallel run (`pytest -n`) inherit COLUMNS=80, and Rich fixes the
# width of a console created while COLUMNS is set: the CLI's shared consoles would then
# print 80 columns whatever width a test's runner asks for. Dropped before migrex is imported.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import migrated
from migrex import migrate
from migrex.db import make_engine
from migrex.schema import metadata
from nodes import Pair, World, make_pair, world_nodes

POSTGRES_ADMIN_URL = os.environ.get(
    "MIGREX_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_or_skip() -> str:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        message = f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped after."""
    admin_url = _postgres_or_skip()
    name = f"migrex_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_all_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'node.db'}"
        engine = make_engine(url)
        migrated.upgrade(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = make_engine(url)
    _empty_all_tables(engine)
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pair(tmp_path: Path, database_url: str) -> Iterator[Pair]:
    """A KZ and an AM node's trust and databases (AM on the parametrised database)."""
    yield from make_pair(tmp_path, database_url)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """KZ, AM and KG nodes in-process (KZ serves kz-am-2024 and kz-kg-example), on SQLite;
    `world.relay(state)` delivers what `state` has queued."""
    with world_nodes(tmp_path / "world") as nodes:
        yield nodes


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[World]:
    """The same three nodes, each running as `migrex serve` with mutual TLS on loopback."""
    with world_nodes(tmp_path / "world", start=True) as nodes:
        yield nodes
