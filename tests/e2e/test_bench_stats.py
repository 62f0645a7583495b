"""`migrex bench stats` at a small size: the figures it prints and that pandas agrees."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from migrex.cli import app

ROOT = Path(__file__).parents[2]
KEYS = {"rows", "seconds", "pandas_seconds", "ratio_vs_pandas", "cells", "suppressed_primary",
        "suppressed_secondary", "blank_cells", "blank_persons", "optimiser_seconds",
        "interval_attack_seconds", "heuristic_blank_cells",
        "heuristic_blanks_narrowed"}  # fmt: skip


def test_the_benchmark_prints_its_figures() -> None:
    result = CliRunner().invoke(app, [
        "bench", "stats", "--rows", "200000", "--json",
        "--agreement", str(ROOT / "agreements" / "kz-am-2024.toml"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) >= KEYS
    assert figures["rows"] == 200_000 and figures["cells"] == 129
    # At one Armenian in a thousand, 200,000 rows leave small cells to protect.
    assert figures["suppressed_primary"] > 0
    assert figures["seconds"] > 0 and figures["pandas_seconds"] > 0
    assert figures["blank_cells"] == figures["suppressed_primary"] + figures["suppressed_secondary"]
    assert figures["protection_method"] == "optimiser"
