"""The fake unit of work keeps the promise use-case tests rely on: no statement reaches a
database, seeded rows are found by key, and commits are counted, not made."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import UnboundExecutionError

from fake_unit_of_work import FakeUnitOfWork
from migrex.registry.tables import ImportBatch


def test_any_statement_raises_and_a_row_not_seeded_is_looked_up_by_sql() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(UnboundExecutionError):
        uow.session.execute(select(ImportBatch.id))
    with pytest.raises(UnboundExecutionError):
        uow.session.get(ImportBatch, 1)


def test_seeded_rows_are_found_and_changes_to_them_tracked_not_committed() -> None:
    batch = ImportBatch(id=7, kind="citizens", source_name="c.csv", source_sha256="0" * 64,
                        rows=1, actor="test")  # fmt: skip
    uow = FakeUnitOfWork(batch)
    found = uow.session.get(ImportBatch, 7)
    assert found is batch
    found.rows = 2
    assert uow.changed == [batch]
    assert (uow.added, uow.commits) == ([], 0)
    with uow:
        uow.commit()
    assert uow.commits == 1
