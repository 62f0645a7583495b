"""Registries kept in the node's own database, filled by `migrex registry import`."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from migrex.registry.columns import Kind
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation
from migrex.registry.tables import (
    ROWS,
    CitizenRow,
    EmploymentRow,
    PersonPresentRow,
    ViolationRow,
)

T = TypeVar("T")


def _record(record_type: type[T], row: Any) -> T:
    names = record_type.__dataclass_fields__  # type: ignore[attr-defined]
    return record_type(**{name: getattr(row, name) for name in names})


class SqlRegistries:
    def __init__(self, session: Session) -> None:
        self._session = session

    def count(self, kind: Kind) -> int:
        return self._session.scalar(select(func.count()).select_from(ROWS[kind])) or 0

    def find_present(self, *, citizenship: str, document_number: str) -> PersonPresent | None:
        row = self._session.scalars(
            select(PersonPresentRow).where(
                PersonPresentRow.citizenship == citizenship,
                PersonPresentRow.document_number == document_number,
            )
        ).first()
        return _record(PersonPresent, row) if row else None

    def present_holding(
        self, *, document_number: str | None = None, national_id: str | None = None
    ) -> list[PersonPresent]:
        if document_number is None and national_id is None:
            return []
        query = select(PersonPresentRow).order_by(PersonPresentRow.id)
        if document_number is not None:
            query = query.where(PersonPresentRow.document_number == document_number)
        if national_id is not None:
            query = query.where(PersonPresentRow.national_id == national_id)
        return [_record(PersonPresent, row) for row in self._session.scalars(query)]

    def employment_of(self, person_record_id: str) -> list[EmploymentSpell]:
        rows = self._session.scalars(
            select(EmploymentRow)
            .where(EmploymentRow.person_record_id == person_record_id)
            .order_by(EmploymentRow.start_date)
        )
        return [_record(EmploymentSpell, row) for row in rows]

    def find_citizen(self, national_id: str) -> Citizen | None:
        row = self._session.scalars(
            select(CitizenRow).where(CitizenRow.national_id == national_id)
        ).first()
        return _record(Citizen, row) if row else None

    def violations_of(self, *, citizenship: str, document_number: str) -> list[Violation]:
        rows = self._session.scalars(
            select(ViolationRow)
            .where(
                ViolationRow.citizenship == citizenship,
                ViolationRow.document_number == document_number,
            )
            .order_by(ViolationRow.detected_on)
        )
        return [_record(Violation, row) for row in rows]

    def workers_in_year(self, citizenship: str, year: int) -> int:
        overlapping = (
            select(EmploymentRow.person_record_id)
            .join(PersonPresentRow, PersonPresentRow.record_id == EmploymentRow.person_record_id)
            .where(
                PersonPresentRow.citizenship == citizenship,
                EmploymentRow.start_date <= date(year, 12, 31),
                or_(EmploymentRow.end_date.is_(None), EmploymentRow.end_date >= date(year, 1, 1)),
            )
            .distinct()
            .subquery()
        )
        return self._session.scalar(select(func.count()).select_from(overlapping)) or 0
