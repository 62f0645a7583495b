"""Versions of registry records that a refresh changed or removed, and the registers as they
stood at a past moment.

A case answered from the register keeps the reply it sent, but an officer (or the person, or a
court) may need to see the record it was answered from. A refresh therefore never loses a
record: the stored version it replaces becomes a `RecordVersion`, valid from the import that
brought it to the import that superseded it. `RegistersAsOf` answers the lookups a case makes
(the `Registries` protocol) as they would have been answered at that moment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

import pyarrow as pa
from sqlalchemy import and_, func, insert, select, true
from sqlalchemy.orm import Session

from migrex.registry.columns import COLUMNS, Kind, Type
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation
from migrex.registry.refresh import key_column
from migrex.registry.tables import (
    ROWS,
    CitizenRow,
    EmploymentRow,
    ImportBatch,
    PersonPresentRow,
    RecordVersion,
    ViolationRow,
)

_RECORDS: dict[Kind, type[Any]] = {
    Kind.PERSONS_PRESENT: PersonPresent,
    Kind.EMPLOYMENT: EmploymentSpell,
    Kind.CITIZENS: Citizen,
    Kind.VIOLATIONS: Violation,
}
_CHUNK = 10_000

T = TypeVar("T")


def keep_versions(
    session: Session,
    kind: Kind,
    stored: pa.Table,
    *,
    changed: Iterable[int],
    removed: Iterable[int],
    superseded_by: ImportBatch,
) -> int:
    """Writes the stored rows `changed` and `removed` (row numbers of `stored`, which holds the
    register's columns and `batch_id` as text) as versions ended by `superseded_by`; returns
    how many were written."""
    ended = [(int(row), "changed") for row in changed] + [(int(row), "removed") for row in removed]
    if not ended:
        return 0
    rows = stored.take(pa.array([row for row, _ in ended], pa.int64())).to_pylist()
    batches = {int(row["batch_id"]) for row in rows}
    query = select(ImportBatch.id, ImportBatch.imported_at).where(ImportBatch.id.in_(batches))
    since = dict(session.execute(query).all())
    key = key_column(kind)
    values = [
        {
            "kind": kind.value,
            "record_key": row[key],
            "person_record_id": row.get("person_record_id"),
            "document_number": row.get("document_number") or row.get("passport_number"),
            "national_id": row.get("national_id"),
            "content": json.dumps({n: row[n] for n in _names(kind)}, ensure_ascii=False),
            "batch_id": int(row["batch_id"]),
            "valid_from": since[int(row["batch_id"])],
            "valid_to": superseded_by.imported_at,
            "superseded_by": superseded_by.id,
            "ended": how,
        }
        for row, (_, how) in zip(rows, ended, strict=True)
    ]
    for start in range(0, len(values), _CHUNK):
        session.execute(insert(RecordVersion), values[start : start + _CHUNK])
    return len(values)


def _names(kind: Kind) -> tuple[str, ...]:
    return tuple(column.name for column in COLUMNS[kind])


def _decoded(kind: Kind, content: str) -> dict[str, Any]:
    cells: dict[str, Any] = json.loads(content)
    for column in COLUMNS[kind]:
        if column.type is Type.DATE and cells.get(column.name) is not None:
            cells[column.name] = date.fromisoformat(cells[column.name])
    return cells


def _record(record_type: type[T], cells: dict[str, Any]) -> T:
    names = record_type.__dataclass_fields__  # type: ignore[attr-defined]
    return record_type(**{name: cells[name] for name in names})


class RegistersAsOf:
    """The registers as they stood at `at`: the current records already imported then, and
    the versions that were valid then. Implements `registry.ports.Registries`."""

    def __init__(self, session: Session, at: datetime) -> None:
        self._session = session
        self._at = at

    def _records(self, kind: Kind, current: Any, kept: Any, order: str | None = None) -> list[Any]:
        """Records of `kind`: current rows matching `current` (a where clause on the row
        class), versions matching `kept` (on RecordVersion), sorted by `order` then key."""
        row_class = ROWS[kind]
        rows = self._session.scalars(
            select(row_class)
            .join(ImportBatch, ImportBatch.id == row_class.batch_id)
            .where(current, ImportBatch.imported_at <= self._at)
        )
        names = _names(kind)
        found = [{n: getattr(row, n) for n in names} for row in rows]
        versions = self._session.scalars(
            select(RecordVersion.content).where(
                RecordVersion.kind == kind.value,
                kept,
                RecordVersion.valid_from <= self._at,
                RecordVersion.valid_to > self._at,
            )
        )
        found += [_decoded(kind, content) for content in versions]
        key = key_column(kind)
        found.sort(key=lambda cells: ((cells[order] if order else 0), cells[key]))
        return [_record(_RECORDS[kind], cells) for cells in found]

    def count(self, kind: Kind) -> int:
        row_class = ROWS[kind]
        current = self._session.scalar(
            select(func.count())
            .select_from(row_class)
            .join(ImportBatch, ImportBatch.id == row_class.batch_id)
            .where(ImportBatch.imported_at <= self._at)
        )
        kept = self._session.scalar(
            select(func.count())
            .select_from(RecordVersion)
            .where(
                RecordVersion.kind == kind.value,
                RecordVersion.valid_from <= self._at,
                RecordVersion.valid_to > self._at,
            )
        )
        return (current or 0) + (kept or 0)

    def find_present(self, *, citizenship: str, document_number: str) -> PersonPresent | None:
        holding = self.present_holding(document_number=document_number)
        return next((p for p in holding if p.citizenship == citizenship), None)

    def present_holding(
        self, *, document_number: str | None = None, national_id: str | None = None
    ) -> list[PersonPresent]:
        if document_number is None and national_id is None:
            return []
        current, kept = [], []
        if document_number is not None:
            current.append(PersonPresentRow.document_number == document_number)
            kept.append(RecordVersion.document_number == document_number)
        if national_id is not None:
            current.append(PersonPresentRow.national_id == national_id)
            kept.append(RecordVersion.national_id == national_id)
        return self._records(Kind.PERSONS_PRESENT, and_(*current), and_(*kept))

    def employment_of(self, person_record_id: str) -> list[EmploymentSpell]:
        return self._records(
            Kind.EMPLOYMENT,
            EmploymentRow.person_record_id == person_record_id,
            RecordVersion.person_record_id == person_record_id,
            order="start_date",
        )

    def find_citizen(self, national_id: str) -> Citizen | None:
        found = self._records(
            Kind.CITIZENS, CitizenRow.national_id == national_id,
            RecordVersion.national_id == national_id,
        )  # fmt: skip
        return found[0] if found else None

    def violations_of(self, *, citizenship: str, document_number: str) -> list[Violation]:
        found = self._records(
            Kind.VIOLATIONS,
            and_(
                ViolationRow.citizenship == citizenship,
                ViolationRow.document_number == document_number,
            ),
            RecordVersion.document_number == document_number,
            order="detected_on",
        )
        return [v for v in found if v.citizenship == citizenship]

    def workers_in_year(self, citizenship: str, year: int) -> int:
        """Counted over the records valid at the moment, in memory: a look back at one past
        moment, not a statistics run (those read the current register)."""
        persons = {
            p.record_id
            for p in self._records(Kind.PERSONS_PRESENT, true(), true())
            if p.citizenship == citizenship
        }
        spells: list[EmploymentSpell] = self._records(Kind.EMPLOYMENT, true(), true())
        working = {s.person_record_id for s in spells if s.overlaps_year(year)}
        return len(working & persons)
