"""Use cases of the registry feature: importing a ministry's registry files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.pending import record
from migrex.errors import ImportRejected, Problem
from migrex.registry.bulk import bulk_insert
from migrex.registry.checks import CellProblem, TableCheck
from migrex.registry.columns import Kind
from migrex.registry.files import RegistryFile, read_registry_file
from migrex.registry.tables import (
    CitizenRow,
    EmploymentRow,
    ImportBatch,
    PersonPresentRow,
    ViolationRow,
)
from migrex.uow import UnitOfWork

TABLES = {
    Kind.PERSONS_PRESENT: PersonPresentRow,
    Kind.EMPLOYMENT: EmploymentRow,
    Kind.CITIZENS: CitizenRow,
    Kind.VIOLATIONS: ViolationRow,
}
# Persons present come first: employment spells and violations refer to them.
IMPORT_ORDER = (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS, Kind.CITIZENS)
_REFERENCES = {Kind.EMPLOYMENT: "person_record_id", Kind.VIOLATIONS: "person_record_id"}
_LOOKUP_CHUNK = 500

Progress = Callable[[str, int, int], None]  # (what is happening, rows done, rows in all)


@dataclass(frozen=True)
class ImportedFile:
    kind: Kind
    path: Path
    rows: int
    batch_id: int


def import_registries(
    uow: UnitOfWork,
    files: Sequence[tuple[Kind, Path]],
    *,
    state: str,
    actor: str,
    today: date | None = None,
    progress: Progress | None = None,
) -> list[ImportedFile]:
    """Imports the files in one transaction: all of them are stored, or none.

    Raises ImportRejected listing every bad row of every file when anything is wrong.
    """
    today = today or datetime.now(UTC).date()
    ordered = sorted(files, key=lambda item: IMPORT_ORDER.index(item[0]))
    read = [read_registry_file(path, kind) for kind, path in ordered]
    problems: list[Problem] = []
    session = uow.session
    incoming_persons = next(
        (
            f.table.column("record_id").combine_chunks()
            for (kind, _), f in zip(ordered, read, strict=True)
            if kind is Kind.PERSONS_PRESENT
        ),
        pa.array([], pa.string()),
    )
    for (kind, _), registry_file in zip(ordered, read, strict=True):
        cell_problems = TableCheck(kind, state, today).run(registry_file.table)
        cell_problems += _conflicts_with_stored(session, kind, registry_file.table)
        if kind in _REFERENCES:
            cell_problems += _unknown_persons(session, registry_file.table, incoming_persons)
        problems += _located(registry_file, sorted(cell_problems))
    if problems:
        files_named = ", ".join(path.name for _, path in ordered)
        raise ImportRejected(
            f"{len(problems)} problem(s) in {files_named}; nothing was imported", problems
        )
    imported = [
        _store(session, kind, f, actor, progress)
        for (kind, _), f in zip(ordered, read, strict=True)
    ]
    for (kind, _), f in zip(ordered, read, strict=True):
        record(session, events.administration(at=datetime.now(UTC), actor=actor,
                                              action="registry-imported",
                                              target=f"{kind}:{f.table.num_rows}"))  # fmt: skip
    uow.commit()
    return imported


def _located(registry_file: RegistryFile, problems: Iterable[CellProblem]) -> list[Problem]:
    name = registry_file.path.name
    return [
        Problem(f"{name}, {registry_file.location(p.row)}, column {p.column}", p.reason)
        for p in problems
    ]


def _key_column(kind: Kind) -> str:
    return "national_id" if kind is Kind.CITIZENS else "record_id"


def _stored_among(session: Session, kind: Kind, column: str, values: list[str]) -> set[str]:
    """Which of `values` are already stored in `kind`'s `column`."""
    table = TABLES[kind]
    if not values or session.scalar(select(func.count()).select_from(table)) == 0:
        return set()
    found: set[str] = set()
    attribute = getattr(table, column)
    for start in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[start : start + _LOOKUP_CHUNK]
        found.update(session.scalars(select(attribute).where(attribute.in_(chunk))))
    return found


def _conflicts_with_stored(session: Session, kind: Kind, table: pa.Table) -> list[CellProblem]:
    key = _key_column(kind)
    values = table.column(key).combine_chunks()
    stored = _stored_among(session, kind, key, values.drop_null().to_pylist())
    if not stored:
        return []
    clash = np.asarray(pc.is_in(values, value_set=pa.array(sorted(stored))).fill_null(False))
    return [
        CellProblem(int(row), key, "is already in the registry") for row in np.flatnonzero(clash)
    ]


def _unknown_persons(session: Session, table: pa.Table, incoming: pa.Array) -> list[CellProblem]:
    references = table.column("person_record_id").combine_chunks()
    in_file = np.asarray(pc.is_in(references, value_set=incoming).fill_null(True))
    outside = sorted(set(references.filter(pa.array(~in_file)).drop_null().to_pylist()))
    stored = _stored_among(session, Kind.PERSONS_PRESENT, "record_id", outside)
    unknown = pa.array(sorted(set(outside) - stored), pa.string())
    missing = np.asarray(pc.is_in(references, value_set=unknown).fill_null(False))
    reason = "refers to a person present who is neither in this import nor in the registry"
    return [CellProblem(int(row), "person_record_id", reason) for row in np.flatnonzero(missing)]


def _store(
    session: Session, kind: Kind, registry_file: RegistryFile, actor: str, progress: Progress | None
) -> ImportedFile:
    rows = registry_file.table
    batch = ImportBatch(
        kind=kind.value,
        source_name=registry_file.path.name,
        source_sha256=registry_file.sha256,
        rows=rows.num_rows,
        actor=actor,
        imported_at=datetime.now(UTC),
    )
    session.add(batch)
    session.flush()
    rows = rows.append_column("batch_id", pa.array([batch.id] * rows.num_rows, pa.int64()))

    def on_chunk(done: int) -> None:
        if progress:
            progress(f"storing {kind}", done, rows.num_rows)

    bulk_insert(session, TABLES[kind].__table__, rows, on_chunk)  # type: ignore[arg-type]
    return ImportedFile(kind, registry_file.path, rows.num_rows, batch.id)
