"""The exchange benchmark at a small size: it runs, and its figures are the ones promised."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrex.bench import exchange

AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"
KEYS = {"messages", "seconds", "msgs_per_s", "p50_ms", "p99_ms", "lost", "duplicates", "backend"}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_bench_exchange_small(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "postgresql":
        request.getfixturevalue("postgres_database")  # skips or fails like every PostgreSQL test
    figures = exchange.run(150, backend, AGREEMENT_FILE, rate=100.0)
    assert figures.keys() >= KEYS
    assert figures["backend"] == backend
    assert figures["messages"] == 150
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["msgs_per_s"] > 0
    assert figures["p99_ms"] >= figures["p50_ms"] > 0
