"""Restore and resume: a node restored from an old backup declares the recovery of its audit
log, signed; its partner's witness records it and takes the new branch, and the exchange goes
on both ways. Without the declaration the witness refuses the restored log as a rollback; the
original node, started again beside its restored copy, learns that the witness refuses it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from structlog.testing import capture_logs
from typer.testing import CliRunner
from witness_steps import DirectHeadsClient, cosigned, verify_alone

from backup_steps import (
    fresh_database,
    fresh_settings,
    operator_key,
    restore,
    restored_node,
    take_backup,
    traffic,
)
from casework_steps import context, deliver, now
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.log_keys import log_keys
from migrex.audit.message_kinds import CHECKPOINT
from migrex.audit.tables import AuditLeafRow, AuditRecovery, AuditWitnessed
from migrex.casework.service import file_inbox
from migrex.cli import app
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.node import Node
from migrex.web.operator_app import create_operator_app
from migrex.witness.jobs import checkpoint_round
from migrex.witness.node import witnessing_node
from migrex.witness.rounds import file_audit_messages
from migrex.witness.sending import RESHOW_WITHIN
from migrex.witness.tables import PartnerRecovery
from migrex.witness.with_partner import verify_with_partners
from nodes import Pair

RECOVERY = str(LeafKind.RECOVERY)


def _round(pair: Pair, state: str) -> None:
    node, trust = (pair.kz, pair.kz_trust) if state == "KZ" else (pair.am, pair.am_trust)
    partner, partner_trust = (pair.am, pair.am_trust) if state == "KZ" else (pair.kz, pair.kz_trust)
    witnessing = witnessing_node(node, trust)
    with node.unit_of_work() as uow:
        file_inbox(uow, context(node), now())
    with node.unit_of_work() as uow:
        file_audit_messages(uow, witnessing, now())
    checkpoint_round(node, trust, witnessing, now(), DirectHeadsClient(partner, partner_trust))


def _rounds(pair: Pair, count: int = 3) -> None:
    for _ in range(count):
        _round(pair, "KZ")
        deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
        _round(pair, "AM")
        deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def _witnessed_by_kz(pair: Pair) -> int:
    origin = witnessing_node(pair.am, pair.am_trust).signer.origin
    with pair.kz.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.max(AuditWitnessed.size))
                                      .where(AuditWitnessed.origin == origin)) or 0)  # fmt: skip


def _events(node: object, reason: str) -> list[SecurityEvent]:
    with node.unit_of_work() as uow:  # type: ignore[attr-defined]
        return list(
            uow.session.scalars(select(SecurityEvent).where(SecurityEvent.reason == reason))
        )


@dataclass
class Restored:
    pair: Pair
    backup_size: int
    lost_size: int


@pytest.fixture
def restored(pair: Pair, tmp_path: Path, database_url: str) -> Iterator[Restored]:
    """Armenia's node backed up, then more traffic that Kazakhstan witnesses, then Armenia
    restored from the backup into a fresh database and key folder."""
    traffic(pair)
    _rounds(pair)
    private, public = operator_key(tmp_path)
    backup = tmp_path / "am.backup"
    backup_size = take_backup(pair.am, backup, public)
    traffic(pair)
    traffic(pair)
    _rounds(pair)
    lost_size = _witnessed_by_kz(pair)
    assert lost_size > backup_size + 1  # the partner witnessed a head the backup lacks
    with fresh_database(database_url, tmp_path) as url:
        settings = fresh_settings(pair.am, url, tmp_path / "restored")
        restore(settings, backup, private)
        am, am_trust = restored_node(settings)
        try:
            yield Restored(Pair(pair.kz, am, pair.kz_trust, am_trust), backup_size, lost_size)
        finally:
            am.close()


def _status_json(node: Node) -> list[dict[str, Any]]:
    """`migrex witness status --json` at `node`."""
    env = {"MIGREX_DATABASE_URL": node.settings.resolved_database_url,
           "MIGREX_KEY_DIR": str(node.settings.resolved_key_dir)}  # fmt: skip
    config = str(node.settings.data_dir.parent / "node.toml")
    shown = CliRunner().invoke(app, ["--config", config, "witness", "status", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    status: list[dict[str, Any]] = json.loads(shown.stdout)
    return status


def _status_text(node: Node) -> str:
    """`migrex witness status` at `node`."""
    env = {"MIGREX_DATABASE_URL": node.settings.resolved_database_url,
           "MIGREX_KEY_DIR": str(node.settings.resolved_key_dir)}  # fmt: skip
    config = str(node.settings.data_dir.parent / "node.toml")
    shown = CliRunner().invoke(app, ["--config", config, "witness", "status"], env=env)
    assert shown.exit_code == 0, shown.output
    return shown.output


def test_restore_and_resume_with_a_declared_recovery(restored: Restored) -> None:
    pair = restored.pair
    am_origin = witnessing_node(pair.am, pair.am_trust).signer.origin
    _rounds(pair)  # the restored node starts: it declares the recovery with its checkpoint
    # Kazakhstan's witness recorded the recovery, visibly, and took the new branch.
    with pair.kz.unit_of_work() as uow:
        [recovery] = uow.session.scalars(select(PartnerRecovery)).all()
        kz_leaves = [AuditLeaf.decode(bytes(d)) for d in uow.session.scalars(
            select(AuditLeafRow.data).where(AuditLeafRow.kind == RECOVERY))]  # fmt: skip
    assert recovery.origin == am_origin
    assert recovery.restored_size == restored.backup_size
    assert recovery.abandoned_size == restored.lost_size
    [event] = _events(pair.kz, "recovery-declared")
    assert str(restored.lost_size) in event.detail
    assert [leaf.actor for leaf in kz_leaves] == ["witness"]
    assert not _events(pair.kz, "split-view")
    # Our log holds the recovery entry, stating the restored head and what the witness held.
    with pair.am.unit_of_work() as uow:
        [ours] = [AuditLeaf.decode(bytes(d)) for d in uow.session.scalars(
            select(AuditLeafRow.data).where(AuditLeafRow.kind == RECOVERY))]  # fmt: skip
    assert ours.reference is not None
    assert f"restored:{restored.backup_size}:" in ours.reference
    held = int(ours.reference.rsplit(":", 1)[1])
    assert held >= restored.lost_size  # its checkpoint, or a later head a receipt stated
    assert recovery.heads_set_aside >= (held > restored.lost_size)
    # The exchange resumes both ways, and both logs go on being cosigned.
    first = cosigned(pair.am)[-1][0]
    traffic(pair)
    _rounds(pair)
    assert cosigned(pair.am)[-1][0] > first
    assert _witnessed_by_kz(pair) == cosigned(pair.am)[-1][0]
    kz_cosigned = cosigned(pair.kz)[-1][0]
    traffic(pair)
    _rounds(pair)
    assert cosigned(pair.kz)[-1][0] > kz_cosigned
    # The restored log verifies, alone and against what Kazakhstan holds of it.
    assert verify_alone(pair.am, pair.am_trust).ok
    client = DirectHeadsClient(pair.kz, pair.kz_trust)
    with pair.am.unit_of_work() as uow:
        report, _ = verify_with_partners(uow.session, pair.am_trust,
                                         witnessing_node(pair.am, pair.am_trust),
                                         log_keys(pair.am), client, now=now())  # fmt: skip
    assert report.ok, report.problems
    # The operator sees the declared recovery on both nodes.
    for node in (pair.am, pair.kz):
        config = node.settings.data_dir.parent / "node.toml"
        overrides = ["--config", str(config)]
        env = {"MIGREX_DATABASE_URL": node.settings.resolved_database_url,
               "MIGREX_KEY_DIR": str(node.settings.resolved_key_dir)}  # fmt: skip
        shown = CliRunner().invoke(app, [*overrides, "witness", "status"], env=env)
        assert shown.exit_code == 0, shown.output
        assert "recovery declared" in " ".join(shown.output.split())
    verified = CliRunner().invoke(app, ["--config", str(pair.am.settings.data_dir.parent /
                                                         "node.toml"), "audit", "verify",
                                        "--json"], env={
        "MIGREX_DATABASE_URL": pair.am.settings.resolved_database_url,
        "MIGREX_KEY_DIR": str(pair.am.settings.resolved_key_dir)})  # fmt: skip
    assert [r["actor"] for r in json.loads(verified.stdout)["recoveries"]] == ["administrator"]


def test_witness_status_as_json_shows_the_recovery_on_both_sides(restored: Restored) -> None:
    pair = restored.pair
    _rounds(pair)  # the restored node declares its recovery
    with pair.kz.unit_of_work() as uow:
        [recovery] = uow.session.scalars(select(PartnerRecovery)).all()
    [am_ours, am_theirs] = _status_json(pair.am)
    assert am_ours["log"] == "ours" and am_ours["witness"] in pair.kz.settings.authorities
    assert am_ours["cosigned_size"] == cosigned(pair.am)[-1][0]
    [declared] = am_ours["recoveries"]
    assert declared["restored_size"] == restored.backup_size
    assert declared["held_size"] >= restored.lost_size
    assert "T" in declared["declared_at"]
    assert (am_ours["awaiting_cosignature"], am_ours["undeclared"]) == (False, 0)
    kz_origin = witnessing_node(pair.kz, pair.kz_trust).signer.origin
    assert (am_theirs["log"], am_theirs["origin"]) == ("theirs", kz_origin)
    with pair.am.unit_of_work() as uow:
        witnessed = uow.session.scalar(select(func.max(AuditWitnessed.size))
                                       .where(AuditWitnessed.origin == kz_origin))  # fmt: skip
    assert am_theirs["cosigned_size"] == witnessed
    assert am_theirs["recoveries"] == []
    [kz_ours, kz_theirs] = _status_json(pair.kz)
    assert (kz_ours["log"], kz_ours["witness"]) == ("ours", recovery.authority)
    assert kz_ours["recoveries"] == [] and kz_ours["cosigned_size"] == cosigned(pair.kz)[-1][0]
    am_origin = witnessing_node(pair.am, pair.am_trust).signer.origin
    assert (kz_theirs["origin"], kz_theirs["cosigned_size"]) == (am_origin, _witnessed_by_kz(pair))
    [accepted] = kz_theirs["recoveries"]
    assert (accepted["authority"], accepted["heads_set_aside"]) == (
        recovery.authority, recovery.heads_set_aside,
    )  # fmt: skip
    assert accepted["restored_size"] == restored.backup_size
    assert accepted["abandoned_size"] == restored.lost_size
    assert datetime.fromisoformat(accepted["recorded_at"]) == recovery.recorded_at


def test_without_the_declaration_the_partner_refuses_the_restored_log(
    restored: Restored,
) -> None:
    pair = restored.pair
    # As before recoveries existed: a restore that declares nothing.
    with pair.am.unit_of_work() as uow:
        uow.session.execute(delete(AuditRecovery))
        uow.commit()
    _rounds(pair)
    with pair.kz.unit_of_work() as uow:
        statuses = set(uow.session.scalars(
            select(InboxMessage.status).where(
                InboxMessage.sender == "am-police", InboxMessage.type == "audit-checkpoint"
            )))  # fmt: skip
    refused = _events(pair.kz, "split-view") + _events(pair.kz, "audit-refused")
    assert refused and statuses & {"split-view", "refused"}, statuses
    assert _witnessed_by_kz(pair) == restored.lost_size  # the new branch is never cosigned
    with pair.kz.unit_of_work() as uow:
        assert not uow.session.scalars(select(PartnerRecovery)).all()


@pytest.mark.parametrize(
    ("restored_grew", "witness_said"),
    [(True, "refused"), (False, "split-view")],
    ids=["older", "forked"],
)
def test_a_stale_copy_of_a_restored_node_learns_that_the_witness_refuses_its_log(
    pair: Pair, restored: Restored, restored_grew: bool, witness_said: str
) -> None:
    """The original node, started again on its old database after its restored copy took
    over, shows the witness its lost branch: a rollback when the restored branch is longer,
    a fork otherwise. The witness refuses it, as before, and now answers so."""
    stale = pair  # Armenia's original node, with its original database
    # The original node had the witness's answer to its last checkpoint before it stopped.
    _round(stale, "KZ")
    deliver(stale.kz, stale.kz_trust, stale.am, stale.am_trust)
    _round(stale, "AM")
    # The restored node takes over: it declares its recovery, the witness takes its branch.
    _rounds(restored.pair)
    for _ in range(4 if restored_grew else 0):
        traffic(restored.pair)
    _rounds(restored.pair)
    assert _events(stale.kz, "recovery-declared")
    # The original node is started again: its log grows on the lost branch, and it shows it.
    traffic(stale)
    with capture_logs() as logs:
        for _ in range(3):
            _round(stale, "AM")
            deliver(stale.am, stale.am_trust, stale.kz, stale.kz_trust)
            _round(stale, "KZ")
            deliver(stale.kz, stale.kz_trust, stale.am, stale.am_trust)
            _round(stale, "AM")
    with stale.kz.unit_of_work() as uow:
        statuses = set(uow.session.scalars(select(InboxMessage.status).where(
            InboxMessage.sender == "am-police", InboxMessage.type == CHECKPOINT)))  # fmt: skip
    assert witness_said in statuses  # the witness refused it, as before
    assert _events(stale.kz, "audit-refused" if witness_said == "refused" else witness_said)
    # The stale node learnt it: one security event, one error line, nothing of a person.
    [event] = _events(stale.am, "checkpoint-refused")
    assert event.peer == "kz-mia"
    assert "stale copy of a node restored" in event.detail
    [line] = [entry for entry in logs if entry["event"].startswith("our log's checkpoint")]
    assert (line["log_level"], line["witness"], line["reason"]) == ("error", "kz-mia",
                                                                   witness_said)  # fmt: skip
    assert "Backup and recovery" in line["action"]
    assert "AM1234567" not in json.dumps(logs, default=str) + event.detail
    # It shows in `witness status` and makes the node not ready.
    [ours, _] = _status_json(stale.am)
    assert ours["refused"]["size"] == line["size"] > restored.lost_size
    shown = " ".join(_status_text(stale.am).split())
    assert "REFUSED" in shown and "kz-mia refused our log's checkpoint" in shown
    ready = _ready(stale)
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "not-ready"
    assert ready.json()["witnessing"]["ok"] is False
    assert "kz-mia refused our log's checkpoint" in ready.json()["witnessing"]["reason"]
    # It does not press its refused branch on the witness round after round.
    with stale.am.unit_of_work() as uow:
        sent = uow.session.scalar(select(func.count()).where(
            OutboxMessage.type == CHECKPOINT))  # fmt: skip
    traffic(stale)
    _round(stale, "AM")
    with stale.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).where(
            OutboxMessage.type == CHECKPOINT)) == sent  # fmt: skip
    # An hour on it shows a new one, so a refusal the witness no longer stands by clears.
    later = now() + RESHOW_WITHIN + timedelta(minutes=1)
    assert checkpoint_round(stale.am, stale.am_trust, witnessing_node(stale.am, stale.am_trust),
                            later) == 1  # fmt: skip


def _ready(pair: Pair) -> httpx.Response:
    """`/ready` on Armenia's operator listener."""
    app = create_operator_app(ExchangeRuntime(pair.am, pair.am_trust))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://am") as client:
            return await client.get("/ready")

    return asyncio.run(call())
