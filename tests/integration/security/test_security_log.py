"""The security log on both databases: a flood of refusals is one counted entry per source,
reason and minute; request-level refusals are noted; `migrex security-log list` filters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from migrex.cli import app
from migrex.exchange.receiver import receive_batch
from migrex.exchange.runtime import ExchangeRuntime
from migrex.node import Node
from migrex.security.model import Refusal
from migrex.security.service import note
from migrex.security.tables import SecurityEvent
from migrex.security.writer import SecurityLogWriter
from migrex.settings import Settings
from migrex.web.app import create_app
from nodes import Pair, receiver_policy

PLANTED = "ZZPLANTEDSURNAME"


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    node = Node(Settings(database_url=database_url, data_dir=tmp_path))
    yield node
    node.close()


def rows(node: Node) -> list[SecurityEvent]:
    with node.unit_of_work() as uow:
        found = list(uow.session.scalars(select(SecurityEvent).order_by(SecurityEvent.id)))
        uow.session.expunge_all()
        return found


def test_a_batch_of_1000_garbage_envelopes_is_one_counted_row(pair: Pair) -> None:
    garbage = [f"not-an-envelope-{n}-{PLANTED}" for n in range(1000)]
    with pair.am.unit_of_work() as uow:
        outcomes = receive_batch(
            uow, pair.am_trust, garbage, policy=receiver_policy(pair.am, pair.am_trust),
            now=datetime.now(UTC), peer="192.0.2.7",
        )  # fmt: skip
    assert {o.status for o in outcomes} == {"rejected"}
    [row] = rows(pair.am)
    assert (row.reason, row.peer, row.count) == ("malformed", "192.0.2.7", 1000)
    assert PLANTED not in row.detail


def test_refusals_grow_the_row_of_their_window_and_start_a_new_one_after(node: Node) -> None:
    start = datetime(2026, 12, 6, 10, 0, 5, tzinfo=UTC)
    for at, peer in (
        (start, "a"),
        (start + timedelta(seconds=30), "a"),
        (start + timedelta(seconds=40), "b"),
        (start + timedelta(minutes=1), "a"),
    ):
        with node.unit_of_work() as uow:
            note(uow.session, [Refusal("malformed", "bad", peer)] * 3, at)
            uow.commit()
    found = [(r.peer, r.count, r.at, r.last_at) for r in rows(node)]
    assert found == [
        ("a", 6, start, start + timedelta(seconds=30)),
        ("b", 3, start + timedelta(seconds=40), start + timedelta(seconds=40)),
        ("a", 3, start + timedelta(minutes=1), start + timedelta(minutes=1)),
    ]


def test_the_background_writer_aggregates_what_waits(node: Node) -> None:
    dropped: list[int] = []
    writer = SecurityLogWriter(node.unit_of_work, lambda: dropped.append(1))
    for _ in range(300):
        writer.note(Refusal("tls-handshake", "TLS handshake failed: CERTIFICATE_REQUIRED"))
    assert writer.flush()
    with node.unit_of_work() as uow:
        total = uow.session.scalar(select(func.sum(SecurityEvent.count)))
        count = uow.session.scalar(select(func.count()).select_from(SecurityEvent))
    assert total == 300 and count is not None and count <= 3 and not dropped


def test_security_log_list_filters_and_prints_json(tmp_path: Path, node: Node) -> None:
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        note(uow.session, [Refusal("malformed", "not JWE", "10.1.1.1")] * 5, now)
        note(uow.session, [Refusal("failed-login", "wrong password", "10.2.2.2")], now)
        note(uow.session, [Refusal("expired", "old", "10.1.1.1")], now - timedelta(days=3))
        uow.commit()
    config = tmp_path / "node.toml"
    agreement = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"
    config.write_text(f'database_url = "{node.settings.database_url}"\ndata_dir = "{tmp_path}"\n'
                      f'agreements = ["{agreement.as_posix()}"]\n')  # fmt: skip
    runner = CliRunner()

    def run(*args: str) -> list[dict[str, object]]:
        result = runner.invoke(app, ["--config", str(config), "security-log", "list", *args])
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    assert [e["reason"] for e in run("--json")] == ["failed-login", "malformed", "expired"]
    assert [e["reason"] for e in run("--json", "--since", "24h")] == ["failed-login", "malformed"]
    [malformed] = run("--json", "--kind", "malformed")
    assert malformed["count"] == 5 and malformed["peer"] == "10.1.1.1"
    assert [e["reason"] for e in run("--json", "--partner", "10.1.1.1")] == ["malformed", "expired"]
    assert [e["reason"] for e in run("--json", "--reason", "expired", "--reason",
                                     "failed-login")] == ["failed-login", "expired"]  # fmt: skip
    table = runner.invoke(app, ["--config", str(config), "security-log", "list"])
    assert table.exit_code == 0 and "failed-login" in table.stdout
    bad = runner.invoke(app, ["--config", str(config), "security-log", "list", "--since", "x"])
    assert bad.exit_code == 2


def test_requests_refused_at_the_door_are_noted_and_counted(pair: Pair) -> None:
    runtime = ExchangeRuntime(pair.am, pair.am_trust)
    door = create_app(runtime)
    too_big = b"x" * (runtime.max_request_bytes + 1)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=door, client=("198.51.100.4", 4431))
        async with httpx.AsyncClient(transport=transport, base_url="https://node") as client:
            statuses = []
            for body in [b"{nope " + PLANTED.encode()] * 20 + [too_big] * 3:
                statuses.append((await client.post("/v1/envelopes", content=body)).status_code)
            return statuses

    assert asyncio.run(run()) == [400] * 20 + [413] * 3
    assert runtime.security_log.flush()
    found = {(r.reason, r.peer, r.count) for r in rows(pair.am)}
    assert found == {("malformed-batch", "198.51.100.4", 20),
                     ("batch-too-large", "198.51.100.4", 3)}  # fmt: skip
    assert not [r for r in rows(pair.am) if PLANTED in r.detail]
    metrics = runtime.metrics.requests_refused
    assert metrics.labels("malformed-batch")._value.get() == 20
