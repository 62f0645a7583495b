"""Key rotation under traffic, with the safe default, between nodes running as real processes
(`migrex serve`, mutual TLS on loopback): messages flow both ways while Armenia rotates its
authority's keys; none is refused or lost, the new key takes over once Kazakhstan has
countersigned the new directory, and every old receipt and cosignature still verifies."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from typer.testing import CliRunner

from migrex.audit.tables import AuditCosignature
from migrex.cli import app as cli_app
from migrex.envelope import new_message_id, verify_receipt
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, SecurityEvent
from migrex.exchange.trust import load_trust
from migrex.identity.keystore import FileKeyStore
from migrex.node import Node
from nodes import World

AGREEMENT = "kz-am-2024"
ROUTES = {"KZ": ("kz-mia", "am-mcs"), "AM": ("am-mcs", "kz-mia")}


def _send(node: Node, state: str) -> str:
    sender, recipient = ROUTES[state]
    with node.unit_of_work() as uow:
        return send_message(
            uow,
            SendMessage(AGREEMENT, sender, recipient, "legal-information",
                        {"type": "legal-information", "subject": "s", "summary": "s"},
                        case_id=new_message_id(datetime.now(UTC))),
            agreements=node.agreements, hosted=node.settings.authorities,
            now=datetime.now(UTC),
        )  # fmt: skip


class Traffic:
    """Notices both ways, a few a second each, until stopped; remembers what it sent."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sent: dict[str, list[tuple[str, float]]] = {"KZ": [], "AM": []}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for state in ("KZ", "AM"):
                message_id = _send(self.world.nodes[state], state)
                self.sent[state].append((message_id, time.monotonic()))
            self.stop.wait(0.1)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _wait(what: str, check: object, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _undelivered(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status != "delivered")
        ) or 0  # fmt: skip


def _cosignatures(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditCosignature)) or 0


def _version(node: Node) -> int:
    return load_trust(node.settings, node.agreements).directories[AGREEMENT].version


def _kid_of(token: str) -> str:
    """The key id in a compact JWS's protected header."""
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_rotation_under_traffic_refuses_and_loses_nothing(three_nodes: World) -> None:
    world = three_nodes
    am_keys = FileKeyStore(world.am.settings.resolved_key_dir)
    old = am_keys.current_signing("am-mcs")
    runner = CliRunner(env={"COLUMNS": "200"})
    with Traffic(world) as traffic:
        _wait("traffic both ways", lambda: len(traffic.sent["AM"]) > 15)
        rotated = runner.invoke(cli_app, ["--config", str(world.workspace.node_config("AM")),
                                          "pki", "rotate", "--authority", "am-mcs"])  # fmt: skip
        assert rotated.exit_code == 0, rotated.output
        [new] = [k for k in am_keys.all_keys("am-mcs") if k.pending and k.use.value == "sig"]
        # Armenia signs with its old key until Kazakhstan has countersigned and installed.
        _wait("the new key to take over", lambda: am_keys.current_signing("am-mcs").kid == new.kid)
        activated_at = time.monotonic()
        _wait("traffic after the rotation",
              lambda: sum(t > activated_at + 1 for _, t in traffic.sent["AM"]) > 15)  # fmt: skip
    for state in ("KZ", "AM"):
        _wait(f"{state}'s outbox to drain", lambda s=state: _undelivered(world.nodes[s]) == 0)

    # None refused: no envelope turned away at either door, no delivery that failed first.
    for node in (world.kz, world.am):
        with node.unit_of_work() as uow:
            assert not list(uow.session.scalars(select(SecurityEvent.reason)))
            retried = uow.session.scalars(
                select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))
            ).all()
            assert not retried, retried
    # None lost, none twice: every notice sent is in the partner's inbox once.
    for state, partner in (("KZ", world.am), ("AM", world.kz)):
        ids = [m for m, _ in traffic.sent[state]]
        with partner.unit_of_work() as uow:
            kids = dict(uow.session.execute(
                select(InboxMessage.message_id, InboxMessage.sender_kid)
                .where(InboxMessage.message_id.in_(ids))
            ).all())  # fmt: skip
        assert sorted(kids) == sorted(ids), f"{len(set(ids) - set(kids))} of {state}'s lost"
        if state == "AM":
            # Signed with the old key before the countersignature, the new one after.
            assert kids[ids[0]] == old.kid
            late = [m for m, t in traffic.sent["AM"] if t > activated_at + 1]
            assert late and {kids[m] for m in late} == {new.kid}

    # Both run on the countersigned version; the receipts Armenia signed, before the rotation
    # with its old key and after it with the new one, all verify at Kazakhstan.
    # (version 2 lists the new keys, version 3 the old ones with their end).
    for state in ("KZ", "AM"):
        node = world.nodes[state]
        _wait(f"{state} to install version 3", lambda n=node: _version(n) == 3)
    kz_trust = load_trust(world.kz.settings, world.kz.agreements)
    with world.kz.unit_of_work() as uow:
        receipts = uow.session.execute(
            select(Receipt, OutboxMessage.envelope_sha256)
            .join(OutboxMessage, OutboxMessage.message_id == Receipt.message_id)
            .where(Receipt.receiver == "am-mcs")
        ).all()  # fmt: skip
    signers = set()
    for receipt, digest in receipts:
        verify_receipt(
            receipt.token,
            resolve_signing_key=kz_trust.resolve_signing_key,
            expected_envelope_sha256=digest or "",
            expected_receiver="am-mcs",
        )
        signers.add(_kid_of(receipt.token))
    assert {old.kid, new.kid} <= signers

    # The audit logs, their checkpoints and the partners' cosignatures (made with old and new
    # keys) still verify, once the nodes have stopped adding to them. Witnessing runs on its
    # own interval, so the partners' cosignatures are waited for, not assumed.
    for state in ("KZ", "AM"):
        _wait(f"a cosignature of {state}'s log", lambda s=state: _cosignatures(world.nodes[s]) > 0)
    for process in world.processes.values():
        process.stop()
    for state in ("KZ", "AM"):
        verified = runner.invoke(cli_app, ["--config", str(world.workspace.node_config(state)),
                                           "audit", "verify", "--json"])  # fmt: skip
        assert verified.exit_code == 0, verified.output
        report = json.loads(verified.stdout.strip().splitlines()[-1])
        assert report["ok"] and report["cosignatures"] > 0, report
