"""Three nodes as real processes on loopback, with mutual TLS: KZ talks to AM under
kz-am-2024 and to KG under the hypothetical kz-kg-example; AM and KG know only KZ."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from migrex.envelope import verify_receipt
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.identity.tls import client_ssl_context
from nodes import World


def _receipt(world: World, message_id: str, timeout: float = 30) -> Receipt:
    deadline = time.monotonic() + timeout
    while True:
        with world.kz.unit_of_work() as uow:
            found = uow.session.scalars(
                select(Receipt).where(Receipt.message_id == message_id)
            ).first()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"{message_id} was not receipted in {timeout}s"
        time.sleep(0.1)


def _inbox(world: World, state: str) -> list[tuple[str, str, str]]:
    with world.nodes[state].unit_of_work() as uow:
        rows = uow.session.execute(
            select(InboxMessage.message_id, InboxMessage.agreement_id, InboxMessage.sender).where(
                InboxMessage.type == "legal-information"
            )
        )
        return [(m, a, s) for m, a, s in rows]


def _post_as(world: World, state: str, to: str, envelope: str) -> dict[str, object]:
    """Posts over HTTPS with `state`'s own node certificate, as its relay would."""
    pki: Path = world.workspace.node_dir(state) / "pki"
    context = client_ssl_context(
        pki / "node.pem", pki / "node-key.pem", [pki / "trust-anchors.pem"]
    )
    with httpx.Client(verify=context, timeout=10) as client:
        answer = client.post(world.endpoint(to) + "/v1/envelopes", json={"envelopes": [envelope]})
    answer.raise_for_status()
    [outcome] = answer.json()["results"]
    return dict(outcome)


def test_kz_delivers_to_kg_under_the_kz_kg_agreement(three_nodes: World) -> None:
    world = three_nodes
    with world.kz.unit_of_work() as uow:
        message_id = send_message(
            uow,
            SendMessage("kz-kg-example", "kz-mia", "kg-mvd", "legal-information",
                        {"subject": "Amendments to the law on foreigners"}, category="legal"),
            agreements=world.kz.agreements, hosted=world.kz.settings.authorities,
            now=datetime.now(UTC),
        )  # fmt: skip
    receipt = _receipt(world, message_id)
    with world.kz.unit_of_work() as uow:
        outbox = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()
        assert outbox.status == "delivered"
        verified = verify_receipt(
            receipt.token,
            resolve_signing_key=world.trusts["KZ"].resolve_signing_key,
            expected_envelope_sha256=outbox.envelope_sha256 or "",
            expected_receiver="kg-mvd",
        )
    assert verified.message_id == message_id
    assert _inbox(world, "KG") == [(message_id, "kz-kg-example", "kz-mia")]
    assert _inbox(world, "AM") == []


def test_am_posting_under_its_own_agreement_is_accepted(three_nodes: World) -> None:
    """The control for the test below: same sender, certificate and route, its own agreement."""
    envelope = three_nodes.envelope("AM", "am-mcs", "kz-mia", "kz-am-2024")
    outcome = _post_as(three_nodes, "AM", "KZ", envelope)
    assert outcome["status"] == "accepted", outcome
    assert [a for _, a, _ in _inbox(three_nodes, "KZ")] == ["kz-am-2024"]


def test_am_cannot_post_under_the_kz_kg_agreement(three_nodes: World) -> None:
    """am-mcs signs with its real key, over AM's real TLS certificate, but names kz-kg-example,
    to which Armenia is no party: KZ must refuse it at the door."""
    envelope = three_nodes.envelope(
        "AM", "am-mcs", "kz-mia", "kz-kg-example", sealed_under="kz-am-2024"
    )
    outcome = _post_as(three_nodes, "AM", "KZ", envelope)
    assert outcome["status"] == "rejected", outcome
    assert _inbox(three_nodes, "KZ") == []


def test_am_and_kg_share_no_agreement_and_refuse_each_others_certificates(
    three_nodes: World,
) -> None:
    """Each node trusts the CAs of the states it has an agreement with, and no others."""
    envelope = three_nodes.envelope("KG", "kg-mvd", "kz-mia", "kz-kg-example")

    def post(client: str, server: str) -> httpx.Response:
        pki = three_nodes.workspace.node_dir(client) / "pki"
        # The client trusts the server's CA here, so only the server's check is tried.
        server_ca = three_nodes.workspace.node_dir(server) / "pki" / "ca.pem"
        context = client_ssl_context(pki / "node.pem", pki / "node-key.pem", [server_ca])
        with httpx.Client(verify=context, timeout=10) as http:
            url = three_nodes.endpoint(server) + "/v1/envelopes"
            return http.post(url, json={"envelopes": [envelope]})

    for client, server in (("KG", "AM"), ("AM", "KG")):
        with pytest.raises(httpx.HTTPError):
            post(client, server)
    assert _inbox(three_nodes, "AM") == [] and _inbox(three_nodes, "KG") == []
    # The control: the same client code, to a node that trusts KG, gets through.
    assert post("KG", "KZ").json()["results"][0]["status"] == "accepted"
