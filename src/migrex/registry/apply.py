"""Applying a snapshot or an upsert import to the stored registers, in the caller's
transaction: compare each file with what is stored (`refresh.compare`), refuse what would
orphan records or look like a truncated export, keep the versions that are replaced
(`history.keep_versions`), then update, insert and delete through `bulk`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from migrex.errors import ImportRejected, Problem
from migrex.registry.bulk import bulk_insert, delete_rows, read_text_table, update_rows
from migrex.registry.columns import Kind, column_names
from migrex.registry.files import RegistryFile
from migrex.registry.history import keep_versions
from migrex.registry.refresh import (
    Mode,
    RecordDiff,
    SnapshotRemovesTooMuch,
    compare,
    key_column,
    removes_too_much,
    report,
)
from migrex.registry.tables import ROWS, EmploymentRow, ImportBatch, ViolationRow

Progress = Callable[[str, int, int], None]  # (what is happening, rows done, rows in all)


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


def reject_if(problems: list[Problem], ordered: Sequence[tuple[Kind, Path]]) -> None:
    if problems:
        files_named = ", ".join(path.name for _, path in ordered)
        raise ImportRejected(
            f"{len(problems)} problem(s) in {files_named}; nothing was imported", problems
        )


def lock_registers(session: Session) -> None:
    """Two refreshes at once would each compare against what the other is replacing: on
    PostgreSQL they wait for each other (readers do not wait). SQLite has one writer anyway."""
    if session.connection().dialect.name == "postgresql":
        names = ", ".join(f'"{t.__tablename__}"' for t in ROWS.values())
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


def apply_refresh(
    session: Session, ordered: Sequence[tuple[Kind, Path]], read: Sequence[RegistryFile], *,
    actor: str, mode: Mode, progress: Progress | None, max_removed: float,
) -> list[ImportedFile]:  # fmt: skip
    """Applies snapshot or upsert imports whose files passed every check."""
    refreshed = []
    for (kind, _), registry_file in zip(ordered, read, strict=True):
        if progress:
            progress(f"comparing {kind}", 0, registry_file.table.num_rows)
        table: Table = ROWS[kind].__table__
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
        reject_if(_still_referred_to(session, removed, [r.kind for r in refreshed]), ordered)
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
        table = ROWS[r.kind].__table__
        rows = r.file.table
        rows = rows.append_column("batch_id", pa.array([batch.id] * rows.num_rows, pa.int64()))
        update_rows(session, table, key_column(r.kind), rows.take(pa.array(r.diff.changed)))
        bulk_insert(session, table, rows.take(pa.array(r.diff.added)))
    # Removals last, dependants first: an employment spell may only now have moved off the
    # person present it named.
    for r in reversed(refreshed):
        delete_rows(session, ROWS[r.kind].__table__, key_column(r.kind),
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
    naming_persons = {Kind.EMPLOYMENT: EmploymentRow.person_record_id,
                      Kind.VIOLATIONS: ViolationRow.person_record_id}  # fmt: skip
    for kind, column in naming_persons.items():
        if kind in kinds:
            continue
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
