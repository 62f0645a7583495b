"""`migrex bench registry`: a first import of N persons present, then a month's re-export of
them imported as a snapshot (1 % changed, 1 % removed, 1 % new), then the same file again."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from migrex.console import err
from migrex.db import make_engine, make_session_factory
from migrex.migrate import upgrade
from migrex.registry.apply import ImportedFile
from migrex.registry.columns import Kind, column_names
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from migrex.uow import SqlUnitOfWork

_SHARE = 100  # one record in a hundred is changed, one removed, one new


def persons_present(numbers: np.ndarray[Any, Any], address: Callable[[int], str]) -> pa.Table:
    """Valid persons present with record numbers `numbers`: same person data, own keys,
    documents and addresses (what a refresh compares is every column all the same)."""
    n = len(numbers)
    constant = {
        "surname": "Оганесян", "given_name": "Арам", "surname_latin": "HOVHANNISYAN",
        "given_name_latin": "ARAM", "sex": "M", "birth_date": "1985-03-14",
        "citizenship": "ARM", "document_type": "P", "entry_date": "2023-05-01",
        "entry_point": "ALA-AIRPORT", "purpose_of_stay": "work", "registration_region": "KZ-75",
    }  # fmt: skip
    cells: dict[str, pa.Array] = {
        "record_id": pa.array([f"KZ-PP-{i:09d}" for i in numbers]),
        "document_number": pa.array([f"AM{i % 10_000_000:07d}" for i in numbers]),
        "registration_address": pa.array([address(int(i)) for i in numbers]),
    }
    columns = [
        cells.get(
            name, pa.array([constant[name]] * n) if name in constant else pa.nulls(n, pa.string())
        )
        for name in column_names(Kind.PERSONS_PRESENT)
    ]
    return pa.table(columns, names=list(column_names(Kind.PERSONS_PRESENT)))


def _moved(i: int) -> str:
    """February's address: one person in a hundred moved to Astana."""
    return f"Astana, Kabanbay batyr {i}" if i % _SHARE == 0 else f"Almaty, Abay avenue {i}"


def _timed(fn: Callable[[], list[ImportedFile]]) -> tuple[list[ImportedFile], float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(
    records: Annotated[int, typer.Option(help="persons present in the register")] = 100_000,
    database_url: Annotated[
        str | None, typer.Option(help="an empty database to use (default: a new SQLite file)")
    ] = None,
) -> None:
    """Import N persons present, then refresh them with a snapshot; prints JSON."""
    with tempfile.TemporaryDirectory(prefix="migrex-bench-registry-") as folder:
        root = Path(folder)
        engine = make_engine(database_url or f"sqlite:///{root / 'node.db'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        today = (datetime.now(UTC) + timedelta(days=1)).date()

        def load(path: Path, mode: Mode) -> list[ImportedFile]:
            with SqlUnitOfWork(factory) as uow:
                return import_registries(uow, [(Kind.PERSONS_PRESENT, path)], state="KZ",
                                         actor="bench", today=today, mode=mode)  # fmt: skip

        numbers = np.arange(1, records + 1)
        january, february = root / "january.parquet", root / "february.parquet"
        pq.write_table(persons_present(numbers, lambda i: f"Almaty, Abay avenue {i}"), january)
        kept = numbers[numbers % _SHARE != 50]  # removed: one in a hundred
        new = np.arange(records + 1, records + 1 + records // _SHARE)
        pq.write_table(persons_present(np.concatenate([kept, new]), _moved), february)
        err.print(f"[dim]first import of {records:,} persons present[/]")
        _, first = _timed(lambda: load(january, Mode.APPEND))
        err.print("[dim]snapshot of the next month[/]")
        [refreshed], snapshot = _timed(lambda: load(february, Mode.SNAPSHOT))
        err.print("[dim]the same snapshot again[/]")
        [again], same = _timed(lambda: load(february, Mode.SNAPSHOT))
        engine.dispose()
    if refreshed.diff is None or again.diff is None:  # pragma: no cover - a snapshot has a diff
        raise RuntimeError("a snapshot import reported no diff")
    figures = {
        "records": records,
        "database": engine.dialect.name,
        "first_import_seconds": round(first, 3),
        "snapshot_seconds": round(snapshot, 3),
        "snapshot_unchanged_seconds": round(same, 3),
        "snapshot_to_first_import": round(snapshot / first, 2),
        "snapshot_records_per_second": round(refreshed.rows / snapshot),
        "diff": refreshed.diff.counts(),
        "diff_unchanged_file": again.diff.counts(),
        "date": date.today().isoformat(),
    }
    print(json.dumps(figures))
