"""`migrex bench audit`: the durable audit log's append rate, proof latency and verify time.

Appends are timed from the start of the transaction to its commit, leaf objects being built
beforehand, as a use case builds them before it records them. Proofs are timed inside one
open session, the way a request that serves several proofs would ask for them.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from migrex.audit import AuditLeaf, LeafKind, leaf_hash, verify_inclusion
from migrex.audit import log as audit_log
from migrex.audit.tables import AUDIT_TABLES
from migrex.bench.twonodes import postgres_databases
from migrex.console import out, progress_bar
from migrex.db import Base, make_engine, make_session_factory
from migrex.envelope import new_message_id

ORIGIN = "bench.migrex.example/audit"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) as the work goes on."""


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def bench_leaf(n: int, at: datetime) -> AuditLeaf:
    """A realistic leaf: every field filled, hashes where a real one carries hashes."""
    digest = hashlib.sha256(b"bench %d" % n).hexdigest()
    return AuditLeaf(
        kind=LeafKind.MESSAGE_SENT,
        at=at,
        actor="cli:bench",
        authority="kz-mia",
        message_id=new_message_id(),
        envelope_sha256=digest,
        purpose="readmission",
        subject_hash=hashlib.sha256(digest.encode()).hexdigest(),
    )


@contextmanager
def _database(backend: str, admin_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on a fresh database holding the audit tables, removed afterwards."""
    with ExitStack() as stack:
        if backend == "postgresql":
            (url,) = stack.enter_context(postgres_databases(admin_url, 1))
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="migrex-audit-"))
            url = f"sqlite:///{Path(folder) / 'audit.db'}"
        engine = make_engine(url)
        stack.callback(engine.dispose)
        Base.metadata.create_all(engine, tables=AUDIT_TABLES)
        yield make_session_factory(engine)


def _append(sessions: sessionmaker[Session], leaves: list[AuditLeaf]) -> float:
    """Seconds to append `leaves` in one transaction, commit included."""
    started = time.perf_counter()
    with sessions() as session:
        audit_log.append_leaves(session, leaves, datetime.now(UTC))
        session.commit()
    return time.perf_counter() - started


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def _proof_times(session: Session, size: int, samples: int, rng: random.Random) -> list[float]:
    """Seconds per inclusion proof at `size`; each proof is also checked against the signed
    root at that size (untimed), so a fast wrong answer cannot pass."""
    signed = audit_log.checkpoint_at(session, size)
    if signed is None:
        raise AssertionError(f"no checkpoint at {size} leaves to check proofs against")
    times = []
    for _ in range(samples):
        position = rng.randrange(size)
        started = time.perf_counter()
        proof = audit_log.inclusion_proof_for(session, position, size)
        times.append(time.perf_counter() - started)
        leaf = leaf_hash(audit_log.leaf_data(session, position))
        if not verify_inclusion(leaf, position, size, proof, signed.checkpoint.root_hash):
            raise AssertionError(f"the inclusion proof of {position} does not verify")
    return times


def _consistency_times(
    session: Session, size: int, samples: int, rng: random.Random
) -> list[float]:
    """Seconds per consistency proof from a random earlier size to `size`."""
    times = []
    for _ in range(samples):
        old = rng.randrange(1, size + 1)
        started = time.perf_counter()
        audit_log.consistency_proof_between(session, old, size)
        times.append(time.perf_counter() - started)
    return times


def run_audit_bench(
    leaves: int,
    backend: str,
    *,
    batch: int = 1000,
    singles: int = 300,
    samples: int = 200,
    postgres_admin_url: str = POSTGRES_ADMIN_URL,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Append `leaves` in batches, then `singles` one-leaf transactions; time proofs at
    `leaves` and a full verify. Returns the figures `migrex bench audit --json` prints."""
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError("backend is sqlite or postgresql")
    if leaves < 1 or batch < 1:
        raise ValueError("at least one leaf, in batches of at least one")
    key = Ed25519PrivateKey.generate()
    rng = random.Random(9162)
    with _database(backend, postgres_admin_url) as sessions:
        batched_seconds = 0.0
        for start in range(0, leaves, batch):
            now = datetime.now(UTC)
            count = min(batch, leaves - start)
            batched_seconds += _append(sessions, [bench_leaf(start + n, now) for n in range(count)])
            progress("batched appends", start + count, leaves)
        with sessions() as session:
            audit_log.make_checkpoint(session, ORIGIN, ORIGIN, key, datetime.now(UTC))
            session.commit()

        single_seconds = 0.0
        for n in range(singles):
            single_seconds += _append(sessions, [bench_leaf(leaves + n, datetime.now(UTC))])
            progress("single appends", n + 1, singles)

        with sessions() as session:
            inclusion = _proof_times(session, leaves, samples, rng)
            progress("proofs", samples, 2 * samples)
            consistency = _consistency_times(session, leaves, samples, rng)
            progress("proofs", 2 * samples, 2 * samples)
            audit_log.make_checkpoint(session, ORIGIN, ORIGIN, key, datetime.now(UTC))
            session.commit()

        started = time.perf_counter()
        with sessions() as session:
            report = audit_log.verify(
                session,
                [(ORIGIN, key.public_key())],
                on_chunk=lambda done, total: progress("verify", done, total),
                workers=None,  # as `migrex audit verify` does
            )
        verify_seconds = time.perf_counter() - started

    return {
        "leaves": leaves,
        "appends_per_s_batched": round(leaves / batched_seconds, 1),
        "appends_per_s_single": round(singles / single_seconds, 1) if singles else None,
        "inclusion_proof_ms": _median_ms(inclusion),
        "consistency_proof_ms": _median_ms(consistency),
        "verify_ms": round(verify_seconds * 1000, 1),
        "verify_problems": len(report.problems) + report.omitted,
        "checkpoints_verified": report.checkpoints,
        "batch": batch,
        "backend": backend,
    }


def audit_command(
    leaves: Annotated[int, typer.Option(help="leaves appended in batches")] = 100_000,
    backend: Annotated[str, typer.Option(help="sqlite or postgresql")] = "sqlite",
    batch: Annotated[int, typer.Option(help="leaves per transaction")] = 1000,
    singles: Annotated[int, typer.Option(help="one-leaf transactions afterwards")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """The audit log: batched and single appends, proof latency, full verification."""
    if backend not in {"sqlite", "postgresql"}:
        raise typer.BadParameter("backend is sqlite or postgresql")
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        figures = run_audit_bench(leaves, backend, batch=batch, singles=singles, progress=advance)
    if as_json:
        print(json.dumps(figures))
    else:
        out.print_json(data=figures)
