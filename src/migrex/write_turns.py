"""SQLite's one write lock, taken in turn by the threads of a process.

SQLite lets one connection write at a time. A connection that finds the lock taken calls the
busy handler, which sleeps in growing steps (1, 2, 5, 10, 15, 20, 25, 50, 100 ms) before it
looks again: when the door, the filing clerk and the relays of one node all write, a writer
sleeps on long after the lock came free, and the lock stands idle meanwhile. Here the threads
of a process queue for the database file in the process, and the next one goes the moment the
one before it commits or rolls back. SQLite's busy timeout still governs waits on other
processes (`migrex relay`, the CLI, a backup).

A connection takes its turn at its first write (an INSERT, UPDATE, DELETE or REPLACE, or a
`BEGIN IMMEDIATE`) and keeps it until its transaction ends; reads never queue, as WAL lets them
run beside the writer. The turn is per database file and per process, so every engine and pool
of the process on that file shares it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from typing import Any

# The first keyword of a statement that takes SQLite's write lock for its transaction. A plain
# BEGIN does not (audit verification opens one to hold a read snapshot).
_WRITING = re.compile(
    r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*"
    r"(?:insert|update|delete|replace|begin\s+(?:immediate|exclusive))\b",
    re.IGNORECASE | re.DOTALL,
)
# A CTE may lead into a write.
_WITH_WRITING = re.compile(r"\s*with\b.*\b(?:insert|update|delete|replace)\b", re.I | re.DOTALL)
_BUSY_TIMEOUT = re.compile(r"\s*pragma\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)


def starts_writing(statement: str) -> bool:
    """Whether `statement` takes SQLite's write lock (for the rest of its transaction)."""
    return bool(_WRITING.match(statement) or _WITH_WRITING.match(statement))


class WriteTurn:
    """The turn to write to one database file, held by one connection of the process at a
    time. A plain lock (not an RLock): a connection may end its transaction, and so give the
    turn back, on another thread than the one that took it (a pool's clean-up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.holder: int | None = None  # the thread that took the turn

    def take(self, patience: float) -> bool:
        """Waits for the turn, up to `patience` seconds; False when the thread that holds it
        is this one (through another connection, which it may still have to finish) or when
        it did not come free in time: SQLite's busy handler then decides, as without turns."""
        me = threading.get_ident()
        if self.holder == me:
            return False
        if not self._lock.acquire(timeout=patience):
            return False
        self.holder = me
        return True

    def give_back(self) -> None:
        self.holder = None
        self._lock.release()


_TURNS: dict[str, WriteTurn] = {}
_TURNS_LOCK = threading.Lock()


def turn_for(database: str) -> WriteTurn | None:
    """The process's turn for a database file; None for an in-memory database or a URI (each
    connection of those is its own database, or its file is not known here)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.realpath(database)
    with _TURNS_LOCK:
        return _TURNS.setdefault(path, WriteTurn())


class TurnTakingConnection(sqlite3.Connection):
    """A sqlite3 connection that waits for its process's turn before it writes, and gives the
    turn back when its transaction ends (`connect(..., factory=TurnTakingConnection)`)."""

    def __init__(self, database: str | bytes | os.PathLike[Any], *args: Any, **kwargs: Any):
        super().__init__(database, *args, **kwargs)
        self._turn = turn_for(os.fsdecode(database))
        self._holding = False
        # Waiting for the turn is waiting for the lock: as long as SQLite's busy timeout, which
        # `timeout` sets and a `PRAGMA busy_timeout` changes (`before_statement`).
        self._patience = float(kwargs.get("timeout", 5.0))

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _TurnTakingCursor)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._settle()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._settle()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._holding:
                self._give_back()

    def before_statement(self, statement: str) -> None:
        """Waits for the turn if `statement` writes and the connection has not got it."""
        patience = _BUSY_TIMEOUT.match(statement)
        if patience is not None:
            self._patience = int(patience.group(1)) / 1000
        if self._turn is not None and not self._holding and starts_writing(statement):
            self._holding = self._turn.take(self._patience)

    def after_statement(self) -> None:
        self._settle()

    def _settle(self) -> None:
        """Gives the turn back once no transaction is open (committed, rolled back, or a
        statement that ran on its own, or whose BEGIN failed)."""
        if self._holding and not self.in_transaction:
            self._give_back()

    def _give_back(self) -> None:
        self._holding = False
        if self._turn is not None:
            self._turn.give_back()


class _TurnTakingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        connection = self.connection
        assert isinstance(connection, TurnTakingConnection)  # noqa: S101 - made only by it
        connection.before_statement(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            connection.after_statement()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        connection = self.connection
        assert isinstance(connection, TurnTakingConnection)  # noqa: S101 - made only by it
        connection.before_statement(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            connection.after_statement()
