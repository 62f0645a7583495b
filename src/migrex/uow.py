"""Unit of work: one transaction per use case, committed once at its end.

A use case opens a `UnitOfWork`, does all its reads and writes through `uow.session`, and
calls `uow.commit()` once. Leaving the block without committing rolls everything back, so an
error half-way through a use case leaves the database exactly as it was.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
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
