"""A pooled PostgreSQL connection whose backend ended while it lay idle is found before it is
used (the transaction that needed it goes through on a new one), and a connection back in use
at once is not pinged (the round trip a transaction no longer pays)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, exc

from migrex import db
from migrex.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_engine(postgres_database: str) -> Iterator[Engine]:
    engine = make_engine(postgres_database)
    yield engine
    engine.dispose()


def _backend_of_the_pooled_connection(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT pg_backend_pid()")))


def _terminate(engine: Engine, pid: int) -> None:
    admin = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    pid = _backend_of_the_pooled_connection(postgres_engine)
    _terminate(postgres_engine, pid)
    assert _backend_of_the_pooled_connection(postgres_engine) != pid  # no error: replaced


def test_a_connection_back_in_use_at_once_is_not_pinged(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pid = _backend_of_the_pooled_connection(postgres_engine)
    _terminate(postgres_engine, pid)
    with pytest.raises(exc.OperationalError):  # found by the transaction itself
        _backend_of_the_pooled_connection(postgres_engine)
    # The failure invalidated the pool: the next transaction connects anew.
    assert _backend_of_the_pooled_connection(postgres_engine) != pid
