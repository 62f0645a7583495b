"""Importing registry files into a node database, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from factories import citizen, employment, person_present, violation, write_csv
from migrex.db import make_session_factory
from migrex.errors import ImportRejected
from migrex.registry.columns import Kind, column_names
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from migrex.registry.tables import ImportBatch, PersonPresentRow
from migrex.schema import metadata
from migrex.uow import SqlUnitOfWork

TODAY = date(2025, 12, 31)


def run_import(engine: Engine, *files: tuple[Kind, Path]) -> None:
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        import_registries(uow, list(files), state="KZ", actor="test", today=TODAY)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata.sorted_tables
        }


def rejected(engine: Engine, *files: tuple[Kind, Path]) -> ImportRejected:
    before = row_counts(engine)
    with pytest.raises(ImportRejected) as caught:
        run_import(engine, *files)
    assert row_counts(engine) == before, "a rejected import changed the database"
    return caught.value


def test_valid_files_are_imported_and_queryable(engine: Engine, tmp_path: Path) -> None:
    persons = [person_present(n) for n in range(1, 6)]
    spells = [
        employment(1, 1, start_date="2023-06-01", end_date="2024-03-31"),
        employment(2, 2, start_date="2025-01-10"),
        employment(3, 3, start_date="2024-11-01", end_date="2025-02-01"),
        employment(4, 3, start_date="2025-03-01"),  # a second spell of the same person
    ]
    run_import(
        engine,
        (Kind.EMPLOYMENT, write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, spells)),
        (Kind.PERSONS_PRESENT, write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT, persons)),
        (Kind.CITIZENS, write_csv(tmp_path / "c.csv", Kind.CITIZENS, [citizen(1), citizen(2)])),
        (Kind.VIOLATIONS, write_csv(tmp_path / "v.csv", Kind.VIOLATIONS, [violation(1)])),
    )
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        registries = SqlRegistries(uow.session)
        assert registries.count(Kind.PERSONS_PRESENT) == 5
        assert registries.workers_in_year("ARM", 2024) == 2  # persons 1 and 3
        assert registries.workers_in_year("ARM", 2025) == 2  # persons 2 and 3
        assert registries.workers_in_year("KGZ", 2025) == 0
        found = registries.find_present(citizenship="ARM", document_number="AM0000002")
        assert found is not None and found.record_id == "KZ-PP-0000002"
        assert [s.record_id for s in registries.employment_of("KZ-PP-0000003")] == [
            "KZ-EM-0000003",
            "KZ-EM-0000004",
        ]
        assert registries.find_citizen(citizen(2)["national_id"]) is not None
        assert len(registries.violations_of(citizenship="ARM", document_number="AM7654321")) == 1
        batches = uow.session.scalars(select(ImportBatch)).all()
        assert {b.kind for b in batches} == set(Kind) and all(b.actor == "test" for b in batches)


def test_one_bad_row_among_ten_thousand_rejects_the_file(engine: Engine, tmp_path: Path) -> None:
    rows = [person_present(n) for n in range(1, 10_001)]
    rows[7_311]["national_id"] = rows[7_311]["national_id"][:-1] + (
        "0" if rows[7_311]["national_id"][-1] != "0" else "1"
    )
    path = write_csv(tmp_path / "persons_present.csv", Kind.PERSONS_PRESENT, rows)
    error = rejected(engine, (Kind.PERSONS_PRESENT, path))
    assert [(p.where, p.reason) for p in error.problems] == [
        ("persons_present.csv, line 7313, column national_id", "the IIN check digit does not match")
    ]


def test_every_bad_row_is_reported(engine: Engine, tmp_path: Path) -> None:
    rows = [person_present(n) for n in range(1, 8)]
    rows[0]["surname"] = "Hovhannisyan"  # Latin where Cyrillic is expected
    rows[1]["birth_date"] = "2024-02-30"
    rows[2]["citizenship"] = "XXX"
    rows[3]["document_number"] = "12"
    rows[4]["permit_valid_to"] = "2020-01-01"  # before permit_valid_from
    rows[5]["registration_region"] = "AM-ER"  # a region of another state
    rows[6]["record_id"] = rows[5]["record_id"]
    path = write_csv(tmp_path / "persons_present.csv", Kind.PERSONS_PRESENT, rows)
    where = {
        p.where.split(", ", 1)[1] for p in rejected(engine, (Kind.PERSONS_PRESENT, path)).problems
    }
    assert where == {
        "line 2, column surname",
        "line 3, column birth_date",
        "line 4, column citizenship",
        "line 5, column document_number",
        "line 6, column permit_valid_to",
        "line 7, column registration_region",
        "line 7, column record_id",
        "line 8, column record_id",
    }


def test_reimporting_the_same_records_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person_present(1), person_present(2)]
    )
    run_import(engine, (Kind.PERSONS_PRESENT, path))
    error = rejected(engine, (Kind.PERSONS_PRESENT, path))
    assert {p.reason for p in error.problems} == {"is already in the registry"}
    assert len(error.problems) == 2


def test_a_bad_file_rejects_the_whole_import(engine: Engine, tmp_path: Path) -> None:
    persons = write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person_present(1)])
    spells = write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1), employment(2, 99)])
    error = rejected(engine, (Kind.PERSONS_PRESENT, persons), (Kind.EMPLOYMENT, spells))
    assert [p.where for p in error.problems] == ["e.csv, line 3, column person_record_id"]


def test_references_to_stored_persons_are_accepted(engine: Engine, tmp_path: Path) -> None:
    run_import(
        engine,
        (
            Kind.PERSONS_PRESENT,
            write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person_present(1)]),
        ),
    )
    run_import(
        engine,
        (Kind.EMPLOYMENT, write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1)])),
    )
    assert row_counts(engine)["registry_employment"] == 1


def test_wrong_encoding_is_named_with_its_line(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person_present(1)], encoding="cp1251"
    )
    error = rejected(engine, (Kind.PERSONS_PRESENT, path))
    assert "not UTF-8" in error.detail
    assert error.problems[0].where == "line 2"


def test_missing_and_unknown_columns_are_named(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("record_id,surname,shoe_size\nKZ-1,Оганесян,44\n", encoding="utf-8")
    problems = {p.where: p.reason for p in rejected(engine, (Kind.PERSONS_PRESENT, path)).problems}
    assert problems["column shoe_size"] == "not a column of the persons_present registry"
    assert problems["column given_name"] == "required column is missing"
    assert "column patronymic" not in problems  # optional columns may be left out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("p.csv", b""),
        ("p.csv", b'record_id,surname\n"KZ-1,unterminated\n'),
        ("p.parquet", b"PAR1 this is not parquet"),
        ("p.xlsx", b"whatever"),
    ],
)
def test_malformed_files_are_rejected(
    engine: Engine, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert rejected(engine, (Kind.PERSONS_PRESENT, path)).detail


def test_parquet_with_typed_dates_is_imported(engine: Engine, tmp_path: Path) -> None:
    rows = [person_present(n) for n in (1, 2)]
    table = pa.Table.from_pylist(rows)
    table = table.set_column(
        table.column_names.index("birth_date"), "birth_date", pa.array([date(1985, 3, 14)] * 2)
    )
    pq.write_table(table, tmp_path / "persons_present.parquet")
    run_import(engine, (Kind.PERSONS_PRESENT, tmp_path / "persons_present.parquet"))
    assert row_counts(engine)["registry_person_present"] == 2


def test_a_quoted_header_is_read_like_a_plain_one(engine: Engine, tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "plain.csv", Kind.PERSONS_PRESENT, [person_present(1)])
    lines = plain.read_text(encoding="utf-8").splitlines()
    quoted = tmp_path / "persons_present.csv"
    header = ",".join(f'"{name}"' for name in lines[0].split(","))
    quoted.write_text("\n".join([header, *lines[1:]]) + "\n", encoding="utf-8")
    run_import(engine, (Kind.PERSONS_PRESENT, quoted))
    assert row_counts(engine)["registry_person_present"] == 1


def _without_document_columns(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The file as a register that has never had the optional document columns writes it."""
    names = [n for n in column_names(Kind.PERSONS_PRESENT) if not n.startswith("document_issu")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_documents_issue_date_and_office_are_optional_columns(
    engine: Engine, tmp_path: Path
) -> None:
    given = [person_present(1, document_issue_date="2023-02-14",
                            document_issuing_office="ARM-0042"), person_present(2)]  # fmt: skip
    run_import(engine, (Kind.PERSONS_PRESENT,
                        write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT, given)))  # fmt: skip
    with engine.connect() as connection:
        stored = connection.execute(
            select(PersonPresentRow.record_id, PersonPresentRow.document_issue_date,
                   PersonPresentRow.document_issuing_office).order_by(PersonPresentRow.record_id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in stored] == [("KZ-PP-0000001", date(2023, 2, 14), "ARM-0042"),
                                         ("KZ-PP-0000002", None, None)]  # fmt: skip
    older = _without_document_columns(tmp_path / "old.csv", [person_present(3)])
    assert "document_issue_date" not in older.read_text("utf-8")
    run_import(engine, (Kind.PERSONS_PRESENT, older))
    future = [person_present(4, document_issue_date="2031-01-01")]
    problem = rejected(
        engine, (Kind.PERSONS_PRESENT, write_csv(tmp_path / "f.csv", Kind.PERSONS_PRESENT, future))
    )
    assert any("document_issue_date" in p.where for p in problem.problems)
