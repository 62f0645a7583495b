"""`migrex bench channels`' grid on `migrex synth` populations, at the smallest size."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from migrex.channels.bench import SYNTH_CAMOUFLAGE, _synth_grid
from migrex.cli import app as cli
from migrex.synth import MIN_PERSONS

FIGURES = ("precision_at_10", "channel_recall_at_20", "member_f1")


def test_synth_grid_scores_every_setting_and_the_null_world() -> None:
    grid = _synth_grid(MIN_PERSONS, 5)
    for setting in ("cohesion_80", "cohesion_50"):
        assert set(grid[setting]) == set(SYNTH_CAMOUFLAGE)
        for figures in grid[setting].values():
            assert figures["channels"] == 11  # with the chains and the brokers
            for name in FIGURES:
                assert 0.0 <= figures[name] <= 1.0
                assert 0.0 <= figures["baseline_most_violators"][name] <= 1.0
            assert set(figures["lift_over_most_violators"]) == set(FIGURES)
    # Tight, uncamouflaged channels are found even at the smallest size.
    assert grid["cohesion_80"]["none"]["channel_recall_at_20"] >= 0.5
    null = grid["null_world"]
    assert null["persons"] == MIN_PERSONS + MIN_PERSONS // 4  # the look-alikes among them
    assert null["false_leads_per_million"] == round(1e6 * null["leads"] / null["persons"], 2)


def test_the_scale_benchmark_reads_register_files_and_scores_against_the_truth(
    tmp_path: Path,
) -> None:
    """`migrex bench channels-scale` on the files `migrex synth` writes: every stage timed,
    the peak taken, the planted channels scored, the false leads counted."""
    runner = CliRunner()
    made = runner.invoke(cli, ["synth", "--persons", str(MIN_PERSONS), "--seed", "5",
                               "--out", str(tmp_path)])  # fmt: skip
    assert made.exit_code == 0, made.output
    result = runner.invoke(cli, ["bench", "channels-scale", "--registries", str(tmp_path / "KZ"),
                                 "--truth", str(tmp_path / "ground_truth" / "channels.json"),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["persons"] == MIN_PERSONS
    assert set(figures["seconds"]) == {"read", "build_graph", "detect", "score_and_explain"}
    assert figures["peak_rss_gb"] > 0 and figures["cpu_seconds"] > 0
    assert figures["channels"] > 0 and figures["channel_recall_at_20"] >= 0.5
    assert 0 <= figures["false_leads"] <= figures["leads"]
    assert figures["goal"]["met"] == (figures["seconds_total"] <= 300
                                      and figures["peak_rss_gb"] <= 10)  # fmt: skip
