"""Job leases: a background job of a node runs in one of its processes at a time.

Several `migrex serve` processes may share one PostgreSQL database. The relays share the
outbox by design (each claims its own rows), but filing, witnessing, checkpoints and retention
are rounds over the whole node that two processes must not run at once. Each takes a
PostgreSQL session advisory lock, named after the job, on a connection of its own: the lock
lives as long as that connection, so a process that dies, or whose backend is terminated,
loses it, and another process's next try takes the job over. SQLite is one process: the
lease is always held there.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = structlog.get_logger(__name__)

# Which jobs this process holds, for the operator's metrics.
HELD: dict[str, bool] = {}
_HELD_LOCK = threading.Lock()


def lock_key(job: str) -> int:
    """A stable signed 64-bit advisory lock key for the job's name."""
    digest = hashlib.blake2b(f"migrex-job:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class JobLease:
    """Held, or not, by this process; `held()` is asked before each round."""

    def __init__(self, engine: Engine, job: str) -> None:
        self.job = job
        self._postgres = engine.dialect.name == "postgresql"
        self._engine: Engine | None = None
        if self._postgres:
            # A pool of its own: the lock's connection is never handed to a use case, and
            # never returned to a pool that would reset or share it.
            self._engine = create_engine(engine.url, poolclass=NullPool)
        self._connection: Connection | None = None
        _note(job, held=not self._postgres)

    def held(self) -> bool:
        if not self._postgres:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                # The backend went away, and the lock with it; another process may hold it.
                log.warning("job lease lost", job=self.job)
                self._drop()
        return self._acquire()

    def _acquire(self) -> bool:
        if self._engine is None:
            return False
        connection: Connection | None = None
        try:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.job)}
            ).scalar()
        except SQLAlchemyError as error:
            log.warning("job lease not taken", job=self.job, error=type(error).__name__)
            if connection is not None:
                _close(connection)
            return False
        if not got:
            _close(connection)
            return False
        self._connection = connection
        _note(self.job, held=True)
        log.info("job lease taken", job=self.job)
        return True

    def release(self) -> None:
        """Gives the job up (the process stops): closing the connection drops the lock."""
        self._drop()
        if self._engine is not None:
            self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            _close(self._connection)
            self._connection = None
        _note(self.job, held=not self._postgres)


def _close(connection: Any) -> None:
    with contextlib.suppress(SQLAlchemyError):
        connection.close()


def _note(job: str, *, held: bool) -> None:
    with _HELD_LOCK:
        HELD[job] = held
