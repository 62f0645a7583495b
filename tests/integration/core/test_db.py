"""The bulk helpers of migrex.db behave as plain INSERTs and IN lists on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    cast,
    exc,
    func,
    select,
    text,
)

from migrex.db import UtcDateTime, bulk_insert, in_list, make_engine, make_session_factory
from migrex.exchange.tables import receipts_table

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def receipt(message_id: str, stored_at: datetime = NOW) -> dict[str, object]:
    return {
        "message_id": message_id, "envelope_sha256": "0" * 64, "receiver": "am-mcs",
        "received_at": NOW, "token": "token", "stored_at": stored_at,
    }  # fmt: skip


def test_bulk_insert_and_in_list(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        bulk_insert(session, receipts_table, [receipt("m1"), receipt("m2"), receipt("m3")])
    column = receipts_table.c.message_id
    query = select(column).where(in_list(column, "ids", engine.dialect.name))
    with make_session_factory(engine)() as session:
        assert set(session.scalars(query, {"ids": ["m1", "m3", "m4"]})) == {"m1", "m3"}
        assert list(session.scalars(query, {"ids": []})) == []
        assert session.scalar(select(receipts_table.c.stored_at).where(column == "m2")) == NOW


@pytest.mark.parametrize("others", [0, 2], ids=["one-row", "three-rows"])
def test_bulk_insert_raises_what_an_insert_would(engine: Engine, others: int) -> None:
    # One row goes in as an INSERT, several as a COPY on PostgreSQL: both raise the same.
    with make_session_factory(engine).begin() as session:
        bulk_insert(session, receipts_table, [receipt("m1")])
    more = [receipt(f"other-{n}") for n in range(others)]
    with pytest.raises(exc.IntegrityError), make_session_factory(engine).begin() as session:
        bulk_insert(session, receipts_table, [*more, receipt("m1")])
    naive = datetime(2025, 10, 1, 12, 0)
    with make_session_factory(engine)() as session:
        with pytest.raises(exc.StatementError):
            bulk_insert(session, receipts_table, [*more, receipt("m2", naive)])
        for wrong in ({"stored_at": "yesterday"}, {"stored_at": NOW.date()}):
            with pytest.raises(exc.StatementError):  # as SQLAlchemy's INSERT raises
                bulk_insert(session, receipts_table, [*more, receipt("m3") | wrong])
        with pytest.raises(exc.StatementError):  # a row without a column the first gives
            bulk_insert(session, receipts_table, [*more, receipt("m4"), {"message_id": "m5"}])
        # Refused before anything went in: the transaction holds none of the rows, and on
        # PostgreSQL is still usable (a COPY that failed midway would have aborted it).
        assert session.scalar(select(func.count()).select_from(receipts_table)) == 1
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(receipts_table)) == 1


@pytest.mark.parametrize("defaulted", [False, True], ids=["all-given", "one-left-to-default"])
def test_bulk_insert_stores_what_an_insert_would(engine: Engine, defaulted: bool) -> None:
    """Rows given in another order than the table's columns, with types that bind through a
    processor (a boolean, a time), and (or not) a column left to its default made in Python:
    what is stored, read as the database holds it, is what SQLAlchemy's INSERT of one row
    stores (several rows go to the driver unless a default is left to SQLAlchemy)."""
    columns = [
        Column("id", Integer, primary_key=True), Column("flag", Boolean, nullable=False),
        Column("at", UtcDateTime, nullable=False), Column("note", String(20), nullable=True),
    ]  # fmt: skip
    if defaulted:
        columns.append(Column("tries", Integer, default=7, nullable=False))
    table = Table("bulk_probe", MetaData(), *columns)
    table.create(engine)
    held = select(
        table.c.id, cast(table.c.flag, String), cast(table.c.at, String), table.c.note,
        *([table.c.tries] if defaulted else []),
    ).order_by(table.c.id)  # fmt: skip
    try:
        rows = [{"note": f"n{n}", "at": NOW, "flag": n % 2 == 0, "id": n} for n in range(6)]
        with make_session_factory(engine).begin() as session:
            for row in rows[:2]:  # one row at a time: SQLAlchemy's INSERT
                bulk_insert(session, table, [row])
            bulk_insert(session, table, rows[2:])
        with make_session_factory(engine)() as session:
            found = [tuple(row) for row in session.execute(held)]
        assert found[0][1:3] != found[1][1:3]  # true and false are told apart
        tries = (7,) if defaulted else ()
        assert found == [(n, *found[n % 2][1:3], f"n{n}", *tries) for n in range(6)]
    finally:
        table.drop(engine)


# Text a text array would have to quote: braces, quotes, backslashes, commas, NULL, spaces.
AWKWARD = st.text(alphabet=st.sampled_from("{}\",\\ NUL'\n\tab€𝄞"), max_size=30)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), AWKWARD), max_size=8))
def test_a_list_reaches_postgresql_as_it_was(postgres_database: str, values: list[Any]) -> None:
    """Lists are sent as binary arrays (`db._binary_arrays`): every element comes back as
    it went, whatever a text array would have had to escape."""
    engine = make_engine(postgres_database)
    try:
        with engine.connect() as connection:
            echoed = connection.execute(
                text("SELECT CAST(:values AS varchar[])"), {"values": values}
            ).scalar_one()
        assert echoed == values
    finally:
        engine.dispose()
