"""`migrex bench exchange`: messages between two real nodes, sealed, over mutual TLS, stored,
receipted; throughput when the outbox is full, latency at a steady rate, losses, duplicates."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.bench.twonodes import AGREEMENT, postgres_databases, two_nodes
from migrex.db import in_list
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, receipts_table
from migrex.node import Node


@dataclass(frozen=True)
class Sent:
    message_ids: list[str]


def send(node: Node, count: int, tag: str, per_transaction: int = 100) -> list[str]:
    """Puts `count` messages in the node's outbox, each opening its own case: legal
    information, a kind the agreement defines, so the partner files each one (a case opened
    and filed, its audit entries) as it would an officer's."""
    ids: list[str] = []
    while len(ids) < count:
        now = datetime.now(UTC)
        with node.unit_of_work() as uow:
            for _ in range(min(per_transaction, count - len(ids))):
                message_id = new_message_id(now)
                enqueue(
                    uow.session,
                    OutgoingMessage(
                        message_id=message_id, agreement_id=AGREEMENT, sender="kz-mia",
                        recipient="am-mcs", type="legal-information",
                        body={"subject": f"bench {tag} {len(ids)}"}, issued_at=now,
                        expires_at=now + timedelta(days=1), case_id=message_id,
                    ),
                    now,
                )  # fmt: skip
                ids.append(message_id)
            uow.commit()
    return ids


def wait_delivered(node: Node, ids: list[str], timeout: float) -> None:
    """Returns once every message has its receipt, or at `timeout`.

    Each look asks only about the oldest messages still unreceipted, so watching costs the
    nodes' shared CPUs little: the benchmark must measure the nodes, not itself.
    """
    remaining = list(ids)
    column = receipts_table.c.message_id
    query = select(column).where(in_list(column, "ids", node.engine.dialect.name))
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        watched = remaining[:100]
        with node.unit_of_work() as uow:
            receipted = set(uow.session.scalars(query, {"ids": watched}))
        remaining = [message_id for message_id in remaining if message_id not in receipted]
        if len(receipted) < len(watched):
            time.sleep(0.02)


def latencies_ms(node: Node, ids: list[str]) -> list[float]:
    with node.unit_of_work() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.created_at, Receipt.stored_at)
            .join(Receipt, Receipt.message_id == OutboxMessage.message_id)
            .where(OutboxMessage.message_id.in_(ids))
        )
        return [(stored - created).total_seconds() * 1000 for created, stored in rows]


def losses(receiver: Node, ids: list[str]) -> tuple[int, int]:
    """(lost, duplicated) among `ids` at the receiving node.

    Lost: no inbox row, or never logged as received. Duplicated: logged as received more than
    once, i.e. processed again. Counted from the audit log rather than the inbox, whose unique
    message id could never show a message twice.
    """
    with receiver.unit_of_work() as uow:
        stored = set(
            uow.session.scalars(
                select(InboxMessage.message_id).where(InboxMessage.message_id.in_(ids))
            )
        )
        processed = Counter(
            uow.session.scalars(
                select(AuditLeafRow.message_id).where(
                    AuditLeafRow.kind == LeafKind.MESSAGE_RECEIVED,
                    AuditLeafRow.message_id.in_(ids),
                )
            )
        )
    lost = sum(
        1 for message_id in set(ids) if message_id not in stored or not processed[message_id]
    )
    return lost, sum(count - 1 for count in processed.values() if count > 1)


def run(
    messages: int,
    backend: str,
    agreement_file: Path,
    *,
    rate: float = 100.0,
    postgres_admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="migrex-bench-")))
        urls = None
        if backend == "postgresql":
            kz, am = stack.enter_context(postgres_databases(postgres_admin_url, 2))
            urls = {"KZ": kz, "AM": am}
        pair = stack.enter_context(two_nodes(root / "ws", agreement_file, urls))
        kz_node = pair.nodes["KZ"]

        progress(f"throughput: {messages} messages")
        started = time.monotonic()
        bulk = send(kz_node, messages, "throughput")
        wait_delivered(kz_node, bulk, timeout=600)
        seconds = time.monotonic() - started

        steady = max(1, int(rate * min(10.0, max(2.0, messages / rate))))
        progress(f"latency: {steady} messages at {rate:g}/s")
        paced: list[str] = []
        start = time.monotonic()
        for n in range(steady):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            paced += send(kz_node, 1, "latency")
        wait_delivered(kz_node, paced, timeout=120)
        lat = sorted(latencies_ms(kz_node, paced))

        lost, duplicates = losses(pair.nodes["AM"], bulk + paced)
        return {
            "messages": messages,
            "seconds": round(seconds, 3),
            "msgs_per_s": round(messages / seconds, 1),
            "p50_ms": round(statistics.median(lat), 1) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
            "latency_messages": len(paced),
            "latency_rate_per_s": rate,
            "lost": lost,
            "duplicates": duplicates,
            "backend": backend,
        }
