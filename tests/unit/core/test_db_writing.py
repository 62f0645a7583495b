"""SQLite's one write lock: a round that reads, then writes, takes it first (`begin_writing`);
otherwise a write committed by another connection in between fails the round at once, whatever
the busy timeout. The failure's log line carries the database's code, never its message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from migrex.db import begin_writing, database_code, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (name TEXT)")
        connection.exec_driver_sql("INSERT INTO t VALUES ('first')")
    yield engine
    engine.dispose()


def _other_writer(engine: Engine, *, patience_ms: int) -> Session:
    other = Session(engine)
    other.execute(text(f"PRAGMA busy_timeout={patience_ms}"))
    return other


def test_a_round_that_read_first_fails_when_another_wrote_meanwhile(engine: Engine) -> None:
    with Session(engine) as round_, _other_writer(engine, patience_ms=100) as other:
        round_.begin_nested()  # filing's savepoint: the transaction starts reading
        assert round_.scalar(text("SELECT count(*) FROM t")) == 1
        other.execute(text("INSERT INTO t VALUES ('secret name')"))
        other.commit()
        with pytest.raises(OperationalError) as failed:
            round_.execute(text("INSERT INTO t VALUES ('x')"))
        assert database_code(failed.value) == {"database_code": "SQLITE_BUSY_SNAPSHOT"}
        assert "secret" not in str(database_code(failed.value))


def test_a_round_that_took_the_lock_first_cannot_fail_so(engine: Engine) -> None:
    with Session(engine) as round_, _other_writer(engine, patience_ms=100) as other:
        begin_writing(round_)
        round_.begin_nested()
        assert round_.scalar(text("SELECT count(*) FROM t")) == 1
        with pytest.raises(OperationalError) as waited:  # the other writer waits, then gives up
            other.execute(text("INSERT INTO t VALUES ('y')"))
        assert database_code(waited.value) == {"database_code": "SQLITE_BUSY"}
        other.rollback()
        round_.execute(text("INSERT INTO t VALUES ('x')"))
        round_.commit()
        other.execute(text("INSERT INTO t VALUES ('y')"))  # and writes once the round is done
        other.commit()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM t")) == 3


def test_begin_writing_inside_an_open_transaction_changes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES ('x')"))
        begin_writing(session)  # already writing: no second BEGIN
        session.commit()


def test_an_error_without_a_database_code_gives_none() -> None:
    assert database_code(ValueError("no database here")) == {}
