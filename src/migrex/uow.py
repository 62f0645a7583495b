"""Unit of work: one transaction per use case, committed once at its end.

A use case `fn(uow, command)` does all its reads and writes through `uow.session` and calls
`uow.commit()` once. `UnitOfWork` says what a use case needs of its unit of work, and nothing
more; the node opens a `SqlUnitOfWork` on its database. Leaving its block without committing
rolls everything back, so an error half-way through a use case leaves the database exactly as
it was. Tests of rules that need no database pass a fake (`tests/fake_unit_of_work.py`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork(Protocol):
    """What a use case needs of a unit of work: a session to read and write through, one
    commit, and a block that ends it (rolling back whatever was not committed)."""

    @property
    def session(self) -> Session: ...

    def commit(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class SqlUnitOfWork:
    """The node's unit of work: a session of its database for the length of a `with` block."""

    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects without
        # expiring them, so results read inside the block stay readable after it.
        self.session.close()
        self._session = None

    def commit(self) -> None:
        self.session.commit()
