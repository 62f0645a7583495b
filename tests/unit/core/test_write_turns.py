"""The threads of a process write to a SQLite file in turn: a writer waits in the process for
the one before it to end its transaction, not in SQLite's sleeping busy handler; reads never
wait; the turn comes back however the transaction ends."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from migrex.db import begin_writing, database_code, make_engine
from migrex.write_turns import TurnTakingConnection, starts_writing, turn_for


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (name TEXT)")
    yield engine
    engine.dispose()


def _impatient(engine: Engine) -> Session:
    """A session whose SQLite busy handler gives up at once, while its turn keeps the node's
    patience: if it writes after another thread's write, it can only have waited in turn."""
    session = Session(engine)
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, TurnTakingConnection)
    sqlite3.Cursor(driver).execute("PRAGMA busy_timeout=0")  # a plain cursor: SQLite's only
    return session


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM t")) or 0)


def test_a_writer_of_another_thread_waits_for_its_turn_not_for_sqlite(engine: Engine) -> None:
    holding, failures = threading.Event(), []

    def other_thread() -> None:
        holding.wait()
        with _impatient(engine) as other:
            try:
                other.execute(text("INSERT INTO t VALUES ('b')"))
                other.commit()
            except OperationalError as error:
                failures.append(database_code(error))

    thread = threading.Thread(target=other_thread)
    thread.start()
    with Session(engine) as first:
        first.execute(text("INSERT INTO t VALUES ('a')"))
        holding.set()
        time.sleep(0.2)  # the other thread's INSERT is issued meanwhile
        assert _count(engine) == 0  # reads do not wait for the turn
        first.commit()
    thread.join(timeout=10)
    assert failures == []
    assert _count(engine) == 2


def test_begin_writing_waits_for_its_turn(engine: Engine) -> None:
    order: list[str] = []
    holding = threading.Event()

    def other_thread() -> None:
        holding.wait()
        with _impatient(engine) as other:
            begin_writing(other)
            order.append("other began")
            other.execute(text("INSERT INTO t VALUES ('b')"))
            other.commit()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with Session(engine) as first:
        begin_writing(first)
        holding.set()
        time.sleep(0.1)
        order.append("first commits")
        first.commit()
    thread.join(timeout=10)
    assert order == ["first commits", "other began"]


def test_a_busy_timeout_set_on_a_connection_is_its_patience_for_the_turn(engine: Engine) -> None:
    holding, waited, failures = threading.Event(), [], []

    def other_thread() -> None:
        holding.wait()
        with Session(engine) as other:
            other.execute(text("PRAGMA busy_timeout=100"))
            began = time.monotonic()
            try:
                other.execute(text("INSERT INTO t VALUES ('b')"))
            except OperationalError as error:
                failures.append(database_code(error))
            waited.append(time.monotonic() - began)

    thread = threading.Thread(target=other_thread)
    thread.start()
    with Session(engine) as first:
        first.execute(text("INSERT INTO t VALUES ('a')"))
        holding.set()
        thread.join(timeout=30)
        first.commit()
    assert failures == [{"database_code": "SQLITE_BUSY"}]
    assert 0.1 <= waited[0] < 5  # its own 100 ms for the turn and for SQLite, not the node's 10 s


@pytest.mark.parametrize("end", ["commit", "rollback", "close", "error then rollback"])
def test_the_turn_comes_back_however_the_transaction_ends(engine: Engine, end: str) -> None:
    session = Session(engine)
    session.execute(text("INSERT INTO t VALUES ('a')"))
    if end == "error then rollback":
        with pytest.raises(OperationalError):
            session.execute(text("INSERT INTO missing VALUES (1)"))
    getattr(session, end.rsplit(maxsplit=1)[-1])()
    _writes_from_another_thread(engine)


def test_a_statement_without_a_transaction_gives_the_turn_back(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("INSERT INTO t VALUES ('a')"))
        _writes_from_another_thread(engine)


def test_a_second_connection_of_the_holding_thread_meets_sqlites_lock(engine: Engine) -> None:
    """It does not wait for a turn its own thread holds (that would never come): SQLite's busy
    handler answers it, as it would without turns."""
    with Session(engine) as first, _impatient(engine) as second:
        first.execute(text("INSERT INTO t VALUES ('a')"))
        with pytest.raises(OperationalError) as failed:
            second.execute(text("INSERT INTO t VALUES ('b')"))
        assert database_code(failed.value) == {"database_code": "SQLITE_BUSY"}
        second.rollback()
        first.commit()
    _writes_from_another_thread(engine)


def test_connections_on_one_file_share_its_turn(tmp_path: Path) -> None:
    same_file = tmp_path / ".." / tmp_path.name / "a.db"
    assert turn_for(str(tmp_path / "a.db")) is turn_for(str(same_file))
    assert turn_for(str(tmp_path / "a.db")) is not turn_for(str(tmp_path / "b.db"))
    assert turn_for(":memory:") is None


def test_engines_connect_through_turns(engine: Engine) -> None:
    with engine.connect() as connection:
        assert isinstance(connection.connection.dbapi_connection, TurnTakingConnection)


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  update t SET name = 'x'", True),
        ("DELETE FROM t", True),
        ("REPLACE INTO t VALUES (1)", True),
        ("/* why */ -- and\n INSERT INTO t VALUES (1)", True),
        ("BEGIN IMMEDIATE", True),
        ("begin exclusive", True),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", True),
        ("BEGIN", False),  # audit verification's read snapshot
        ("SELECT name FROM t WHERE name = 'insert'", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("PRAGMA busy_timeout=10", False),
        ("PRAGMA journal_mode=WAL", False),
        ("SAVEPOINT sa_savepoint_1", False),
    ],
)
def test_which_statements_take_the_write_lock(statement: str, writes: bool) -> None:
    assert starts_writing(statement) is writes


def _writes_from_another_thread(engine: Engine) -> None:
    """Fails at once if the turn or SQLite's lock was kept."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with _impatient(engine) as other:
                other.execute(text("INSERT INTO t VALUES ('z')"))
                other.commit()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=2)
    assert not thread.is_alive(), "the turn was not given back"
    assert errors == []
