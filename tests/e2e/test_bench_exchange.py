"""The exchange benchmark at a small size: it runs, and its figures are the ones promised."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from migrex.audit import events
from migrex.audit.log import append_leaves
from migrex.bench import exchange
from migrex.envelope import new_message_id
from migrex.exchange.relay import Relay
from migrex.exchange.tables import OutboxMessage
from nodes import DirectTransport, Pair

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


def _deliver(pair: Pair, count: int) -> tuple[list[str], list[str]]:
    """`count` messages from KZ delivered to AM in-process; their ids and envelopes."""
    ids = exchange.send(pair.kz, count, "tally")
    relay = Relay(
        "test", pair.kz.unit_of_work, pair.kz_trust, DirectTransport(pair.am, pair.am_trust)
    )
    while relay.run_once():
        pass
    with pair.kz.unit_of_work() as uow:
        envelopes = list(
            uow.session.scalars(
                select(OutboxMessage.envelope).where(OutboxMessage.message_id.in_(ids))
            )
        )
    return ids, [e or "" for e in envelopes]


def test_the_benchmark_counts_a_message_processed_twice(pair: Pair) -> None:
    ids, envelopes = _deliver(pair, 3)
    # Receipts lost on the way back: the sender posts again, the receiver answers from its inbox.
    DirectTransport(pair.am, pair.am_trust).post_batch("", envelopes)
    assert exchange.losses(pair.am, ids) == (0, 0)
    # A receiver that processed a message a second time (logged it as received again).
    with pair.am.unit_of_work() as uow:
        append_leaves(uow.session, [events.message_received(
            at=datetime.now(UTC), recipient="am-mcs", sender="kz-mia", message_id=ids[1],
            envelope_sha256="0" * 64,
        )], datetime.now(UTC))  # fmt: skip
        uow.commit()
    assert exchange.losses(pair.am, ids) == (0, 1)


def test_the_benchmark_counts_a_message_never_received(pair: Pair) -> None:
    ids, _ = _deliver(pair, 2)
    assert exchange.losses(pair.am, [*ids, new_message_id()]) == (1, 0)
