"""`migrex bench console` at a small size: it fills a node, times real pages that show 50
cases each (it fails if a page shows fewer), and prints its figures as JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from migrex.cli import app


def test_the_console_benchmark_prints_measured_figures() -> None:
    result = CliRunner().invoke(app, ["bench", "console", "--cases", "300", "--audit-entries",
                                      "500", "--samples", "5", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (figures["cases"], figures["audit_entries"], figures["db"]) == (300, 500, "sqlite")
    for page in ("queue_page", "queue_partial", "front_page"):
        assert 0 < figures[f"{page}_p50_ms"] <= figures[f"{page}_p95_ms"], figures
    assert 1 < figures["assets_gzip_kb"] < 100
