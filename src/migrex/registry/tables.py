"""Registry tables: the state's own data as imported from its national systems."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column as SqlColumn
from sqlalchemy import Date, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base
from migrex.registry.columns import COLUMNS, Kind, Type


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


def register_table(
    kind: Kind,
    name: str,
    *,
    unique: str,
    indexed: tuple[str, ...] = (),
    references: dict[str, str] | None = None,
) -> Table:
    """The table of register `kind`, its columns built from the file contract
    (`registry.columns.COLUMNS`): a date column for a date, a text column of the contract's
    width otherwise, nullable exactly when the column is optional. What only the database
    needs is named here: the key that is `unique`, the columns `indexed` for lookups and the
    columns that `references` (name: "table.column") another register's."""
    references = references or {}
    columns = [
        SqlColumn(spec.name, Date() if spec.type is Type.DATE else String(spec.stored_width),
                  *([ForeignKey(references[spec.name])] if spec.name in references else []),
                  nullable=not spec.required, unique=spec.name == unique or None,
                  index=spec.name in indexed or None)
        for spec in COLUMNS[kind]
    ]  # fmt: skip
    return Table(
        name,
        Base.metadata,
        SqlColumn("id", Integer, primary_key=True),
        SqlColumn(
            "batch_id", Integer, ForeignKey("registry_import_batch.id"), nullable=False, index=True
        ),
        *columns,
    )


# The four registers' tables are built from `registry.columns`, their one declaration. The
# `Mapped` annotations of each class only name the same columns with their Python types, for
# the queries and the type checker; `tests/unit/registry/test_tables_contract.py` fails when
# they differ from the contract. (The migration that created the tables, `f845044d9bd8`, is
# history and stays written out; `migrex db check` and `tests/integration/core/
# test_migrations.py` fail when the tables and the migrations' head differ.)
_NAMES_A_PERSON = {"person_record_id": "registry_person_present.record_id"}


class _Record:
    """The typed names of the columns every register's table adds to its file's."""

    id: Mapped[int]
    batch_id: Mapped[int]


class _Person(_Record):
    """The typed names of `registry.columns.PERSON`, shared by both registers of persons."""

    surname: Mapped[str]
    given_name: Mapped[str]
    patronymic: Mapped[str | None]
    surname_latin: Mapped[str]
    given_name_latin: Mapped[str]
    sex: Mapped[str]
    birth_date: Mapped[date]


class PersonPresentRow(_Person, Base):
    __tablename__ = "registry_person_present"
    __table__ = register_table(
        Kind.PERSONS_PRESENT, __tablename__, unique="record_id",
        indexed=("citizenship", "document_number", "national_id"),
    )  # fmt: skip

    record_id: Mapped[str]
    citizenship: Mapped[str]
    document_type: Mapped[str]
    document_number: Mapped[str]
    national_id: Mapped[str | None]
    entry_date: Mapped[date]
    entry_point: Mapped[str]
    purpose_of_stay: Mapped[str]
    registration_region: Mapped[str]
    registration_address: Mapped[str]
    inviting_party: Mapped[str | None]
    permit_type: Mapped[str | None]
    permit_number: Mapped[str | None]
    permit_valid_from: Mapped[date | None]
    permit_valid_to: Mapped[date | None]
    departure_date: Mapped[date | None]
    document_issue_date: Mapped[date | None]
    document_issuing_office: Mapped[str | None]


class EmploymentRow(_Record, Base):
    __tablename__ = "registry_employment"
    __table__ = register_table(
        Kind.EMPLOYMENT, __tablename__, unique="record_id",
        indexed=("person_record_id",), references=_NAMES_A_PERSON,
    )  # fmt: skip

    record_id: Mapped[str]
    person_record_id: Mapped[str]
    employer_id: Mapped[str]
    employer_name: Mapped[str]
    occupation_isco08: Mapped[str]
    region: Mapped[str]
    start_date: Mapped[date]
    end_date: Mapped[date | None]


class CitizenRow(_Person, Base):
    __tablename__ = "registry_citizen"
    __table__ = register_table(
        Kind.CITIZENS, __tablename__, unique="national_id", indexed=("passport_number",)
    )

    national_id: Mapped[str]
    birth_place: Mapped[str | None]
    passport_number: Mapped[str | None]
    passport_issued: Mapped[date | None]
    passport_expires: Mapped[date | None]
    citizenship_basis: Mapped[str]
    citizenship_acquired: Mapped[date]
    status: Mapped[str]


class ViolationRow(_Record, Base):
    __tablename__ = "registry_violation"
    __table__ = register_table(
        Kind.VIOLATIONS, __tablename__, unique="record_id",
        indexed=("person_record_id", "document_number"), references=_NAMES_A_PERSON,
    )  # fmt: skip

    record_id: Mapped[str]
    person_record_id: Mapped[str | None]
    surname_latin: Mapped[str]
    given_name_latin: Mapped[str]
    birth_date: Mapped[date]
    citizenship: Mapped[str]
    document_number: Mapped[str]
    violation_type: Mapped[str]
    detected_on: Mapped[date]
    region: Mapped[str]
    legal_article: Mapped[str]
    decision: Mapped[str]
    decision_date: Mapped[date | None]
    inviting_party: Mapped[str | None]
    employer_id: Mapped[str | None]


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
