"""The audit-log benchmark at a small size: it runs, verifies clean, and prints its figures."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from migrex.bench.audit import audit_command, run_audit_bench

KEYS = {
    "leaves",
    "appends_per_s_batched",
    "appends_per_s_single",
    "inclusion_proof_ms",
    "consistency_proof_ms",
    "verify_ms",
    "backend",
}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_bench_audit_small(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "postgresql":
        request.getfixturevalue("postgres_database")  # skips or fails like every PostgreSQL test
    figures = run_audit_bench(2000, backend, batch=500, singles=30, samples=30)
    assert figures.keys() >= KEYS
    assert (figures["leaves"], figures["backend"]) == (2000, backend)
    assert figures["verify_problems"] == 0
    assert figures["checkpoints_verified"] == 2
    assert figures["appends_per_s_batched"] > figures["appends_per_s_single"] > 0
    assert 0 < figures["inclusion_proof_ms"] < 100
    assert 0 < figures["consistency_proof_ms"] < 100


def test_bench_audit_command_prints_only_json_on_stdout() -> None:
    bench = typer.Typer()
    bench.command("audit")(audit_command)
    bench.callback()(lambda: None)  # keeps `audit` a subcommand, as under `migrex bench`
    result = CliRunner().invoke(bench, ["audit", "--leaves", "300", "--singles", "5", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures.keys() >= KEYS
    assert figures["verify_problems"] == 0
