"""Database engine, metadata and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

import psycopg
from psycopg import sql
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Insert,
    MetaData,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from migrex.write_turns import TurnTakingConnection

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases.

    SQLite has no time zones and hands back naive values; this type refuses naive input and
    marks everything read back as UTC, so comparisons never mix naive and aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


# How long a writer waits for SQLite's write lock: for another process's transaction through
# SQLite's busy handler, for another thread's in the process for its turn (`write_turns`).
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a writer commits; foreign keys are off by default in SQLite;
    # the busy timeout makes a second process wait for a lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Erased keys and overwritten rows are zeroed on disk, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def begin_writing(session: Session) -> None:
    """Starts the session's transaction holding SQLite's one write lock (`BEGIN IMMEDIATE`),
    unless a transaction is already open; nothing on PostgreSQL, where writers lock rows.

    For a round that reads and then writes. On SQLite a transaction that read first cannot
    wait for the write lock when it comes to write: if another connection wrote meanwhile its
    snapshot is stale (`SQLITE_BUSY_SNAPSHOT`), and if another is writing it would deadlock
    (`SQLITE_BUSY`), so both fail at once, whatever the busy timeout, and the round is lost.
    Taking the lock first waits (the busy timeout) instead, and then the round cannot fail so.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def database_code(error: BaseException) -> dict[str, str]:
    """The database's own code for a failed statement (`SQLITE_BUSY`, PostgreSQL's SQLSTATE
    `40001`), for a log line: the code says what went wrong without the statement's text and
    parameters, which the error's message quotes and which may hold personal data (G8)."""
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlite_errorname", None) or getattr(original, "sqlstate", None)
    return {"database_code": str(code)} if code else {}


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder created and their pragmas set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The process's threads write in turn instead of polling SQLite's lock (`write_turns`).
        engine = create_engine(url, connect_args={"factory": TurnTakingConnection})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg 3 here, not the psycopg2 SQLAlchemy assumes.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # Prepared statements save parsing, and after five runs PostgreSQL may plan a statement once
    # for all the values it binds: less work for the server per statement. The one statement
    # whose plan for all values is a trap, the relay's claim, asks for its own (`outbox.claim`).
    engine = create_engine(url)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _binary_arrays)
    event.listen(engine, "checkin", _idle_from)
    event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect))
    return engine


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    # Lists go to the server as binary arrays. psycopg writes a text array in Python, quoting
    # each element: the relay's round of 150 envelopes (a few kB each) cost 9.6 ms in that
    # alone, a twentieth of what the node spends per message; binary takes 0.5 ms. The
    # statements cast what they bind (`::VARCHAR[]`), so the server reads either the same.
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


# A pooled PostgreSQL connection is pinged before it is used only when it has lain in the pool
# this long: a server restarted or a backend terminated meanwhile is then found by the ping,
# and the pool connects anew, instead of by the transaction that needed it. Pinging at every
# use (SQLAlchemy's `pool_pre_ping`) cost a round trip per transaction: at a steady 100
# messages a second, one statement in ten a node sent was that ping, while the pool hands each
# connection out again within a few tens of milliseconds. Shorter than the idle clerks' polls
# (half a second) and than a server's restart, so that a restart is found by the ping; a
# connection back in use sooner fails only if its backend ended in between, and then its
# transaction fails as any the server drops, and is done again (rounds, the partner's relay).
PING_AFTER_IDLE_SECONDS = 0.2


def _idle_from(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.pop("idle_since", None)  # none: connected just now
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as error:
        # The pool drops this connection and checks out another, or connects anew.
        raise sa_exc.DisconnectionError("the pooled connection did not answer") from error


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def in_list(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN :name`, the list bound when the statement runs.

    On PostgreSQL the list is one array parameter (`= ANY(:name)`): the statement's text is
    the same whatever the list's length, so the driver converts and prepares it once, where an
    expanded IN list is a new statement with a placeholder per value every time.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT `rows` (each with the same keys) in the session's transaction.

    Straight to the driver: on PostgreSQL through COPY, one stream instead of a statement per
    row, several times cheaper for the client and the server from two rows on (a single row
    costs a COPY half as much again as an INSERT: two round trips instead of one); on SQLite
    through the driver's `executemany`, without SQLAlchemy's handling of each row's parameters
    (the larger part of a bulk insert's CPU in the node's busiest rounds). Either way the
    values go through their column types' bind processing first, and a broken constraint
    raises SQLAlchemy's `IntegrityError`, as an INSERT through SQLAlchemy would.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = tuple(rows[0])
    if (
        len(rows) == 1
        or dialect.name not in ("postgresql", "sqlite")
        or _left_to_python(table, keys)
    ):
        connection.execute(_insert(table), list(rows))
        return
    driver = connection.connection.driver_connection
    assert driver is not None  # noqa: S101 - a checked-out connection has its driver's
    if dialect.name == "sqlite":
        _executemany(connection, driver, table, keys, rows)
    else:
        _copy(connection, cast(psycopg.Connection[Any], driver), table, keys, rows)


def _executemany(
    connection: Connection, driver: Any, table: Table, keys: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
) -> None:  # fmt: skip
    statement, names = _sqlite_insert(table, keys, connection.dialect)
    with _as_sqlalchemy_would(statement, sqlite3.Error, connection.dialect):
        values = _bound(table, names, rows, connection.dialect)
        cursor = driver.cursor()
        _tell_listeners(connection, cursor, statement, rows)
        try:
            cursor.executemany(statement, values)
        finally:
            cursor.close()


def _copy(
    connection: Connection, driver: psycopg.Connection[Any], table: Table,
    keys: tuple[str, ...], rows: Sequence[dict[str, Any]],
) -> None:  # fmt: skip
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*([table.schema] if table.schema else []), table.name),
        sql.SQL(", ").join(map(sql.Identifier, keys)),
    )
    statement = copy.as_string(driver)
    with _as_sqlalchemy_would(statement, psycopg.Error, connection.dialect):
        values = _bound(table, keys, rows, connection.dialect)
        with driver.cursor() as cursor, cursor.copy(copy) as stream:
            _tell_listeners(connection, cursor, statement, rows)
            for row_values in values:
                stream.write_row(row_values)


def _bound(
    table: Table, names: tuple[str, ...], rows: Sequence[dict[str, Any]], dialect: Dialect
) -> list[list[Any]]:
    """Each row's values in the order of `names`, as an INSERT would bind them (UtcDateTime
    refuses naive times): all of them before the first row goes in, as SQLAlchemy does, so
    that a value refused leaves nothing inserted and the transaction usable."""
    processors = _bind_processors(table, names, dialect)
    return [[row[name] if process is None else process(row[name])
             for name, process in zip(names, processors, strict=True)]
            for row in rows]  # fmt: skip


def _tell_listeners(
    connection: Connection, cursor: Any, statement: str, rows: Sequence[dict[str, Any]]
) -> None:
    """What SQLAlchemy tells `before_cursor_execute` listeners before a statement: they see
    these statements too (a listener that changes a statement is not supported here)."""
    connection.dispatch.before_cursor_execute(connection, cursor, statement, rows, None, True)


@contextmanager
def _as_sqlalchemy_would(
    statement: str, driver_error: type[Exception], dialect: Dialect
) -> Iterator[None]:
    """Raises what an INSERT through SQLAlchemy would have raised for the driver's errors."""
    try:
        yield
    except driver_error as error:
        raise sa_exc.DBAPIError.instance(
            statement, None, error, driver_error, dialect=dialect
        ) from error
    except sa_exc.SQLAlchemyError:
        raise
    except Exception as error:  # a value its column type refuses, a row without a column
        raise sa_exc.StatementError(str(error), statement, None, error) from error


@functools.cache
def _sqlite_insert(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...]]:
    """The INSERT of these columns in SQLite's SQL, and the order its parameters take."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    return str(compiled), tuple(compiled.positiontup or ())


@functools.cache
def _left_to_python(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether the rows leave out a column whose default SQLAlchemy makes (the server does
    not know it): such rows go through SQLAlchemy's INSERT, which adds it."""
    return any(c.default is not None for c in table.columns if c.key not in keys)


@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _bind_processors(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    # What an INSERT would do to each value first (UtcDateTime refuses naive times), with the
    # dialect's own type (SQLite's DATETIME writes its text; the generic type leaves that to
    # the driver, whose text compares otherwise).
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
