"""`migrex channels evaluate|run` end to end on a small synthetic population."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrex.cli import app
from migrex.synth import generate, write_population


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    write_population(generate(10_000, 11), folder, "csv")
    return folder


def test_evaluate_finds_the_planted_channels(population: Path, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    truth = population / "ground_truth" / "channels.json"
    argv = ["channels", "evaluate", "--registries", str(population / "KZ"),
            "--out", str(leads), "--truth", str(truth), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["channels"] == 5
    assert figures["precision_at_10"] >= 0.8
    assert figures["channel_recall_at_20"] >= 0.8
    assert figures["member_f1"] >= 0.8
    assert figures["lift_over_most_violators"]["member_f1"] > 1
    with leads.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"rank", "cluster_id", "person_record_id"}
    assert {r["cluster_id"] for r in rows} == {f"L{n:04d}" for n in range(1, figures["leads"] + 1)}
    planted = json.loads(truth.read_text(encoding="utf-8"))["channels"]
    first = {r["person_record_id"] for r in rows if r["rank"] == "1"}
    assert any(len(first & set(c["member_record_ids"])) * 2 > len(first) for c in planted)


def test_run_lists_explained_leads_without_names(population: Path) -> None:
    argv = ["channels", "run", "--registries", str(population / "AM"), "--json"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    leads = json.loads(result.stdout.strip().splitlines()[-1])["leads"]
    assert leads
    card = leads[0]
    assert card["violations"]["interval_95"][0] > card["violations"]["base_rate"]
    assert card["shared_entities"] and card["rank_among_size"]["rank"] == 1
    assert "citizenship" in card["signals_not_used"]
    # What a card shows of people is their record ids; names and documents are never read.
    persons = (population / "AM" / "persons_present.csv").read_text(encoding="utf-8")
    surname = persons.splitlines()[1].split(",")[1]
    assert surname and surname not in result.stdout


def test_a_folder_without_registers_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["channels", "run", "--registries", str(tmp_path)])
    assert result.exit_code == 5, result.output
    assert "persons_present" in result.output and "Traceback" not in result.output


def test_a_leads_file_nowhere_to_write_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "leads.csv"
    argv = ["channels", "evaluate", "--registries", str(tmp_path), "--out", str(out)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and not out.parent.exists()
