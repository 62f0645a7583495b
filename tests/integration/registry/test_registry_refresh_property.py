"""Whatever was stored before, a snapshot leaves the register holding exactly its file: snapshot
A then snapshot B holds what snapshot B holds from empty (on SQLite and PostgreSQL)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from factories import employment, person_present, write_csv
from migrex.db import make_session_factory
from migrex.registry.columns import Kind, column_names
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from migrex.registry.tables import ROWS, ImportBatch, RecordVersion
from migrex.uow import SqlUnitOfWork

TODAY = date(2025, 12, 31)
ADDRESSES = ("Almaty, Abay avenue 10, flat 4", "Astana, Kabanbay batyr 2", "Shymkent, 1")
OCCUPATIONS = ("7112", "9313", "8322")

# A register of up to 8 persons, each in one of a few versions, some with an employment spell.
registers_drawn = st.dictionaries(
    st.integers(1, 8),
    st.tuples(st.sampled_from(ADDRESSES), st.booleans(), st.sampled_from(OCCUPATIONS) | st.none()),
    max_size=8,
)


def registers(engine: Engine) -> dict[Kind, set[tuple[Any, ...]]]:
    """What each register holds, cell by cell (not ids or batches)."""
    with engine.connect() as connection:
        return {
            kind: set(map(tuple, connection.execute(
                select(*(table.__table__.c[n] for n in column_names(kind)))  # type: ignore[attr-defined]
            )))
            for kind, table in ROWS.items()
        }  # fmt: skip


def _files(folder: Path, drawn: dict[int, tuple[str, bool, str | None]]) -> list[Any]:
    folder.mkdir()
    persons = [person_present(n, registration_address=address,
                              patronymic="Ашотович" if patronymic else "")
               for n, (address, patronymic, _) in sorted(drawn.items())]  # fmt: skip
    spells = [employment(n, n, occupation_isco08=job)
              for n, (_, _, job) in sorted(drawn.items()) if job]  # fmt: skip
    return [
        (Kind.PERSONS_PRESENT, write_csv(folder / "p.csv", Kind.PERSONS_PRESENT, persons)),
        (Kind.EMPLOYMENT, write_csv(folder / "e.csv", Kind.EMPLOYMENT, spells)),
    ]


def _snapshot(engine: Engine, found: list[Any]) -> None:
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        import_registries(uow, found, state="KZ", actor="test", today=TODAY,
                          mode=Mode.SNAPSHOT, max_removed=100)  # fmt: skip


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (RecordVersion, *reversed(list(ROWS.values())), ImportBatch):
            connection.execute(delete(table))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(first=registers_drawn, second=registers_drawn)
def test_snapshot_a_then_b_holds_what_snapshot_b_holds_from_empty(
    engine: Engine, first: dict[int, Any], second: dict[int, Any]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _empty(engine)
        _snapshot(engine, _files(root / "a", first))
        _snapshot(engine, _files(root / "b", second))
        after_both = registers(engine)
        _empty(engine)
        _snapshot(engine, _files(root / "b-alone", second))
        assert after_both == registers(engine)
