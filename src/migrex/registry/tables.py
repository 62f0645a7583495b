"""Registry tables: the state's own data as imported from its national systems."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base
from migrex.registry.columns import Kind


class ImportBatch(Base):
    """One accepted registry file: what it was, who imported it, how many rows it held."""

    __tablename__ = "registry_import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[datetime] = mapped_column()
    # "append" (new records only), "snapshot" (the file becomes the register) or "upsert".
    mode: Mapped[str] = mapped_column(String(16), server_default="append")
    # What the import changed; an append only adds, so its counts stay empty.
    added: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[int | None] = mapped_column(Integer)
    removed: Mapped[int | None] = mapped_column(Integer)


def _batch() -> Mapped[int]:
    return mapped_column(ForeignKey("registry_import_batch.id"), index=True)


class PersonPresentRow(Base):
    __tablename__ = "registry_person_present"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = _batch()
    record_id: Mapped[str] = mapped_column(String(40), unique=True)
    surname: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    surname_latin: Mapped[str] = mapped_column(String(200))
    given_name_latin: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    citizenship: Mapped[str] = mapped_column(String(3), index=True)
    document_type: Mapped[str] = mapped_column(String(1))
    document_number: Mapped[str] = mapped_column(String(20), index=True)
    national_id: Mapped[str | None] = mapped_column(String(20), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    entry_point: Mapped[str] = mapped_column(String(40))
    purpose_of_stay: Mapped[str] = mapped_column(String(20))
    registration_region: Mapped[str] = mapped_column(String(10))
    registration_address: Mapped[str] = mapped_column(String(200))
    inviting_party: Mapped[str | None] = mapped_column(String(20))
    permit_type: Mapped[str | None] = mapped_column(String(30))
    permit_number: Mapped[str | None] = mapped_column(String(40))
    permit_valid_from: Mapped[date | None] = mapped_column(Date)
    permit_valid_to: Mapped[date | None] = mapped_column(Date)
    departure_date: Mapped[date | None] = mapped_column(Date)


class EmploymentRow(Base):
    __tablename__ = "registry_employment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = _batch()
    record_id: Mapped[str] = mapped_column(String(40), unique=True)
    person_record_id: Mapped[str] = mapped_column(
        ForeignKey("registry_person_present.record_id"), index=True
    )
    employer_id: Mapped[str] = mapped_column(String(20))
    employer_name: Mapped[str] = mapped_column(String(200))
    occupation_isco08: Mapped[str] = mapped_column(String(4))
    region: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class CitizenRow(Base):
    __tablename__ = "registry_citizen"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = _batch()
    national_id: Mapped[str] = mapped_column(String(20), unique=True)
    surname: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    surname_latin: Mapped[str] = mapped_column(String(200))
    given_name_latin: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(String(200))
    passport_number: Mapped[str | None] = mapped_column(String(20), index=True)
    passport_issued: Mapped[date | None] = mapped_column(Date)
    passport_expires: Mapped[date | None] = mapped_column(Date)
    citizenship_basis: Mapped[str] = mapped_column(String(20))
    citizenship_acquired: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))


class ViolationRow(Base):
    __tablename__ = "registry_violation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = _batch()
    record_id: Mapped[str] = mapped_column(String(40), unique=True)
    person_record_id: Mapped[str | None] = mapped_column(
        ForeignKey("registry_person_present.record_id"), index=True
    )
    surname_latin: Mapped[str] = mapped_column(String(200))
    given_name_latin: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    citizenship: Mapped[str] = mapped_column(String(3))
    document_number: Mapped[str] = mapped_column(String(20), index=True)
    violation_type: Mapped[str] = mapped_column(String(30))
    detected_on: Mapped[date] = mapped_column(Date)
    region: Mapped[str] = mapped_column(String(10))
    legal_article: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    decision_date: Mapped[date | None] = mapped_column(Date)
    inviting_party: Mapped[str | None] = mapped_column(String(20))
    employer_id: Mapped[str | None] = mapped_column(String(20))


class RecordVersion(Base):
    """A version of a record that a later import changed or removed, kept so that what a case
    was answered from can still be shown: valid from the import that brought it to the import
    that replaced it. The identifiers a lookup uses are columns; the whole record is `content`
    (JSON of the cells as imported)."""

    __tablename__ = "registry_record_version"
    __table_args__ = (Index("ix_registry_record_version_record", "kind", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(String(40))
    person_record_id: Mapped[str | None] = mapped_column(String(40), index=True)
    document_number: Mapped[str | None] = mapped_column(String(20), index=True)
    national_id: Mapped[str | None] = mapped_column(String(20), index=True)
    content: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int] = _batch()
    valid_from: Mapped[datetime] = mapped_column()
    valid_to: Mapped[datetime] = mapped_column()
    superseded_by: Mapped[int] = mapped_column(ForeignKey("registry_import_batch.id"))
    ended: Mapped[str] = mapped_column(String(8))  # "changed" or "removed"


# The table of each register.
ROWS: dict[Kind, type[PersonPresentRow | EmploymentRow | CitizenRow | ViolationRow]] = {
    Kind.PERSONS_PRESENT: PersonPresentRow,
    Kind.EMPLOYMENT: EmploymentRow,
    Kind.CITIZENS: CitizenRow,
    Kind.VIOLATIONS: ViolationRow,
}
