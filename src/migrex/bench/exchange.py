"""`migrex bench exchange`: casework between two real nodes, sealed, over mutual TLS, stored,
receipted, filed; what the machine carries per second, how long an officer's action takes,
the latency at a steady offered rate, what was lost, duplicated or filed out of order, and the
crypto ceiling.

The two nodes run as separate processes (`migrex serve`, relays and filing clerk inside); this
process plays the officers (see `bench.casework`). The run has four phases, and only two are
throughput:

- A, officers (not throughput): Armenia's officers open the person inquiries and the
  consultations with their findings, each through its use case. Every message they write is
  held in the outbox. Reported: p50 and p99 per officer action (`officer_actions`). In reality
  these steps go at a person's pace, one case at a time; timing them as throughput would
  measure how fast one process can type, not what the nodes can carry.
- B, machine (throughput): the held outbox is released at once; timed from the release until
  the last message is filed into its case at Kazakhstan's node: relay (seal, post over mutual
  TLS), receiver (open, verify, seal at the door, inbox, audit log, signed receipt), receipt
  verified and stored, filing clerk (Article 11 gates, screening, ledger, case copy, case move).
- C, officers (not throughput): Kazakhstan's reviewers take every filed inquiry into review
  and answer it from the registries (answers held). Reported per action like A.
- D, machine (throughput): the answers released and carried to Armenia's node as in B, timed
  until the last one is filed.

`msgs_per_s` = messages carried in B and D / (B's time + D's time); `cpu_ms_per_msg` is the CPU
each node process spent in B and D per message carried (the figure that load from elsewhere on
the machine leaves be), and on PostgreSQL the server's for the node processes' backends;
`cpu_bound_msgs_per_s` is what the machine's cores could carry at that CPU per message. Then a
paced run: inquiries opened and held as in A, released one at a time at `rate` per second;
`p50_ms`/`p99_ms` are from each message's release to its being filed at the receiver (seen by
polling the receiver's database every few milliseconds). Last, the application-level tally
over every message of the run (`bench.casework.tally`) and the crypto ceiling with the share of
it reached.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from migrex.bench import casework, ceiling
from migrex.bench.casework import OfficerTimes, percentile
from migrex.bench.twonodes import NODE_APPLICATION, TwoNodes, postgres_databases, two_nodes
from migrex.casework.context import node_context
from migrex.exchange.trust import load_trust

DATABASES = ("sqlite", "postgresql")
PHASE_POLL_SECONDS = 0.01
PACED_POLL_SECONDS = 0.005


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


@dataclass(frozen=True)
class Carried:
    """One machine phase: messages released at once and filed at the receiver."""

    messages: int
    seconds: float
    cpu_seconds: dict[str, float]  # per node process

    def as_json(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "msgs_per_s": round(self.messages / self.seconds, 1) if self.seconds else None,
            "cpu_ms_per_msg": _per_message(self.cpu_seconds, self.messages),
        }


def _per_message(cpu: dict[str, float], messages: int) -> dict[str, float]:
    return {state: round(s * 1000 / max(1, messages), 3) for state, s in cpu.items()}


@dataclass(frozen=True)
class CpuMeter:
    """Reads the CPU time of each node process and, on PostgreSQL, of the server's backends
    serving the nodes' databases: the server shares the machine's cores with the nodes, so
    what it spends per message bounds the throughput as theirs does."""

    pair: TwoNodes
    server_pids: Callable[[], list[int]] | None = None

    def read(self) -> dict[str, float]:
        seconds = {s: cpu_seconds(p.process.pid) if p.process else None
                   for s, p in self.pair.processes.items()}  # fmt: skip
        for pid in self.server_pids() if self.server_pids else []:
            seconds[f"{SERVER}:{pid}"] = cpu_seconds(pid)
        return {key: value for key, value in seconds.items() if value is not None}

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds per node process, and the server's backends summed as `SERVER`. A
        backend that started meanwhile counts whole; one that ended meanwhile is missed."""
        spent: dict[str, float] = {}
        for key, value in after.items():
            if key.startswith(f"{SERVER}:"):
                spent[SERVER] = spent.get(SERVER, 0.0) + value - before.get(key, 0.0)
            elif key in before:
                spent[key] = value - before[key]
        return spent


SERVER = "postgresql"


def backend_pids(admin_url: str, database_urls: list[str]) -> Callable[[], list[int]]:
    """The process ids of the server's backends now serving the node processes on these
    databases (not this process's own, which polls them)."""
    names = [sa.make_url(url).database for url in database_urls]
    admin = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    query = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names) AND application_name = :app"
    )

    def pids() -> list[int]:
        with admin.connect() as connection:
            found = connection.scalars(query, {"names": names, "app": NODE_APPLICATION})
            return [int(pid) for pid in found]

    return pids


def carry(meter: CpuMeter, sender: str, receiver: str, messages: int, timeout: float) -> Carried:
    """Releases `sender`'s held outbox and waits until `messages` more are filed at
    `receiver`: the time and each process's CPU in between."""
    pair = meter.pair
    first_row = casework.last_row(pair.nodes[receiver])
    before = meter.read()
    started = time.monotonic()
    casework.release(pair.nodes[sender])
    done = casework.wait_until(
        lambda: casework.filed_count(pair.nodes[receiver], first_row) >= messages,
        timeout, poll=PHASE_POLL_SECONDS,
    )  # fmt: skip
    seconds = time.monotonic() - started
    after = meter.read()
    if not done:
        raise TimeoutError(f"{receiver} did not file {messages} messages in {timeout:g}s")
    return Carried(messages, seconds, CpuMeter.spent(before, after))


def paced(
    meter: CpuMeter, rate: float, count: int, start: int, timeout: float
) -> tuple[list[float], dict[str, float]]:
    """`count` inquiries opened and held, then released one by one at `rate` a second; the
    milliseconds from each release to the message filed at Kazakhstan's node, sorted, and
    each process's CPU seconds from the first release to the last filing."""
    pair = meter.pair
    am, kz = pair.nodes["AM"], pair.nodes["KZ"]
    context = node_context(am)
    cases = [casework.open_inquiry(am, context, start + n) for n in range(count)]
    ids = casework.sent_ids(am, cases)
    filed: dict[str, float] = {}
    last = max((i for i, _ in casework.filed_ids(kz)), default=0)
    stop = threading.Event()

    def watch() -> None:
        nonlocal last
        while not stop.is_set():
            for row_id, message_id in casework.filed_ids(kz, after=last):
                filed.setdefault(message_id, time.monotonic())
                last = row_id
            stop.wait(PACED_POLL_SECONDS)

    watcher = threading.Thread(target=watch, name="bench-filed-watch", daemon=True)
    watcher.start()
    released: dict[str, float] = {}
    before = meter.read()
    began = time.monotonic()
    try:
        for n, message_id in enumerate(ids):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            casework.release(am, [message_id])
            released[message_id] = time.monotonic()
        casework.wait_until(lambda: len(filed) >= len(ids), timeout, poll=PHASE_POLL_SECONDS)
    finally:
        stop.set()
        watcher.join(timeout=5)
    cpu = CpuMeter.spent(before, meter.read())
    return sorted((filed[m] - t) * 1000 for m, t in released.items() if m in filed), cpu


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
        meter = CpuMeter(pair, backend_pids(postgres_admin_url, list(urls.values())) if urls
                         else None)  # fmt: skip
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
        officers = OfficerTimes()

        inquiries, consultations = casework.cases_for(messages)
        findings = casework.FINDINGS_PER_CONSULTATION
        progress(f"A, officers: {inquiries} inquiries, {consultations} consultations with "
                 f"{findings} findings each (held in the outbox)")  # fmt: skip
        plan = casework.open_cases(nodes["AM"], inquiries, consultations, times=officers)
        to_kz = len(plan.inquiries) + (1 + casework.FINDINGS_PER_CONSULTATION) * len(
            plan.consultations
        )
        progress(f"B, machine: {to_kz} messages released, carried and filed at KZ")
        b = carry(meter, "AM", "KZ", to_kz, timeout)

        progress("C, officers: every filed inquiry taken into review and answered")
        answered, answer_errors = casework.answer_inquiries(nodes["KZ"], officers)
        progress(f"D, machine: {answered} answers released, carried and filed at AM")
        d = carry(meter, "KZ", "AM", answered, timeout)

        count = max(1, int(rate * min(5.0, max(2.0, messages / rate))))
        progress(f"latency: {count} inquiries released at {rate:g} messages/s")
        latencies, paced_cpu = paced(meter, rate, count, inquiries + consultations, timeout=120)
        tally = casework.tally(nodes)

    carried = b.messages + d.messages
    seconds = b.seconds + d.seconds
    msgs_per_s = carried / seconds
    cpu: Counter[str] = Counter()
    for phase in (b, d):
        cpu.update(phase.cpu_seconds)
    return {
        "messages": carried,
        "cases": len(plan.inquiries) + len(plan.consultations),
        "inquiries_answered": answered,
        "consultations": len(plan.consultations),
        "seconds": round(seconds, 3),
        "msgs_per_s": round(msgs_per_s, 1),
        # CPU each node process (and on PostgreSQL the server, for both nodes' databases)
        # spent per message carried in B and D; with the cores, what bounds `msgs_per_s`.
        "cpu_ms_per_msg": _per_message(dict(cpu), carried),
        "cpu_bound_msgs_per_s": _cpu_bound(dict(cpu), carried),
        "phases": {"B_am_to_kz": b.as_json(), "D_kz_to_am": d.as_json()},
        # The officers' use cases, one unit of work each (A and C): latency, not throughput.
        "officer_actions": officers.as_json(),
        "p50_ms": _round(percentile(latencies, 0.5)),
        "p99_ms": _round(percentile(latencies, 0.99)),
        "latency_messages": len(latencies),
        "latency_rate_per_s": rate,
        # CPU per message of the paced run: one message per relay round and filing round
        # costs more than a backlog filed in batches.
        "latency_cpu_ms_per_msg": _per_message(paced_cpu, len(latencies)),
        **tally.as_json(),
        "answer_errors": dict(answer_errors),
        **crypto,
        "share_of_ceiling": round(
            ceiling.share_of_ceiling(msgs_per_s, crypto["ceiling_msgs_per_s"]), 3
        ),
        "db": database,
    }


def _cpu_bound(cpu: dict[str, float], messages: int) -> float | None:
    """Messages a second the machine's cores could carry at the CPU the processes spent per
    message (nodes and database server; not the benchmark's own polling)."""
    spent, cores = sum(cpu.values()), os.cpu_count() or 1
    return round(cores * messages / spent, 1) if spent else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
