"""Use cases of the registry feature: importing a ministry's registry files, first or again.

A ministry re-exports its register every month. An import in `snapshot` mode makes the file the
register (records absent from it are removed), in `upsert` mode adds and updates only; both
run every check of a first import, write in one transaction, and keep the version each change
replaces (`registry.history`), so a case can still show what it was answered from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.pending import record
from migrex.errors import ImportRejected, Problem
from migrex.registry.bulk import bulk_insert, delete_rows, read_text_table, update_rows
from migrex.registry.checks import CellProblem, TableCheck
from migrex.registry.columns import Kind, column_names
from migrex.registry.files import RegistryFile, read_registry_file
from migrex.registry.history import keep_versions
from migrex.registry.refresh import (
    MAX_REMOVED_PERCENT,
    Mode,
    RecordDiff,
    SnapshotRemovesTooMuch,
    compare,
    key_column,
    removes_too_much,
    report,
)
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


_ACTIONS = {
    Mode.APPEND: "registry-imported",
    Mode.SNAPSHOT: "registry-replaced",
    Mode.UPSERT: "registry-upserted",
}


@dataclass(frozen=True)
class ImportedFile:
    kind: Kind
    path: Path
    rows: int
    batch_id: int
    mode: Mode = Mode.APPEND
    diff: RecordDiff | None = None  # what a snapshot or an upsert changed
    keys: tuple[pa.Array, pa.Array] | None = None  # (incoming, stored) keys the diff indexes

    def report(self) -> dict[str, Any]:
        """What the import changed, without a single cell value (see `refresh.report`)."""
        if self.diff is None or self.keys is None:
            return {"registry": str(self.kind), "added": self.rows}
        return report(self.diff, *self.keys)


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
        _lock_registers(session)
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
    _refuse_if(problems, ordered)
    if mode is Mode.APPEND:
        imported = [
            _store(session, kind, f, actor, progress)
            for (kind, _), f in zip(ordered, read, strict=True)
        ]
    else:
        imported = _refresh(session, ordered, read, actor=actor, mode=mode, progress=progress,
                            max_removed=max_removed)  # fmt: skip
    for item in imported:
        counts = item.diff.counts() if item.diff else {"added": item.rows}
        target = f"{item.kind}:" + ",".join(f"{k}={v}" for k, v in counts.items())
        record(session, events.administration(at=datetime.now(UTC), actor=actor,
                                              action=_ACTIONS[mode], target=target))  # fmt: skip
    uow.commit()
    return imported


def _refuse_if(problems: list[Problem], ordered: Sequence[tuple[Kind, Path]]) -> None:
    if problems:
        files_named = ", ".join(path.name for _, path in ordered)
        raise ImportRejected(
            f"{len(problems)} problem(s) in {files_named}; nothing was imported", problems
        )


def _lock_registers(session: Session) -> None:
    """Two refreshes at once would each compare against what the other is replacing: on
    PostgreSQL they wait for each other (readers do not wait). SQLite has one writer anyway."""
    if session.connection().dialect.name == "postgresql":
        names = ", ".join(f'"{t.__tablename__}"' for t in TABLES.values())
        session.execute(text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))


@dataclass
class _Refreshed:
    """One file of a snapshot or upsert import: what is stored, what comes, what differs."""

    kind: Kind
    file: RegistryFile
    stored: pa.Table  # the register's columns and batch_id, as text
    diff: RecordDiff

    def keys(self, rows: Any, *, stored: bool) -> pa.Array:
        table = self.stored if stored else self.file.table
        return table.column(key_column(self.kind)).combine_chunks().take(pa.array(rows, pa.int64()))

    def result(self, batch: ImportBatch, mode: Mode) -> ImportedFile:
        key = key_column(self.kind)
        keys = (self.file.table.column(key).combine_chunks(),
                self.stored.column(key).combine_chunks())  # fmt: skip
        return ImportedFile(self.kind, self.file.path, self.file.table.num_rows, batch.id,
                            mode, self.diff, keys)  # fmt: skip


def _refresh(
    session: Session, ordered: Sequence[tuple[Kind, Path]], read: Sequence[RegistryFile], *,
    actor: str, mode: Mode, progress: Progress | None, max_removed: float,
) -> list[ImportedFile]:  # fmt: skip
    """Applies snapshot or upsert imports whose files passed every check."""
    refreshed = []
    for (kind, _), registry_file in zip(ordered, read, strict=True):
        if progress:
            progress(f"comparing {kind}", 0, registry_file.table.num_rows)
        table: Table = TABLES[kind].__table__  # type: ignore[assignment]
        stored = read_text_table(session, table, (*column_names(kind), "batch_id"))
        diff = compare(kind, stored, registry_file.table, mode)
        refreshed.append(_Refreshed(kind, registry_file, stored, diff))
    too_much = [
        Problem(f"{r.kind} registry", reason)
        for r in refreshed
        if (reason := removes_too_much(r.diff, r.stored.num_rows, max_removed))
    ]
    if too_much:
        raise SnapshotRemovesTooMuch(too_much[0].reason, too_much)
    persons = next((r for r in refreshed if r.kind is Kind.PERSONS_PRESENT), None)
    if persons is not None and persons.diff.removed.size:
        removed = persons.keys(persons.diff.removed, stored=True)
        _refuse_if(_still_referred_to(session, removed, [r.kind for r in refreshed]), ordered)
    now = datetime.now(UTC)
    batches = [_batch(r, actor=actor, mode=mode, at=now) for r in refreshed]
    session.add_all(batches)
    session.flush()
    for r, batch in zip(refreshed, batches, strict=True):
        keep_versions(session, r.kind, r.stored, changed=r.diff.changed_stored,
                      removed=r.diff.removed, superseded_by=batch)  # fmt: skip
    for r, batch in zip(refreshed, batches, strict=True):  # persons before what names them
        if progress:
            progress(f"storing {r.kind}", 0, r.file.table.num_rows)
        table = TABLES[r.kind].__table__  # type: ignore[assignment]
        rows = r.file.table
        rows = rows.append_column("batch_id", pa.array([batch.id] * rows.num_rows, pa.int64()))
        update_rows(session, table, key_column(r.kind), rows.take(pa.array(r.diff.changed)))
        bulk_insert(session, table, rows.take(pa.array(r.diff.added)))
    # Removals last, dependants first: an employment spell may only now have moved off the
    # person present it named.
    for r in reversed(refreshed):
        delete_rows(session, TABLES[r.kind].__table__, key_column(r.kind),  # type: ignore[arg-type]
                    r.keys(r.diff.removed, stored=True))  # fmt: skip
    return [r.result(batch, mode) for r, batch in zip(refreshed, batches, strict=True)]


def _batch(refreshed: _Refreshed, *, actor: str, mode: Mode, at: datetime) -> ImportBatch:
    counts = refreshed.diff.counts()
    return ImportBatch(
        kind=refreshed.kind.value, source_name=refreshed.file.path.name,
        source_sha256=refreshed.file.sha256, rows=refreshed.file.table.num_rows, actor=actor,
        imported_at=at, mode=mode.value, added=counts["added"], changed=counts["changed"],
        removed=counts["removed"],
    )  # fmt: skip


def _still_referred_to(session: Session, removed: pa.Array, kinds: list[Kind]) -> list[Problem]:
    """Persons present a snapshot removes that stored employment spells or violations this
    import does not replace still name (the import checks already caught the incoming ones)."""
    problems = []
    for kind in (Kind.EMPLOYMENT, Kind.VIOLATIONS):
        if kind in kinds:
            continue
        column = TABLES[kind].person_record_id  # type: ignore[attr-defined]
        naming = set(session.scalars(select(column).where(column.is_not(None)).distinct()))
        dangling = sorted(set(removed.to_pylist()) & naming)
        if dangling:
            shown = ", ".join(dangling[:10]) + (" ..." if len(dangling) > 10 else "")
            problems.append(Problem(
                f"{kind} registry",
                f"{len(dangling)} person(s) present this snapshot removes are still named by "
                f"stored {kind} records ({shown}); import a new {kind} file with it",
            ))  # fmt: skip
    return problems


def _located(registry_file: RegistryFile, problems: Iterable[CellProblem]) -> list[Problem]:
    name = registry_file.path.name
    return [
        Problem(f"{name}, {registry_file.location(p.row)}, column {p.column}", p.reason)
        for p in problems
    ]


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

    bulk_insert(session, TABLES[kind].__table__, rows, on_chunk)  # type: ignore[arg-type]
    return ImportedFile(kind, registry_file.path, rows.num_rows, batch.id)
