"""`migrex registry` and `migrex db` as an operator runs them, against a node file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from factories import employment, person_present, write_csv
from migrex.cli import app
from migrex.errors import ImportRejected
from migrex.registry.columns import Kind
from migrex.registry.refresh import SnapshotRemovesTooMuch
from migrex.registry.tables import PersonPresentRow

runner = CliRunner()
# Every command checks the node's folder and agreements first (`migrex.checks`).
AGREEMENT = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"
NODE_FOLDER = f'data_dir = "."\nagreements = ["{AGREEMENT.as_posix()}"]\n'


@pytest.fixture
def node_config(tmp_path: Path, database_url: str) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nnode_id = "kz-node"\nstate = "KZ"\n'
        f'{NODE_FOLDER}database_url = "{database_url}"\n',
        encoding="utf-8",
    )
    return config


def test_import_a_folder_then_summarise(node_config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "KZ"
    folder.mkdir()
    persons = [person_present(1), person_present(2)]
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT, persons)
    write_csv(folder / "employment.csv", Kind.EMPLOYMENT, [employment(1, 1), employment(2, 2)])
    result = runner.invoke(app, ["--config", str(node_config), "registry", "import", str(folder)])
    assert result.exit_code == 0, result.output
    args = ["--config", str(node_config), "registry", "summary", "--year", "2024"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ARM citizens working in 2024: 2" in result.output


def test_rejected_import_exits_non_zero_and_writes_the_report(
    node_config: Path, tmp_path: Path, engine: Engine
) -> None:
    rows = [person_present(n) for n in range(1, 4)]
    rows[1]["sex"] = "?"
    path = write_csv(tmp_path / "persons_present.csv", Kind.PERSONS_PRESENT, rows)
    report = tmp_path / "problems.csv"
    args = ["--config", str(node_config), "registry", "import", str(path), "--report", str(report)]
    result = runner.invoke(app, args)
    assert result.exit_code == ImportRejected.exit_code
    assert "line 3, column sex" in result.output
    assert report.read_text(encoding="utf-8").splitlines() == [
        "where,reason",
        '"persons_present.csv, line 3, column sex",sex is M or F',
    ]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(PersonPresentRow)) == 0


def test_a_file_of_unknown_kind_is_refused(node_config: Path, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(node_config), "registry", "import", str(path)])
    assert result.exit_code == ImportRejected.exit_code
    assert "cannot tell which registry" in result.output


def test_db_check_passes_on_a_fresh_database() -> None:
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert "migrations match the models" in result.output


def test_a_monthly_snapshot_prints_its_diff_as_json(node_config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "KZ"
    folder.mkdir()
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT,
              [person_present(1), person_present(2)])  # fmt: skip
    base = ["--config", str(node_config), "registry", "import", str(folder)]
    assert runner.invoke(app, base).exit_code == 0
    again = runner.invoke(app, [*base, "--mode", "snapshot", "--json"])
    assert again.exit_code == 0, again.output
    [report] = json.loads(again.stdout)
    assert (report["added"], report["changed"], report["removed"]) == (0, 0, 0)
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT,
              [person_present(2, registration_address="Astana, 1"), person_present(3)])  # fmt: skip
    changed = runner.invoke(app, [*base, "--mode", "snapshot"])
    assert changed.exit_code == 0, changed.output
    assert "snapshot" in changed.output and "Astana" not in changed.output
    last = runner.invoke(app, [*base, "--mode", "snapshot", "--json"])
    [report] = json.loads(last.stdout)
    assert report["unchanged"] == 2 and report["changed_keys"] == {}


def test_a_truncated_export_is_refused_with_its_own_exit_code(
    node_config: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "KZ"
    folder.mkdir()
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT,
              [person_present(1), person_present(2)])  # fmt: skip
    base = ["--config", str(node_config), "registry", "import", str(folder)]
    assert runner.invoke(app, base).exit_code == 0
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT, [])  # a header, no rows
    refused = runner.invoke(app, [*base, "--mode", "snapshot"])
    assert refused.exit_code == SnapshotRemovesTooMuch.exit_code == 35
    assert "remove 2 of 2 persons_present records" in refused.output
    emptied = runner.invoke(app, [*base, "--mode", "snapshot", "--max-removed", "100", "--json"])
    assert emptied.exit_code == 0, emptied.output
    assert json.loads(emptied.stdout)[0]["removed"] == 2


def test_more_problems_than_shown_point_to_the_report_or_to_the_option(
    node_config: Path, tmp_path: Path
) -> None:
    rows = [person_present(n) for n in range(1, 61)]
    for row in rows:
        row["sex"] = "?"
    path = write_csv(tmp_path / "persons_present.csv", Kind.PERSONS_PRESENT, rows)
    args = ["--config", str(node_config), "registry", "import", str(path)]
    without = runner.invoke(app, args)
    assert without.exit_code == ImportRejected.exit_code
    assert "… and 10 more (use --report FILE to save them all)" in without.output
    report = tmp_path / "problems.csv"
    saved = runner.invoke(app, [*args, "--report", str(report)])
    assert saved.exit_code == ImportRejected.exit_code
    assert (
        "… and 10 more (all of them are in" in saved.output and "--report FILE" not in saved.output
    )
    assert len(report.read_text(encoding="utf-8").splitlines()) == 61
