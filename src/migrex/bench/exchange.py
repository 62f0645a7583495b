"""`migrex bench exchange`: casework between two real nodes, sealed, over mutual TLS, stored,
receipted, filed; throughput when officers open many cases at once, latency at a steady
offered rate, what was lost, duplicated or filed out of order, and the crypto ceiling.

The two nodes run as separate processes (`migrex serve`, relays and filing clerk inside); this
process plays the officers: Armenia's opens person inquiries and consultations (with findings
queued behind them), Kazakhstan's answers each inquiry from its registries (see
`bench.casework`). Throughput counts every message of those cases, each way, from the first
opening until the last message is filed into its case at the receiver.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import select

from migrex.bench import casework, ceiling
from migrex.bench.twonodes import postgres_databases, two_nodes
from migrex.casework.context import node_context
from migrex.exchange.tables import OutboxMessage, Receipt
from migrex.exchange.trust import load_trust
from migrex.node import Node

DATABASES = ("sqlite", "postgresql")


def latencies_ms(node: Node, case_ids: list[str]) -> list[float]:
    """Outbox to stored receipt, for every message this node sent in these cases."""
    with node.unit_of_work() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.created_at, Receipt.stored_at)
            .join(Receipt, Receipt.message_id == OutboxMessage.message_id)
            .where(OutboxMessage.case_id.in_(case_ids))
        )
        return [(stored - created).total_seconds() * 1000 for created, stored in rows]


def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time (user and system, every thread) used so far by process `pid`, or by this one:
    unlike wall time, it does not grow when other work shares the machine. None where the
    process table cannot be read (not Linux)."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def _paced(am: Node, rate: float, seconds: float, start: int) -> casework.Plan:
    """Inquiries opened at `rate / 2` per second: with their answers, `rate` messages a second."""
    cases = max(1, int(rate / 2 * seconds))
    context = node_context(am)
    plan = casework.Plan()
    began = time.monotonic()
    for n in range(cases):
        delay = began + n / (rate / 2) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        plan.inquiries.append(casework.open_inquiry(am, context, start + n))
    return plan


def _all_filed(nodes: dict[str, Node], plan: casework.Plan) -> Callable[[], bool]:
    """True once every message of `plan` (and of what came before) is filed at its receiver."""
    at_kz = len(plan.inquiries) + (1 + casework.FINDINGS_PER_CONSULTATION) * len(plan.consultations)
    at_am = len(plan.inquiries)

    def check() -> bool:
        return (
            casework.filed_count(nodes["KZ"]) >= at_kz
            and casework.filed_count(nodes["AM"]) >= at_am
        )

    return check


def run(
    messages: int,
    database: str,
    agreement_file: Path,
    *,
    rate: float = 100.0,
    postgres_admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    progress: Callable[[str], None] = lambda _: None,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Runs the benchmark; returns the figures `migrex bench exchange --json` prints."""
    if database not in DATABASES:
        raise ValueError("the database is sqlite or postgresql")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="migrex-bench-")))
        urls = None
        if database == "postgresql":
            kz, am = stack.enter_context(postgres_databases(postgres_admin_url, 2))
            urls = {"KZ": kz, "AM": am}
        agreement = casework.bench_agreement(agreement_file, root / "agreement.toml")
        pair = stack.enter_context(two_nodes(root / "ws", agreement, urls, start=False))
        nodes = pair.nodes
        casework.load_registries(nodes["KZ"], root)

        progress("crypto ceiling: seal, open, receipt, verify in one process")
        trusts = {s: load_trust(n.settings, n.agreements) for s, n in nodes.items()}
        crypto = ceiling.measure(
            trusts["AM"], trusts["KZ"], agreement=casework.AGREEMENT,
            sender_authority=casework.REQUESTER, recipient=casework.ANSWERER,
            body=casework.inquiry_body(0),
        )  # fmt: skip

        for process in pair.processes.values():
            process.start()
        answerer = casework.Answerer(nodes["KZ"]).start()
        stack.callback(answerer.stop)

        inquiries, consultations = casework.cases_for(messages)
        progress(f"throughput: {inquiries} inquiries answered, {consultations} consultations "
                 f"with {casework.FINDINGS_PER_CONSULTATION} findings each")  # fmt: skip
        pids = {s: p.process.pid for s, p in pair.processes.items() if p.process}
        cpu_before = {s: cpu_seconds(pid) for s, pid in pids.items()} | {"bench": cpu_seconds()}
        started = time.monotonic()
        plan = casework.open_cases(nodes["AM"], inquiries, consultations)
        casework.wait_until(_all_filed(nodes, plan), timeout)
        seconds = time.monotonic() - started
        cpu_after = {s: cpu_seconds(pid) for s, pid in pids.items()} | {"bench": cpu_seconds()}
        cpu_ms = {
            state: round((after - before) * 1000 / max(1, plan.messages), 3)
            for state, after in cpu_after.items()
            if after is not None and (before := cpu_before.get(state)) is not None
        }

        steady_seconds = min(10.0, max(2.0, messages / rate))
        progress(f"latency: {rate:g} messages/s offered for {steady_seconds:g}s")
        paced = _paced(nodes["AM"], rate, steady_seconds, start=inquiries + consultations)
        whole = casework.Plan()
        whole.extend(plan)
        whole.extend(paced)
        casework.wait_until(_all_filed(nodes, whole), 120)
        answerer.stop()
        lat = sorted(latencies_ms(nodes["AM"], paced.inquiries)
                     + latencies_ms(nodes["KZ"], paced.inquiries))  # fmt: skip
        tally = casework.tally(nodes)

    msgs_per_s = plan.messages / seconds
    return {
        "messages": plan.messages,
        "cases": len(plan.inquiries) + len(plan.consultations),
        "inquiries_answered": len(plan.inquiries),
        "consultations": len(plan.consultations),
        "seconds": round(seconds, 3),
        "msgs_per_s": round(msgs_per_s, 1),
        # CPU each process spent per message of the throughput run (the officers' use cases
        # run in the benchmark's own process): the figure that load from elsewhere leaves be.
        "cpu_ms_per_msg": cpu_ms,
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p99_ms": round(p99, 1) if (p99 := percentile(lat, 0.99)) is not None else None,
        "latency_messages": len(lat),
        "latency_rate_per_s": rate,
        **tally.as_json(),
        "answer_errors": dict(answerer.errors),
        **crypto,
        "share_of_ceiling": round(
            ceiling.share_of_ceiling(msgs_per_s, crypto["ceiling_msgs_per_s"]), 3
        ),
        "db": database,
    }
