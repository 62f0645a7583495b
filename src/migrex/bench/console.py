"""`migrex bench console`: the officers' console under a realistic load of records — a node
holding `cases` incoming cases and `audit_entries` audit log entries — served in-process as
the officers' listener serves it: the server time of a queue page (50 rows), of the same
queue's table alone (the htmx partial a filter, a sort or a page asks for), and of the front
page with every queue's count; and what the console's own scripts and styles weigh gzipped.
"""

from __future__ import annotations

import asyncio
import gzip
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import Table

from migrex.audit import log as audit_log
from migrex.audit.pending import record
from migrex.bench.audit import bench_leaf
from migrex.bench.twonodes import postgres_databases, two_nodes
from migrex.casework.lifecycle import CaseState, Direction
from migrex.casework.tables import CaseRow
from migrex.db import bulk_insert
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer
from migrex.ui.assets import STATIC
from migrex.web.officers_app import create_officer_app

# A throwaway officer of a throwaway node, made and dropped with the run.
PASSWORD = secrets.token_urlsafe(24)
AGREEMENT = "kz-am-2024"
CHUNK = 10_000


def run(
    cases: int, audit_entries: int, samples: int, database: str, agreement_file: Path,
    *, postgres_admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:  # fmt: skip
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="migrex-console-")))
        urls = None
        if database == "postgresql":
            kz, am = stack.enter_context(postgres_databases(postgres_admin_url, 2))
            urls = {"KZ": kz, "AM": am}
        pair = stack.enter_context(two_nodes(root / "ws", agreement_file, urls, start=False))
        node = pair.nodes["KZ"]
        progress(f"filling the node: {cases} cases, {audit_entries} audit entries")
        _fill(node, cases, audit_entries)
        progress(f"timing {samples} requests of each page")
        timings = asyncio.run(_measure(node, samples))
    return {
        "cases": cases,
        "audit_entries": audit_entries,
        "samples": samples,
        **{f"{name}_p50_ms": _ms(statistics.median(t)) for name, t in timings.items()},
        **{f"{name}_p95_ms": _ms(_p95(t)) for name, t in timings.items()},
        "assets_gzip_kb": _assets_gzip_kb(),
        "db": database,
    }


def _fill(node: Node, cases: int, audit_entries: int) -> None:
    agreement = node.agreements[AGREEMENT]
    categories = sorted(agreement.categories)
    now = datetime.now(UTC)
    # Most in the incoming queue (the page timed), some awaiting the partner's clarification.
    states = (CaseState.DELIVERED, CaseState.IN_REVIEW, CaseState.DELIVERED,
              CaseState.CLARIFICATION_REQUESTED)  # fmt: skip
    table = cast(Table, CaseRow.__table__)
    with node.unit_of_work() as uow:
        add_officer(uow, username="reviewer", display_name="Reviewer", password=PASSWORD,
                    roles=[(Role.REVIEWER, "kz-mia"), (Role.SUPERVISOR, "kz-mia")],
                    actor="bench", hosted_authorities=node.settings.authorities)  # fmt: skip
        for start in range(0, cases, CHUNK):
            rows = [
                {
                    "id": f"bench-{n:08d}", "agreement_id": AGREEMENT,
                    "direction": Direction.INCOMING.value,
                    "category": categories[n % len(categories)], "purpose": None,
                    "our_authority": "kz-mia", "partner_authority": "am-mcs",
                    "state": states[n % len(states)].value, "urgency": "normal",
                    "opened_at": now - timedelta(minutes=n),
                    "due_at": now + timedelta(hours=n % 2000 - 200), "closed_at": None,
                    "opened_by": "partner:am-mcs", "assigned_to": None, "assigned_at": None,
                }
                for n in range(start, min(cases, start + CHUNK))
            ]  # fmt: skip
            bulk_insert(uow.session, table, rows)
        uow.commit()
    for start in range(0, audit_entries, CHUNK):
        with node.unit_of_work() as uow:
            # Through the queue, as every writer of the log: appended when the chunk commits.
            for n in range(start, min(audit_entries, start + CHUNK)):
                record(uow.session, bench_leaf(n, now))
            uow.commit()
    with node.unit_of_work() as uow:
        if audit_log.tree_size(uow.session) < audit_entries:
            raise RuntimeError("the audit log was not filled")


async def _measure(node: Node, samples: int) -> dict[str, list[float]]:
    app = create_officer_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://node") as client:
        signed = await client.post("/ui/sign-in", data={"username": "reviewer",
                                                        "password": PASSWORD})  # fmt: skip
        if signed.status_code != 303:
            raise RuntimeError(f"the benchmark's officer could not sign in ({signed.status_code})")
        pages = {
            "queue_page": ("/ui/queues/incoming", {}),
            "queue_partial": (
                "/ui/queues/incoming?sort=opened&page=2",
                {"HX-Request": "true", "HX-Target": "queue-table"},
            ),
            "front_page": ("/ui/", {}),
        }
        timings: dict[str, list[float]] = {name: [] for name in pages}
        for url, headers in pages.values():  # templates compiled, caches warm
            await client.get(url, headers=headers)
        for _ in range(samples):
            for name, (url, headers) in pages.items():
                started = time.perf_counter()
                response = await client.get(url, headers=headers)
                timings[name].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                if name != "front_page" and response.text.count('name="case" value=') < 50:
                    raise RuntimeError(f"{url} did not show a page of 50 cases")
                if name == "queue_partial" and "<html" in response.text:
                    raise RuntimeError(f"{url} answered a whole page, not the table alone")
    return timings


def _assets_gzip_kb() -> float:
    """The console's own scripts and styles, each gzipped as a server would send it."""
    files = [p for p in STATIC.iterdir() if p.suffix in (".js", ".css")]
    return round(sum(len(gzip.compress(p.read_bytes(), 9)) for p in files) / 1024, 1)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
