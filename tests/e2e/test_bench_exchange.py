"""The exchange benchmark at a small size: it runs through casework, its figures are the ones
promised, and its tally counts at the application level what was lost or processed twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casework_steps import context, deliver
from migrex.bench import casework, exchange
from migrex.exchange.tables import InboxMessage
from migrex.ledger.tables import DisclosureRow
from nodes import Pair

AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"
KEYS = {
    "messages", "seconds", "msgs_per_s", "p50_ms", "p99_ms", "lost", "duplicates",
    "out_of_order", "quarantined", "crypto_ms_per_msg", "cores", "ceiling_msgs_per_s",
    "share_of_ceiling", "cpu_ms_per_msg", "db", "phases", "officer_actions",
}  # fmt: skip


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_bench_exchange_small(db: str, request: pytest.FixtureRequest) -> None:
    if db == "postgresql":
        request.getfixturevalue("postgres_database")  # skips or fails like every PostgreSQL test
    figures = exchange.run(60, db, AGREEMENT_FILE, rate=40.0)
    assert figures.keys() >= KEYS
    assert figures["db"] == db
    # Inquiries answered (two messages each) and consultations with their findings.
    assert figures["inquiries_answered"] > 0 and figures["consultations"] > 0
    assert figures["messages"] == 2 * figures["inquiries_answered"] + 3 * figures["consultations"]
    assert figures["sent"] > figures["messages"]  # and the latency run's
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["out_of_order"] == 0 and figures["quarantined"] == 0
    assert figures["answer_errors"] == {}
    # Throughput is the machine phases only: B (openings to KZ) and D (answers to AM).
    b, d = figures["phases"]["B_am_to_kz"], figures["phases"]["D_kz_to_am"]
    assert b["messages"] == figures["inquiries_answered"] + 3 * figures["consultations"]
    assert d["messages"] == figures["inquiries_answered"]
    assert figures["seconds"] == pytest.approx(b["seconds"] + d["seconds"], abs=0.002)
    assert figures["msgs_per_s"] == pytest.approx(
        figures["messages"] / figures["seconds"], rel=0.01
    )
    # On PostgreSQL the server's backends for the node processes too: they share the cores.
    expected = {"KZ", "AM"} | ({"postgresql"} if db == "postgresql" else set())
    assert set(figures["cpu_ms_per_msg"]) == expected
    assert all(ms > 0 for ms in figures["cpu_ms_per_msg"].values())
    spent = sum(figures["cpu_ms_per_msg"].values())
    assert figures["cpu_bound_msgs_per_s"] == pytest.approx(
        figures["cores"] * 1000 / spent, rel=0.02
    )
    # The officers' steps are latencies per action, not part of the throughput.
    actions = figures["officer_actions"]
    assert set(actions) == {
        "open_inquiry", "open_consultation", "add_finding", "open_review", "answer_inquiry",
    }  # fmt: skip
    assert actions["answer_inquiry"]["count"] == figures["inquiries_answered"]
    assert actions["add_finding"]["count"] == 2 * figures["consultations"]
    assert all(a["p99_ms"] >= a["p50_ms"] > 0 for a in actions.values())
    assert figures["p99_ms"] >= figures["p50_ms"] > 0
    assert figures["latency_messages"] == int(40.0 * 2)  # all of the paced run, filed
    assert figures["ceiling_msgs_per_s"] > 0
    assert figures["share_of_ceiling"] == pytest.approx(
        figures["msgs_per_s"] / figures["ceiling_msgs_per_s"], abs=0.002
    )


def test_the_meter_counts_backends_that_started_during_a_phase_whole() -> None:
    before = {"KZ": 1.0, "AM": 2.0, "postgresql:10": 5.0, "postgresql:11": 1.0}
    after = {"KZ": 1.5, "AM": 2.25, "postgresql:10": 5.5, "postgresql:12": 0.25}
    spent = exchange.CpuMeter.spent(before, after)
    # Backend 11 ended meanwhile (missed); 12 started meanwhile (counted from zero).
    assert spent == {"KZ": 0.5, "AM": 0.25, "postgresql": 0.75}


def _inquiries_filed(pair: Pair, count: int) -> list[str]:
    """`count` inquiries opened by Armenia's officer, relayed and filed at KZ; their case ids."""
    node = context(pair.am)
    cases = [casework.open_inquiry(pair.am, node, n) for n in range(count)]
    assert casework.release(pair.am) == count  # the officer's messages wait until released
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return cases


def _nodes(pair: Pair) -> dict[str, Any]:
    return {"KZ": pair.kz, "AM": pair.am}


def test_the_tally_counts_a_message_filed_twice(pair: Pair) -> None:
    _inquiries_filed(pair, 3)
    assert casework.tally(_nodes(pair)).as_json() == {
        "sent": 3, "lost": 0, "duplicates": 0, "out_of_order": 0, "quarantined": 0,
    }  # fmt: skip
    # A receiver that filed one message a second time: its ledger rows written again. The
    # inbox and the case thread, unique by message id, could never show it.
    with pair.kz.unit_of_work() as uow:
        first = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.direction == "received").limit(1)
        ).one()
        copy = {c.name: getattr(first, c.key) for c in DisclosureRow.__table__.columns}
        del copy["id"]
        uow.session.add(DisclosureRow(**copy))
        uow.commit()
    assert casework.tally(_nodes(pair)).duplicates == 1


def test_the_tally_counts_a_message_never_filed(pair: Pair) -> None:
    node = context(pair.am)
    casework.open_inquiry(pair.am, node, 0)
    casework.release(pair.am)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    casework.open_inquiry(pair.am, node, 1)  # opened, held, never relayed
    tally = casework.tally(_nodes(pair))
    assert (tally.sent, tally.lost, tally.duplicates) == (2, 1, 0)


def test_the_tally_counts_a_quarantined_message(pair: Pair) -> None:
    _inquiries_filed(pair, 1)
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(select(InboxMessage)).one()
        row.status = "quarantined"
        uow.commit()
    assert casework.tally(_nodes(pair)).quarantined == 1
