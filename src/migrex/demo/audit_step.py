"""Demo step: each node's audit log is witnessed by the other, both logs verify, and a copy of
Kazakhstan's database with one edited log row is caught by verification."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table
from sqlalchemy import func, select

from migrex.audit import log as audit_log
from migrex.audit.log_keys import log_keys
from migrex.audit.tables import AuditCosignature
from migrex.audit.verification import VerifyReport
from migrex.console import out
from migrex.db import make_engine, make_session_factory
from migrex.demo.outcome import LogVerdict
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.witness.jobs import checkpoint_round
from migrex.witness.keys import cosigner_keys
from migrex.witness.node import witnessing_node


def _cosignatures(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditCosignature)) or 0


def _verify(node: Node, database: Node | Path) -> VerifyReport:
    keys = log_keys(node)
    trust = load_trust(node.settings, node.agreements)
    with node.unit_of_work() as uow:  # the partners' keys, as our directories listed them
        witnesses = cosigner_keys(uow.session, trust)
    if isinstance(database, Path):
        engine = make_engine(f"sqlite:///{database}")
        try:
            with make_session_factory(engine)() as session:
                return audit_log.verify(session, keys.verifiers, witnesses)
        finally:
            engine.dispose()
    with node.unit_of_work() as uow:
        return audit_log.verify(uow.session, keys.verifiers, witnesses)


def _witness(nodes: dict[str, Node]) -> None:
    for state, node in nodes.items():
        trust = load_trust(node.settings, node.agreements)
        sent = checkpoint_round(node, trust, witnessing_node(node, trust), datetime.now(UTC))
        out.print(f"  {state} signs its log's checkpoint and sends it to {sent} witness(es)")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(_cosignatures(n) for n in nodes.values()):
        time.sleep(0.2)


def _tampered_copy(kz: Node, folder: Path) -> tuple[Path, int]:
    """A consistent copy of KZ's database (SQLite's online backup), one log row edited."""
    source = kz.engine.url.database or ""
    copy = folder / "kz-tampered.db"
    copy.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        size = dst.execute("SELECT count(*) FROM audit_leaves").fetchone()[0]
        position = size // 2
        # Someone with database access rewrites who acted in one entry.
        dst.execute(
            'UPDATE audit_leaves SET data = CAST(replace(CAST(data AS TEXT), \'"actor":"\','
            ' \'"actor":"x\') AS BLOB) WHERE position = ?',
            (position,),
        )
    return copy, position


def run_audit(kz: Node, am: Node, folder: Path) -> tuple[list[LogVerdict], bool | None]:
    """Witnesses and verifies both logs, then tampers with a copy of KZ's; returns each log's
    verdict and whether the tampering was caught (None on PostgreSQL: the copy is of a SQLite
    file)."""
    out.rule("[bold]10. Proof: logs witnessed by the partner, verified, tampering caught")
    nodes = {"KZ": kz, "AM": am}
    _witness(nodes)
    table = Table("node", "log entries", "checkpoints", "cosignatures", "verification")
    verdicts = []
    for state, node in nodes.items():
        report = _verify(node, node)
        verdicts.append(LogVerdict(state, report.ok, report.size, report.checkpoints,
                                   report.cosignatures))  # fmt: skip
        verdict = "[green]intact[/]" if report.ok else "[red]NOT intact[/]"
        table.add_row(state, f"{report.size:,}", str(report.checkpoints),
                      str(report.cosignatures), verdict)  # fmt: skip
    out.print(table)
    if kz.engine.dialect.name != "sqlite":
        return verdicts, None  # the tamper demonstration copies a SQLite file
    copy, position = _tampered_copy(kz, folder)
    out.print(f"  a copy of KZ's database with log entry {position} edited: [cyan]{copy}[/]")
    report = _verify(kz, copy)
    for problem in report.problems[:3]:
        out.print(f"  [red]{problem.kind}[/] at {problem.position}: {problem.message}",
                  highlight=False)  # fmt: skip
    verdict = "caught" if not report.ok else "[red]NOT caught[/]"
    out.print(f"  verification of the tampered copy: [bold]{verdict}[/]")
    return verdicts, not report.ok
