"""Files on disk: layout, formats, and that the importer's reader accepts every one."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from migrex.registry.checks import TableCheck
from migrex.registry.columns import Kind, column_names
from migrex.registry.files import read_registry_file
from migrex.synth import MIN_PERSONS, Population, generate, write_population
from migrex.synth.cli import synth

TODAY = date(2025, 12, 31)


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(MIN_PERSONS, 11)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_layout_and_import(population: Population, tmp_path: Path, fmt: str) -> None:
    written = write_population(population, tmp_path, fmt)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        [f"{node}/{kind}.{fmt}" for node in ("KZ", "AM") for kind in Kind]
        + [f"ground_truth/dual_citizens.{fmt}", f"ground_truth/near_misses.{fmt}"]
        + ["ground_truth/channels.json"]
    )
    assert not list(tmp_path.rglob("*.partial"))
    for node in ("KZ", "AM"):
        assert sorted(p.name for p in (tmp_path / node).iterdir()) == sorted(
            f"{kind}.{fmt}" for kind in Kind
        )
        for kind in Kind:
            read = read_registry_file(tmp_path / node / f"{kind}.{fmt}", kind)
            assert read.table.num_rows == population.table(node, kind).num_rows
            assert TableCheck(kind, node, TODAY).run(read.table) == []


def test_csv_is_utf8_with_header_iso_dates_and_empty_nulls(
    population: Population, tmp_path: Path
) -> None:
    write_population(population, tmp_path, "csv")
    path = tmp_path / "KZ" / "persons_present.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == column_names(Kind.PERSONS_PRESENT, extensions=False)
    first = population.table("KZ", Kind.PERSONS_PRESENT).slice(0, 1).to_pylist()[0]
    record = dict(zip(rows[0], rows[1], strict=True))
    for name, value in first.items():
        expected = "" if value is None else str(value)
        assert record[name] == expected
    assert any("" in row for row in rows[1:])


def test_parquet_keeps_types_and_no_ground_truth_in_registries(
    population: Population, tmp_path: Path
) -> None:
    write_population(population, tmp_path, "parquet")
    table = pq.read_table(tmp_path / "KZ" / "citizens.parquet")
    assert tuple(table.column_names) == column_names(Kind.CITIZENS, extensions=False)
    assert str(table.schema.field("birth_date").type) == "date32[day]"
    truth = pq.read_table(tmp_path / "ground_truth" / "dual_citizens.parquet")
    assert {"kz_national_id", "am_national_id", "birth_date_typo"} <= set(truth.column_names)


def test_channels_json_names_records_of_the_registries(
    population: Population, tmp_path: Path
) -> None:
    write_population(population, tmp_path, "parquet")
    document = json.loads((tmp_path / "ground_truth" / "channels.json").read_text("utf-8"))
    assert document["seed"] == 11
    assert len(document["channels"]) == 7
    for channel in document["channels"]:
        persons = pq.read_table(tmp_path / channel["node"] / "persons_present.parquet")
        known = set(persons["record_id"].to_pylist())
        assert set(channel["member_record_ids"]) <= known
        assert date.fromisoformat(channel["arrivals_from"]) <= date.fromisoformat(
            channel["arrivals_to"]
        )


def test_unknown_format_is_refused(population: Population, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        write_population(population, tmp_path, "xlsx")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("synth")(synth)
    app.command("noop")(lambda: None)  # with two commands, `synth` is a subcommand
    return app


def test_command_writes_files_and_summarises(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        ["synth", "--persons", "10000", "--seed", "3", "--out", str(tmp_path), "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "KZ" / "employment.csv").is_file()
    assert "10,000" in result.output and "channels.json" in result.output


def test_command_refuses_a_population_below_the_minimum(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["synth", "--persons", "500", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "10000" in result.output
    assert not any(tmp_path.iterdir())
