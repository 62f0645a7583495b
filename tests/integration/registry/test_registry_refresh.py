"""Refreshing a register from a ministry's monthly re-export, on SQLite and PostgreSQL:
snapshot replace and upsert, each atomic, each with its diff, each keeping what it replaced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from factories import citizen, employment, person_present, violation, write_csv
from migrex.audit.tables import AuditLeafRow
from migrex.db import make_session_factory
from migrex.errors import ImportRejected
from migrex.registry.apply import ImportedFile
from migrex.registry.columns import Kind, column_names
from migrex.registry.history import RegistersAsOf
from migrex.registry.refresh import (
    KEYS_WITHHELD,
    MAX_REMOVED_PERCENT,
    Mode,
    SnapshotRemovesTooMuch,
)
from migrex.registry.service import import_registries
from migrex.registry.tables import ROWS, ImportBatch, RecordVersion
from migrex.uow import SqlUnitOfWork

TODAY = date(2025, 12, 31)
FILES = {Kind.PERSONS_PRESENT: "persons_present.csv", Kind.EMPLOYMENT: "employment.csv",
         Kind.CITIZENS: "citizens.csv", Kind.VIOLATIONS: "violations.csv"}  # fmt: skip


def files(folder: Path, registers: dict[Kind, list[dict[str, Any]]]) -> list[tuple[Kind, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    return [(k, write_csv(folder / FILES[k], k, rows)) for k, rows in registers.items()]


def run(
    engine: Engine, found: list[tuple[Kind, Path]], mode: Mode, max_removed: float = 100
) -> list[ImportedFile]:
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        return import_registries(uow, found, state="KZ", actor="test", today=TODAY, mode=mode,
                                 max_removed=max_removed)  # fmt: skip


def registers(engine: Engine) -> dict[Kind, set[tuple[Any, ...]]]:
    """What each register holds now, cell by cell (not ids or batches)."""
    with engine.connect() as connection:
        return {
            kind: {
                tuple(row)
                for row in connection.execute(
                    select(*(table.__table__.c[n] for n in column_names(kind)))  # type: ignore[attr-defined]
                )
            }
            for kind, table in ROWS.items()
        }


def stored_rows(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the registers and of the kept versions, ids and batches included."""
    with engine.connect() as connection:
        return {
            table.__tablename__: set(map(tuple, connection.execute(select(table.__table__))))  # type: ignore[attr-defined]
            for table in (*ROWS.values(), RecordVersion)
        }


def persons(*numbers: int, **overrides: Any) -> list[dict[str, Any]]:
    return [person_present(n, **overrides) for n in numbers]


def test_the_same_file_again_in_snapshot_mode_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    found = files(tmp_path, {Kind.PERSONS_PRESENT: persons(1, 2, 3),
                             Kind.EMPLOYMENT: [employment(1, 1), employment(2, 2)],
                             Kind.CITIZENS: [citizen(1), citizen(2)]})  # fmt: skip
    run(engine, found, Mode.APPEND)
    before = stored_rows(engine)
    again = run(engine, found, Mode.SNAPSHOT)
    assert [(i.kind, i.report()["added"], i.report()["changed"], i.report()["removed"])
            for i in again] == [(Kind.PERSONS_PRESENT, 0, 0, 0), (Kind.EMPLOYMENT, 0, 0, 0),
                                (Kind.CITIZENS, 0, 0, 0)]  # fmt: skip
    assert stored_rows(engine) == before  # same ids, same batches, no version kept


def test_a_snapshot_reports_added_changed_and_removed_by_record_key(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, files(tmp_path / "jan", {Kind.PERSONS_PRESENT: persons(1, 2, 3, 4)}), Mode.APPEND)
    february = [person_present(1), person_present(2, registration_address="Astana, 1"),
                person_present(4, patronymic="", permit_type="", permit_number=""),
                person_present(5)]  # fmt: skip
    [result] = run(engine, files(tmp_path / "feb", {Kind.PERSONS_PRESENT: february}),
                   Mode.SNAPSHOT)  # fmt: skip
    report = result.report()
    assert {k: report[k] for k in ("added", "changed", "removed", "unchanged")} == {
        "added": 1, "changed": 2, "removed": 1, "unchanged": 1}  # fmt: skip
    assert report["added_keys"] == ["KZ-PP-0000005"]
    assert report["removed_keys"] == ["KZ-PP-0000003"]
    assert report["changed_keys"] == {
        "KZ-PP-0000002": ["registration_address"],
        "KZ-PP-0000004": ["patronymic", "permit_type", "permit_number"],
    }
    stored = {row[0]: row for row in registers(engine)[Kind.PERSONS_PRESENT]}
    assert set(stored) == {"KZ-PP-0000001", "KZ-PP-0000002", "KZ-PP-0000004", "KZ-PP-0000005"}
    assert stored["KZ-PP-0000004"][3] is None  # patronymic emptied
    with engine.connect() as connection:
        kept = connection.execute(
            select(RecordVersion.record_key, RecordVersion.ended).order_by(RecordVersion.record_key)
        ).all()
        batch = connection.execute(
            select(
                ImportBatch.mode, ImportBatch.added, ImportBatch.changed, ImportBatch.removed
            ).order_by(ImportBatch.id.desc())
        ).first()
    assert [tuple(k) for k in kept] == [("KZ-PP-0000002", "changed"), ("KZ-PP-0000003", "removed"),
                                        ("KZ-PP-0000004", "changed")]  # fmt: skip
    assert batch is not None and tuple(batch) == (
        "snapshot", 1, 2, 1)  # fmt: skip


def test_citizens_are_reported_in_counts_only(engine: Engine, tmp_path: Path) -> None:
    run(engine, files(tmp_path / "a", {Kind.CITIZENS: [citizen(1), citizen(2)]}), Mode.APPEND)
    changed = citizen(2, birth_place="Shymkent")
    [result] = run(engine, files(tmp_path / "b", {Kind.CITIZENS: [changed, citizen(3)]}),
                   Mode.SNAPSHOT)  # fmt: skip
    report = result.report()
    assert (report["added"], report["changed"], report["removed"]) == (1, 1, 1)
    assert report["changed_columns"] == {"birth_place": 1}
    assert report["keys"] == KEYS_WITHHELD
    assert not {"added_keys", "removed_keys", "changed_keys"} & set(report)
    text = repr(report)
    assert not any(citizen(n)["national_id"] in text for n in (1, 2, 3))


def test_a_failing_check_in_the_new_file_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    run(engine, files(tmp_path / "a", {Kind.PERSONS_PRESENT: persons(1, 2, 3)}), Mode.APPEND)
    before, counts = stored_rows(engine), _batches_and_leaves(engine)
    bad = [person_present(1, registration_address="Astana, 1"), person_present(2, sex="?")]
    for mode in (Mode.SNAPSHOT, Mode.UPSERT):
        with pytest.raises(ImportRejected) as caught:
            run(engine, files(tmp_path / f"b-{mode}", {Kind.PERSONS_PRESENT: bad}), mode)
        assert [p.where for p in caught.value.problems] == [
            "persons_present.csv, line 3, column sex"]  # fmt: skip
        assert stored_rows(engine) == before
        assert _batches_and_leaves(engine) == counts


def _batches_and_leaves(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(ImportBatch)) or 0,
            connection.scalar(select(func.count()).select_from(AuditLeafRow)) or 0,
        )


def test_a_snapshot_that_orphans_stored_employment_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    january = {Kind.PERSONS_PRESENT: persons(1, 2), Kind.EMPLOYMENT: [employment(1, 2)]}
    run(engine, files(tmp_path / "a", january), Mode.APPEND)
    before = stored_rows(engine)
    with pytest.raises(ImportRejected) as caught:
        run(engine, files(tmp_path / "b", {Kind.PERSONS_PRESENT: persons(1)}), Mode.SNAPSHOT)
    assert "still named by stored employment records (KZ-PP-0000002)" in (
        caught.value.problems[0].reason)  # fmt: skip
    assert stored_rows(engine) == before
    # With the employment register replaced in the same import, the person may go.
    both = {Kind.PERSONS_PRESENT: persons(1), Kind.EMPLOYMENT: [employment(1, 1)]}
    run(engine, files(tmp_path / "c", both), Mode.SNAPSHOT)
    now = registers(engine)
    assert {r[0] for r in now[Kind.PERSONS_PRESENT]} == {"KZ-PP-0000001"}
    assert {(r[0], r[1]) for r in now[Kind.EMPLOYMENT]} == {("KZ-EM-0000001", "KZ-PP-0000001")}


def test_upsert_adds_and_updates_and_keeps_what_the_file_does_not_mention(
    engine: Engine, tmp_path: Path
) -> None:
    january = {Kind.PERSONS_PRESENT: persons(1, 2, 3), Kind.VIOLATIONS: [violation(1)]}
    run(engine, files(tmp_path / "a", january), Mode.APPEND)
    update = [person_present(2, departure_date="2025-06-01"), person_present(4)]
    fixed = violation(1, decision="fine", decision_date="2025-04-01")
    february = {Kind.PERSONS_PRESENT: update, Kind.VIOLATIONS: [fixed]}
    results = run(engine, files(tmp_path / "b", february), Mode.UPSERT)
    assert [(r.report()["added"], r.report()["changed"], r.report()["removed"])
            for r in results] == [(1, 1, 0), (0, 1, 0)]  # fmt: skip
    now = registers(engine)
    assert {r[0] for r in now[Kind.PERSONS_PRESENT]} == {f"KZ-PP-000000{n}" for n in (1, 2, 3, 4)}
    left = column_names(Kind.PERSONS_PRESENT).index("departure_date")
    departures = {r[0]: r[left] for r in now[Kind.PERSONS_PRESENT]}
    assert str(departures["KZ-PP-0000002"]) == "2025-06-01" and departures["KZ-PP-0000001"] is None
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(RecordVersion)) == 2


def test_refreshes_are_audited_as_administration(engine: Engine, tmp_path: Path) -> None:
    run(engine, files(tmp_path / "a", {Kind.PERSONS_PRESENT: persons(1)}), Mode.APPEND)
    leaves = _batches_and_leaves(engine)[1]
    run(engine, files(tmp_path / "b", {Kind.PERSONS_PRESENT: persons(1, 2)}), Mode.SNAPSHOT)
    run(engine, files(tmp_path / "c", {Kind.PERSONS_PRESENT: persons(3)}), Mode.UPSERT)
    with engine.connect() as connection:
        kinds = connection.scalars(
            select(AuditLeafRow.kind).order_by(AuditLeafRow.position).offset(leaves)
        ).all()
    assert kinds == ["administration", "administration"]


def test_registers_as_of_a_moment_show_the_version_then_valid(
    engine: Engine, tmp_path: Path
) -> None:
    january = {Kind.PERSONS_PRESENT: persons(1, 2), Kind.EMPLOYMENT: [employment(1, 1)]}
    run(engine, files(tmp_path / "a", january), Mode.APPEND)
    with engine.connect() as connection:
        imported = connection.scalar(select(func.max(ImportBatch.imported_at)))
    assert imported is not None
    moved = {Kind.PERSONS_PRESENT: persons(1, registration_region="KZ-71"), Kind.EMPLOYMENT: []}
    run(engine, files(tmp_path / "b", moved), Mode.SNAPSHOT)
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        then, now_ = RegistersAsOf(uow.session, imported), RegistersAsOf(uow.session, _later())
        [was] = then.present_holding(document_number=person_present(1)["document_number"])
        [is_] = now_.present_holding(document_number=person_present(1)["document_number"])
        assert (was.registration_region, is_.registration_region) == ("KZ-75", "KZ-71")
        assert then.count(Kind.PERSONS_PRESENT) == 2 and now_.count(Kind.PERSONS_PRESENT) == 1
        assert [s.record_id for s in then.employment_of("KZ-PP-0000001")] == ["KZ-EM-0000001"]
        assert now_.employment_of("KZ-PP-0000001") == []
        assert then.workers_in_year("ARM", 2024) == 1 and now_.workers_in_year("ARM", 2024) == 0


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def test_a_snapshot_emptying_a_register_is_refused_unless_allowed(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, files(tmp_path / "a", {Kind.PERSONS_PRESENT: persons(1, 2, 3, 4)}), Mode.APPEND)
    before = stored_rows(engine)
    truncated = files(tmp_path / "b", {Kind.PERSONS_PRESENT: persons(1)})  # 3 of 4 gone
    with pytest.raises(SnapshotRemovesTooMuch) as caught:
        run(engine, truncated, Mode.SNAPSHOT, max_removed=MAX_REMOVED_PERCENT)
    assert "remove 3 of 4 persons_present records (75 %" in caught.value.detail
    assert "--max-removed 76" in caught.value.detail
    assert stored_rows(engine) == before
    [allowed] = run(engine, truncated, Mode.SNAPSHOT, max_removed=75)
    assert allowed.report()["removed"] == 3
