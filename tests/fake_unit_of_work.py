"""A unit of work for use cases whose rules need no database (`migrex.uow.UnitOfWork`).

Its session is a real SQLAlchemy session bound to no database: the rows a test `seed`s are in
its identity map, so `session.get` finds them; what the use case adds stays in `added`, what
it changes in `changed`, the audit entries it records in `recorded`; and any statement it
would send to a database raises `UnboundExecutionError`, so a use case tested here is shown
to decide without one. `commit` only counts: a use case commits once, or (refused) never.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Self

from sqlalchemy.orm import Session, make_transient_to_detached

from migrex.audit.leaves import AuditLeaf
from migrex.audit.pending import queued


class _Unbound(Session):
    """A session bound to no database. A use case's lock on a row (`casework.steps.lock_case`)
    is granted at once, as nothing runs beside it here: the row is the one seeded."""

    def get(self, entity: Any, ident: Any, **options: Any) -> Any:
        options.pop("with_for_update", None)
        options.pop("populate_existing", None)
        return super().get(entity, ident, **options)

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        # Asked only for its dialect (`db.begin_writing`); statements still raise.
        return SimpleNamespace(dialect=SimpleNamespace(name="none"))


class FakeUnitOfWork:
    def __init__(self, *rows: Any) -> None:
        self._session = _Unbound()  # no bind: nothing reaches a database
        # The session's identity map holds rows weakly; "stored" rows must outlive the call.
        self._stored: list[Any] = []
        self.commits = 0
        self.seed(*rows)

    def seed(self, *rows: Any) -> None:
        """Makes `rows` look stored: found by primary key, changes to them tracked."""
        for row in rows:
            make_transient_to_detached(row)
            self._session.add(row)
            self._stored.append(row)

    @property
    def session(self) -> Session:
        return self._session

    def commit(self) -> None:
        self.commits += 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        """Nothing to roll back: what was not committed stays in `added` and `changed`."""

    @property
    def added(self) -> list[Any]:
        return list(self._session.new)

    @property
    def changed(self) -> list[Any]:
        return list(self._session.dirty)

    @property
    def recorded(self) -> list[AuditLeaf]:
        """The audit entries the use case queued (appended to the log at a real commit)."""
        return queued(self._session)
