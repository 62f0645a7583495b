"""`migrex linkage evaluate` end to end on a small synthetic population's register files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrex.cli import app
from migrex.errors import ImportRejected
from migrex.synth import generate, write_population


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    write_population(generate(10_000, 5), folder, "csv")
    return folder


def evaluate(*argv: str) -> object:
    return CliRunner(env={"COLUMNS": "200"}).invoke(app, ["linkage", "evaluate", *argv])


def test_evaluation_finds_the_dual_citizens_and_writes_the_pairs(
    population: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.csv"
    result = evaluate(
        "--left", str(population / "KZ" / "citizens.csv"),
        "--right", str(population / "AM" / "citizens.csv"),
        "--truth", str(population / "ground_truth" / "dual_citizens.csv"),
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    figures = json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
    assert figures["truth_pairs"] == 300
    # The evaluation's key is drawn anew each time, and salted by birth date and sex the dual
    # citizens whose date is typed a day off are lost: 96.7-97.3 % of these 300 were found
    # over eight keys (98.3-99 % salted by year). The 0.97 is asserted under a fixed
    # key in test_linkage_encoding and measured by `migrex bench linkage`.
    assert figures["precision"] >= 0.99 and figures["recall"] >= 0.95
    assert figures["pair_completeness"] >= 0.995
    assert figures["compared_pairs"] < figures["left_records"] * figures["right_records"] / 1000
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["left_id", "right_id", "score"]
    assert len(rows) == figures["matches"]
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.82
    # One to one: no record of either register in two pairs.
    assert (
        len({row["left_id"] for row in rows}) == len({row["right_id"] for row in rows}) == len(rows)
    )
    with (population / "ground_truth" / "dual_citizens.csv").open(encoding="utf-8") as handle:
        truth = {(row["kz_national_id"], row["am_national_id"]) for row in csv.DictReader(handle)}
    found = {(row["left_id"], row["right_id"]) for row in rows}
    assert len(found & truth) == figures["true_matches"]


def test_the_truth_may_name_the_registers_the_other_way_round(
    population: Path, tmp_path: Path
) -> None:
    result = evaluate(
        "--left", str(population / "AM" / "citizens.csv"),
        "--right", str(population / "KZ" / "citizens.csv"),
        "--truth", str(population / "ground_truth" / "dual_citizens.csv"),
        "--out", str(tmp_path / "pairs.csv"), "--json",
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
    # Read the wrong way round, no pair would be found (the bound: see the test above).
    assert figures["recall"] >= 0.95


def test_a_file_that_is_not_a_citizens_register_is_refused(
    population: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.csv"
    result = evaluate(
        "--left", str(population / "KZ" / "persons_present.csv"),
        "--right", str(population / "AM" / "citizens.csv"),
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == ImportRejected.exit_code  # type: ignore[attr-defined]
    assert "persons_present.csv" in result.output  # type: ignore[attr-defined]
    assert not out.exists()


def test_a_truth_file_without_pairs_is_refused(population: Path, tmp_path: Path) -> None:
    result = evaluate(
        "--left", str(population / "KZ" / "citizens.csv"),
        "--right", str(population / "AM" / "citizens.csv"),
        "--truth", str(population / "KZ" / "citizens.csv"),
        "--out", str(tmp_path / "pairs.csv"),
    )  # fmt: skip
    assert result.exit_code == ImportRejected.exit_code  # type: ignore[attr-defined]
    assert "left_id,right_id" in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "pairs.csv").exists()
