"""Use cases of the registry feature: importing a ministry's registry files, first or again.

A ministry re-exports its register every month. An import in `snapshot` mode makes the file the
register (records absent from it are removed), in `upsert` mode adds and updates only; both
run every check of a first import, write in one transaction, and keep the version each change
replaces (`registry.history`), so a case can still show what it was answered from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.pending import record
from migrex.errors import Problem
from migrex.registry.apply import ImportedFile, Progress, apply_refresh, lock_registers, reject_if
from migrex.registry.bulk import bulk_insert
from migrex.registry.checks import CellProblem, TableCheck
from migrex.registry.columns import Kind
from migrex.registry.files import RegistryFile, read_registry_file
from migrex.registry.refresh import (
    MAX_REMOVED_PERCENT,
    Mode,
    key_column,
)
from migrex.registry.tables import ROWS, ImportBatch
from migrex.uow import UnitOfWork

# Persons present come first: employment spells and violations refer to them.
IMPORT_ORDER = (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS, Kind.CITIZENS)
_REFERENCES = {Kind.EMPLOYMENT: "person_record_id", Kind.VIOLATIONS: "person_record_id"}
_LOOKUP_CHUNK = 500

_ACTIONS = {
    Mode.APPEND: "registry-imported",
    Mode.SNAPSHOT: "registry-replaced",
    Mode.UPSERT: "registry-upserted",
}


def import_registries(
    uow: UnitOfWork,
    files: Sequence[tuple[Kind, Path]],
    *,
    state: str,
    actor: str,
    today: date | None = None,
    progress: Progress | None = None,
    mode: Mode = Mode.APPEND,
    max_removed: float = MAX_REMOVED_PERCENT,
) -> list[ImportedFile]:
    """Imports the files in one transaction: all of them are stored, or none.

    Raises ImportRejected listing every bad row of every file when anything is wrong, and
    SnapshotRemovesTooMuch when a snapshot would remove more than `max_removed` percent of a
    register (a truncated export looks like a register emptied).
    """
    today = today or datetime.now(UTC).date()
    ordered = sorted(files, key=lambda item: IMPORT_ORDER.index(item[0]))
    read = [read_registry_file(path, kind) for kind, path in ordered]
    problems: list[Problem] = []
    session = uow.session
    if mode is not Mode.APPEND:
        lock_registers(session)
    # A snapshot of persons present replaces them: references must then be to the new file.
    persons_replaced = mode is Mode.SNAPSHOT and any(k is Kind.PERSONS_PRESENT for k, _ in files)
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
        if mode is Mode.APPEND:
            cell_problems += _conflicts_with_stored(session, kind, registry_file.table)
        if kind in _REFERENCES:
            cell_problems += _unknown_persons(
                session, registry_file.table, incoming_persons, consult_stored=not persons_replaced
            )
        problems += _located(registry_file, sorted(cell_problems))
    reject_if(problems, ordered)
    if mode is Mode.APPEND:
        imported = [
            _store(session, kind, f, actor, progress)
            for (kind, _), f in zip(ordered, read, strict=True)
        ]
    else:
        imported = apply_refresh(session, ordered, read, actor=actor, mode=mode,
                                 progress=progress, max_removed=max_removed)  # fmt: skip
    for item in imported:
        counts = item.diff.counts() if item.diff else {"added": item.rows}
        target = f"{item.kind}:" + ",".join(f"{k}={v}" for k, v in counts.items())
        record(session, events.administration(at=datetime.now(UTC), actor=actor,
                                              action=_ACTIONS[mode], target=target))  # fmt: skip
    uow.commit()
    return imported


def _located(registry_file: RegistryFile, problems: Iterable[CellProblem]) -> list[Problem]:
    name = registry_file.path.name
    return [
        Problem(f"{name}, {registry_file.location(p.row)}, column {p.column}", p.reason)
        for p in problems
    ]


def _stored_among(session: Session, kind: Kind, column: str, values: list[str]) -> set[str]:
    """Which of `values` are already stored in `kind`'s `column`."""
    table = ROWS[kind]
    if not values or session.scalar(select(func.count()).select_from(table)) == 0:
        return set()
    found: set[str] = set()
    attribute = getattr(table, column)
    for start in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[start : start + _LOOKUP_CHUNK]
        found.update(session.scalars(select(attribute).where(attribute.in_(chunk))))
    return found


def _conflicts_with_stored(session: Session, kind: Kind, table: pa.Table) -> list[CellProblem]:
    key = key_column(kind)
    values = table.column(key).combine_chunks()
    stored = _stored_among(session, kind, key, values.drop_null().to_pylist())
    if not stored:
        return []
    clash = np.asarray(pc.is_in(values, value_set=pa.array(sorted(stored))).fill_null(False))
    return [
        CellProblem(int(row), key, "is already in the registry") for row in np.flatnonzero(clash)
    ]


def _unknown_persons(
    session: Session, table: pa.Table, incoming: pa.Array, *, consult_stored: bool
) -> list[CellProblem]:
    references = table.column("person_record_id").combine_chunks()
    in_file = np.asarray(pc.is_in(references, value_set=incoming).fill_null(True))
    outside = sorted(set(references.filter(pa.array(~in_file)).drop_null().to_pylist()))
    stored = (
        _stored_among(session, Kind.PERSONS_PRESENT, "record_id", outside)
        if consult_stored
        else set()
    )
    unknown = pa.array(sorted(set(outside) - stored), pa.string())
    missing = np.asarray(pc.is_in(references, value_set=unknown).fill_null(False))
    reason = (
        "refers to a person present who is neither in this import nor in the registry"
        if consult_stored
        else "refers to a person present who is not in the snapshot of persons present"
    )
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

    bulk_insert(session, ROWS[kind].__table__, rows, on_chunk)
    return ImportedFile(kind, registry_file.path, rows.num_rows, batch.id)
