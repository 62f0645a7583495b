"""Demo step: both nodes run as separate processes and exchange sealed, receipted messages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.table import Table
from sqlalchemy import select

from migrex.casework.service import OpenRequest, node_context, open_request
from migrex.console import out
from migrex.demo.audit_step import run_audit
from migrex.demo.casework_step import run_casework
from migrex.demo.channels_step import run_channels
from migrex.demo.linkage_step import run_linkage
from migrex.demo.outcome import Delivery, DemoOutcome
from migrex.demo.stats_step import run_statistics
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import NodeProcess
from migrex.exchange.service import SendMessage
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.node import Node
from migrex.settings import load_settings


@dataclass(frozen=True)
class DemoMessage:
    state: str  # the sending node
    command: SendMessage


def demo_messages(workers: dict[int, int]) -> list[DemoMessage]:
    change = (workers[2025] - workers[2024]) / workers[2024] * 100 if workers[2024] else 0.0
    return [
        DemoMessage("KZ", SendMessage(
            "kz-am-2024", "kz-mlsp", "am-mcs", "statistical-information",
            {"subject": "Citizens of Armenia working in Kazakhstan",
             "figures": {str(year): count for year, count in workers.items()},
             "change_percent": round(change, 1)},
            category="statistical",
        )),
        DemoMessage("AM", SendMessage(
            "kz-am-2024", "am-mcs", "kz-mia", "legal-information",
            {"subject": "Amendments to the law on foreigners", "summary": "Registration rules"},
            category="legal",
        )),
        DemoMessage("KZ", SendMessage(
            "kz-am-2024", "kz-mia", "am-police", "methodological-information",
            {"subject": "Method for detecting fictitious invitations"},
            category="methodological",
        )),
    ]  # fmt: skip


def run_exchange(workspace: Workspace, workers: dict[int, int], outcome: DemoOutcome) -> None:
    out.rule("[bold]5. Two nodes exchange sealed messages over mutual TLS")
    nodes = {state: Node(load_settings(workspace.node_config(state))) for state in ("KZ", "AM")}
    processes = {
        state: NodeProcess(
            workspace.node_config(state), node.settings.listen_port,
            workspace.node_dir(state) / "serve.log",
        )
        for state, node in nodes.items()
    }  # fmt: skip
    if workspace.unit_config().exists():
        config = workspace.unit_config()
        port = load_settings(config).listen_port
        processes["linkage unit"] = NodeProcess(config, port, config.parent / "serve.log")
    try:
        for state, process in processes.items():
            process.start()
            out.print(f"node {state} listening on https://127.0.0.1:{process.port} (mTLS)")
        sent = [_send(nodes[m.state], m.command) for m in demo_messages(workers)]
        for state, message_id, command in sent:
            out.print(f"  {state} outbox ← {command.type} {command.sender} → {command.recipient}"
                      f"  [dim]{message_id}[/]")  # fmt: skip
        _wait(nodes, sent)
        outcome.deliveries = [_delivery(nodes, state, message_id, command)
                              for state, message_id, command in sent]  # fmt: skip
        out.print(_table(nodes, sent, outcome.deliveries))
        outcome.cases = run_casework(nodes["KZ"], nodes["AM"], workspace.synth_dir)
        outcome.channels = run_channels(nodes["KZ"], nodes["AM"])
        outcome.linkage = run_linkage(nodes["KZ"], nodes["AM"], workspace.synth_dir)
        outcome.released, outcome.released_change = run_statistics(
            nodes["KZ"], nodes["AM"], workspace.node_dir("AM") / "charts"
        )
        outcome.logs, outcome.tampered_copy_caught = run_audit(
            nodes["KZ"], nodes["AM"], workspace.node_dir("KZ")
        )
    finally:
        for process in processes.values():
            process.stop()
        for node in nodes.values():
            node.close()


def _send(node: Node, command: SendMessage) -> tuple[str, str, SendMessage]:
    """Information leaves as officers send it: screened, opening its case, through the gate."""
    with node.unit_of_work() as uow:
        opened = open_request(uow, node_context(node), OpenRequest(
            command.agreement_id, command.sender, command.recipient, command.type,
            command.body, "demo:officer",
        ), datetime.now(UTC))  # fmt: skip
    return node.settings.state, opened.message_id, command


def _receipt(node: Node, message_id: str) -> Receipt | None:
    with node.unit_of_work() as uow:
        return uow.session.scalars(select(Receipt).where(Receipt.message_id == message_id)).first()


Sent = list[tuple[str, str, SendMessage]]


def _wait(nodes: dict[str, Node], sent: Sent, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_receipt(nodes[state], message_id) for state, message_id, _ in sent):
            return
        time.sleep(0.1)


def _delivery(
    nodes: dict[str, Node], state: str, message_id: str, command: SendMessage
) -> Delivery:
    """Where one sent message stands: the sender's outbox, its receipt, the partner's inbox."""
    partner = "AM" if state == "KZ" else "KZ"
    receipt = _receipt(nodes[state], message_id)
    with nodes[state].unit_of_work() as uow:
        status = uow.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.message_id == message_id)
        ).one()
    with nodes[partner].unit_of_work() as uow:
        stored = uow.session.scalars(
            select(InboxMessage.id).where(InboxMessage.message_id == message_id)
        ).first()
    return Delivery(command.type, command.sender, command.recipient, status,
                    stored is not None, receipt.receiver if receipt else None)  # fmt: skip


def _table(nodes: dict[str, Node], sent: Sent, deliveries: list[Delivery]) -> Table:
    columns = ("type", "from → to", "status", "receipt signed by", "received", "envelope SHA-256")
    table = Table(*columns, title="delivered and receipted")
    for (state, message_id, _), delivery in zip(sent, deliveries, strict=True):
        receipt = _receipt(nodes[state], message_id)
        with nodes[state].unit_of_work() as uow:
            digest = uow.session.scalars(
                select(OutboxMessage.envelope_sha256).where(OutboxMessage.message_id == message_id)
            ).one()
        ok = delivery.stored_by_recipient and delivery.receipt_signed_by == delivery.recipient
        table.add_row(
            delivery.type, f"{delivery.sender} → {delivery.recipient}",
            f"[green]{delivery.status}[/]" if ok else f"[red]{delivery.status}[/]",
            delivery.receipt_signed_by or "—",
            receipt.received_at.strftime("%H:%M:%S") if receipt else "—",
            (digest or "")[:12] + "…",
        )  # fmt: skip
    return table
