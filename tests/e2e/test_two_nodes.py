"""Two nodes as real processes on loopback: mutual TLS, delivery both ways, and crashes."""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from migrex.audit.message_kinds import AUDIT_TYPES
from migrex.bench.twonodes import TwoNodes, two_nodes
from migrex.casework.filing import inbox_text
from migrex.casework.service import node_context
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, SecurityEvent
from migrex.identity.pki import (
    create_state_ca,
    issue_node_certificate,
    write_certificates_pem,
    write_private_key_pem,
)
from migrex.identity.tls import client_ssl_context

AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwoNodes]:
    # Short leases and backoffs, so recovery after a crash is quick enough to test.
    monkeypatch.setenv("MIGREX_RELAY_LEASE_SECONDS", "2")
    monkeypatch.setenv("MIGREX_RELAY_BACKOFF_CAP_SECONDS", "1")
    monkeypatch.setenv("MIGREX_RELAY_MAX_ATTEMPTS", "1000")
    with two_nodes(tmp_path / "ws", AGREEMENT_FILE) as pair:
        yield pair


def send_many(
    pair: TwoNodes, state: str, sender: str, recipient: str, *, cases: int, per_case: int
) -> list[str]:
    node = pair.nodes[state]
    ids = []
    for n in range(per_case):
        for case in range(cases):
            with node.unit_of_work() as uow:
                ids.append(
                    send_message(
                        uow,
                        SendMessage(
                            "kz-am-2024",
                            sender,
                            recipient,
                            "notice",
                            {"n": n},
                            f"{state}-case-{case}",
                        ),
                        agreements=node.agreements,
                        hosted=node.settings.authorities,
                        now=datetime.now(UTC),
                    )
                )
    return ids


def receipted(pair: TwoNodes, state: str, ids: list[str]) -> int:
    with pair.nodes[state].unit_of_work() as uow:
        return (
            uow.session.scalar(
                select(func.count()).select_from(Receipt).where(Receipt.message_id.in_(ids))
            )
            or 0
        )


def wait_receipted(pair: TwoNodes, state: str, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while receipted(pair, state, ids) < len(ids):
        assert time.monotonic() < deadline, f"{receipted(pair, state, ids)}/{len(ids)} receipted"
        time.sleep(0.1)


def inbox(pair: TwoNodes, state: str) -> list[tuple[str, str, str]]:
    """The messages the tests sent, bodies opened with the node's own key (the nodes' own
    traffic left out: checkpoints, and the problem reports a bare notice, which no agreement
    defines, earns when the receiver cannot file it)."""
    node = pair.nodes[state]
    with node.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(InboxMessage)
            .where(InboxMessage.type.not_in({*AUDIT_TYPES, "message-problem"}))
            .order_by(InboxMessage.id)
        )
        return [(r.message_id, r.case_id or "", inbox_text(uow, node_context(node), r))
                for r in rows]  # fmt: skip


def test_messages_travel_both_ways_with_receipts(nodes: TwoNodes) -> None:
    to_am = send_many(nodes, "KZ", "kz-mia", "am-mcs", cases=3, per_case=4)
    to_kz = send_many(nodes, "AM", "am-police", "kz-mia", cases=2, per_case=3)
    wait_receipted(nodes, "KZ", to_am, 30)
    wait_receipted(nodes, "AM", to_kz, 30)
    assert sorted(m for m, _, _ in inbox(nodes, "AM")) == sorted(to_am)
    assert sorted(m for m, _, _ in inbox(nodes, "KZ")) == sorted(to_kz)


def _client(nodes: TwoNodes, cert_dir: Path | None) -> httpx.Client:
    """A client that trusts the KZ node's CA and presents the certificate in `cert_dir`."""
    kz_ca = nodes.workspace.node_dir("KZ") / "pki" / "ca.pem"
    if cert_dir is None:
        context = ssl.create_default_context(cafile=str(kz_ca))
    else:
        context = client_ssl_context(cert_dir / "node.pem", cert_dir / "node-key.pem", [kz_ca])
    return httpx.Client(verify=context, timeout=10)


def kz_url(nodes: TwoNodes) -> str:
    return f"https://127.0.0.1:{nodes.processes['KZ'].port}"


def operator_url(nodes: TwoNodes, state: str) -> str:
    return f"http://127.0.0.1:{nodes.nodes[state].settings.operator_listen_port}"


def tls_refusals(nodes: TwoNodes) -> int:
    deadline = time.monotonic() + 5  # the security log is written in the background
    while True:
        with nodes.nodes["KZ"].unit_of_work() as uow:
            count = (
                uow.session.scalar(
                    select(func.count())
                    .select_from(SecurityEvent)
                    .where(SecurityEvent.reason == "tls-handshake")
                )
                or 0
            )
        if count or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def test_a_client_without_a_certificate_is_refused(nodes: TwoNodes) -> None:
    with _client(nodes, None) as client, pytest.raises(httpx.HTTPError):
        client.post(kz_url(nodes) + "/v1/envelopes", json={"envelopes": []})
    assert tls_refusals(nodes) >= 1


def test_a_certificate_from_another_ca_is_refused(nodes: TwoNodes, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    rogue_ca = create_state_ca("AM", now)
    rogue = issue_node_certificate(rogue_ca.certificate, rogue_ca.private_key, "am-node", now=now)
    folder = tmp_path / "rogue"
    folder.mkdir()
    write_certificates_pem(folder / "node.pem", [rogue.certificate])
    write_private_key_pem(folder / "node-key.pem", rogue.private_key)
    with _client(nodes, folder) as client, pytest.raises(httpx.HTTPError):
        client.post(kz_url(nodes) + "/v1/envelopes", json={"envelopes": ["x"]})
    assert inbox(nodes, "KZ") == []
    assert tls_refusals(nodes) >= 1


def test_the_partner_gets_problem_answers_for_bad_requests(nodes: TwoNodes) -> None:
    with _client(nodes, nodes.workspace.node_dir("AM") / "pki") as client:
        garbage = client.post(kz_url(nodes) + "/v1/envelopes", json={"envelopes": ["garbage"]})
        assert garbage.status_code == 200
        [outcome] = garbage.json()["results"]
        assert outcome["status"] == "rejected" and outcome["problem"]["reason"] == "malformed"
        not_json = client.post(kz_url(nodes) + "/v1/envelopes", content=b"{nope")
        assert not_json.status_code == 400
        assert not_json.headers["content-type"] == "application/problem+json"
        huge = client.post(kz_url(nodes) + "/v1/envelopes", content=b"x" * 20_000_000)
        assert huge.status_code == 413
        missing = client.get(kz_url(nodes) + "/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        # What the operator reads is not the partner's to read.
        for page in ("/health", "/metrics", "/docs", "/openapi.json"):
            assert client.get(kz_url(nodes) + page).status_code == 404, page
    operator = operator_url(nodes, "KZ")
    assert httpx.get(operator + "/health").json()["status"] == "ok"
    metrics = httpx.get(operator + "/metrics").text
    assert 'migrex_messages_rejected_total{reason="malformed"} 1.0' in metrics
    # The refused envelope and both refused requests are in the security log, once each.
    deadline = time.monotonic() + 5  # request-level refusals are written in the background
    while True:
        with nodes.nodes["KZ"].unit_of_work() as uow:
            query = select(SecurityEvent.reason, SecurityEvent.count)
            noted = {str(reason): int(count) for reason, count in uow.session.execute(query)}
        if len(noted) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert noted == {"malformed": 1, "malformed-batch": 1, "batch-too-large": 1}
    assert inbox(nodes, "KZ") == []


def test_killing_both_nodes_during_delivery_loses_and_duplicates_nothing(nodes: TwoNodes) -> None:
    """2,000 messages in 20 cases while the receiver and the sender are SIGKILLed and restarted."""
    rng = random.Random(7)
    nodes.processes["KZ"].stop()  # fill the outbox first, so the crashes hit delivery
    ids = send_many(nodes, "KZ", "kz-mia", "am-mcs", cases=20, per_case=100)
    nodes.processes["KZ"].start()
    progress = []
    for victim in ["AM", "KZ", "AM", "AM", "KZ", "AM"]:
        time.sleep(rng.uniform(0.05, 0.4))
        nodes.processes[victim].kill()
        progress.append(receipted(nodes, "KZ", ids))
        time.sleep(rng.uniform(0.05, 0.3))
        nodes.processes[victim].start()
    assert progress[0] < len(ids), "the first crash came after delivery had finished"
    wait_receipted(nodes, "KZ", ids, 180)

    received = inbox(nodes, "AM")
    received_ids = [m for m, _, _ in received]
    assert len(received_ids) == len(set(received_ids)) == len(ids)  # nothing twice
    assert set(received_ids) == set(ids)  # nothing lost
    for case in {c for _, c, _ in received}:  # order kept within each case
        numbers = [int(b.split(":")[1].rstrip("}")) for _, c, b in received if c == case]
        assert numbers == sorted(numbers) == list(range(100)), case
    # Only the test's messages: the node's own traffic (checkpoints to the witness) goes on
    # while the test reads, and one of them may be in flight at that moment.
    with nodes.nodes["KZ"].unit_of_work() as uow:
        statuses = set(uow.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.message_id.in_(ids))
        ))  # fmt: skip
    assert statuses == {"delivered"}
