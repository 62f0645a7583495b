"""The parties witness the linkage unit's log: a real unit process over mutual TLS shows its
checkpoint, a party checks and cosigns it, and the unit keeps the cosignature; a unit whose
log forks or goes back is refused and noted in the party's security log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

import migrated
from at_once import beside
from casework_steps import now
from linkage_unit_steps import AGREEMENT, UNIT, Linked, linked_nodes
from migrex.audit import events
from migrex.audit.checkpoint import NoteRejected, ed25519_public_key, open_note
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.merkle import AuditError
from migrex.audit.pending import record
from migrex.audit.proofs import SplitView
from migrex.audit.tables import AuditCosignature, AuditLeafRow, AuditWitnessed
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.tables import SecurityEvent
from migrex.exchange.trust import load_trust
from migrex.linkage import unit_witness
from migrex.linkage.unit import LinkageUnit
from migrex.linkage.unit_client import UnitRefused
from migrex.linkage.unit_log import UnitLog
from migrex.linkage.unit_witness import UnitParty, Witnessed, witness_unit_log
from migrex.node import Node
from nodes import make_pair

KZ = UnitParty(AGREEMENT, UNIT, "kz-mia")
AM = UnitParty(AGREEMENT, UNIT, "am-mcs")


@pytest.fixture
def linked(tmp_path: Path, database_url: str) -> Iterator[Linked]:
    yield from linked_nodes(tmp_path, database_url, persons=None)


def _log_at_unit(node: Node, *steps: str) -> None:
    """Entries of the unit's own log, as its run steps write them."""
    with node.unit_of_work() as uow:
        for step in steps:
            record(uow.session, events.linkage_step(at=now(), actor=f"unit:{UNIT}", authority=UNIT,
                                                    reference=f"linkage:test:{step}"))  # fmt: skip
        uow.commit()


def _witness(linked: Linked, client: Any = None) -> Witnessed:
    with linked.pair.kz.unit_of_work() as uow:
        if client is not None:
            return witness_unit_log(uow, linked.pair.kz_trust, KZ, client, now())
        with linked.client("KZ") as real:
            return witness_unit_log(uow, linked.pair.kz_trust, KZ, real, now())


def _count(node: Node, model: Any, *where: Any) -> int:
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class _Other:
    """A client that shows the checkpoints of another log signed with the unit's own key: the
    unit's database swapped for a fork, or an older copy, behind the same door."""

    def __init__(self, linked: Linked, node: Node) -> None:
        self.log = UnitLog(LinkageUnit.of(node, load_trust(node.settings, node.agreements)))

    def checkpoint(self, since: int) -> dict[str, Any]:
        return self.log.checkpoint(AGREEMENT, since, now())

    def cosign(self, cosignature: dict[str, Any]) -> None:
        raise AssertionError("a refused checkpoint is never cosigned")


def _forked_unit(linked: Linked, tmp_path: Path, entries: int) -> Node:
    url = f"sqlite:///{tmp_path / 'forked-unit.db'}"
    node = Node(linked.unit.settings.model_copy(update={"database_url": url}))
    migrated.upgrade(node.engine)
    _log_at_unit(node, *(f"forked-{i}" for i in range(entries)))
    return node


def test_a_party_cosigns_the_units_log_and_the_unit_keeps_the_cosignature(linked: Linked) -> None:
    _log_at_unit(linked.unit, "opened:kz-mia", "opened:am-mcs", "encodings-deleted:compared")
    first = _witness(linked)
    assert first.previous == 0 and first.size >= 3
    # The unit holds the party's cosignature of that very checkpoint, and it verifies.
    with linked.unit.unit_of_work() as uow:
        kept = uow.session.get(AuditCosignature, (first.size, "kz-mia"))
        assert kept is not None
        key = linked.pair.kz_trust.signing_key("kz-mia", now())
    opened = open_note(kept.note, {}, {"kz-mia": ed25519_public_key(key)})
    assert "kz-mia" in opened.verified
    # The party keeps what it cosigned and logs that it did.
    assert _count(linked.pair.kz, AuditWitnessed, AuditWitnessed.origin == first.origin) == 1
    with linked.pair.kz.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data))
        cosigned = [leaf.reference for leaf in map(AuditLeaf.decode, map(bytes, data))
                    if leaf.kind is LeafKind.CHECKPOINT_COSIGNED]  # fmt: skip
    assert any(str(ref).endswith(f":{first.size}") for ref in cosigned), cosigned

    # Nothing new: nothing to check again. The log grows: the new checkpoint must extend it.
    assert _witness(linked) == Witnessed(first.origin, first.size, first.size)
    _log_at_unit(linked.unit, "result-deleted:collected-by:kz-mia")
    second = _witness(linked)
    assert second.previous == first.size and second.size == first.size + 1
    assert _count(linked.pair.kz, SecurityEvent) == 0


@pytest.mark.parametrize(("entries", "refusal"), [(6, SplitView), (1, NoteRejected)],
                         ids=["fork", "rollback"])  # fmt: skip
def test_a_unit_whose_log_forks_or_goes_back_is_refused_and_noted(
    linked: Linked, tmp_path: Path, entries: int, refusal: type[AuditError]
) -> None:
    _log_at_unit(linked.unit, "opened:kz-mia", "opened:am-mcs", "encodings-deleted:compared")
    witnessed = _witness(linked)
    forked = _forked_unit(linked, tmp_path, entries)
    try:
        with pytest.raises(refusal):
            _witness(linked, _Other(linked, forked))
    finally:
        forked.close()
    # Nothing of the other log is kept; the refusal is in the security log, without content.
    with linked.pair.kz.unit_of_work() as uow:
        sizes = list(
            uow.session.scalars(
                select(AuditWitnessed.size).where(AuditWitnessed.origin == witnessed.origin)
            )
        )
        events_ = list(uow.session.scalars(select(SecurityEvent)))
    assert sizes == [witnessed.size]
    assert [e.peer for e in events_] == [UNIT]
    assert events_[0].reason == ("split-view" if refusal is SplitView else "audit-refused")
    # The real unit is still witnessed as before.
    assert _witness(linked).size == witnessed.size


def test_a_cosignature_that_does_not_verify_is_refused_by_the_unit(linked: Linked) -> None:
    _log_at_unit(linked.unit, "opened:kz-mia")
    with linked.client("KZ") as client:
        shown = client.checkpoint(0)
        with pytest.raises(UnitRefused):  # the unit's own note, claimed as kz-mia's cosignature
            client.cosign({"authority": "kz-mia", "kid": shown["kid"], "size": shown["size"],
                           "note": shown["note"]})  # fmt: skip
        with pytest.raises(UnitRefused):
            client.cosign({"authority": "kg-mvd", "kid": "x", "size": 1, "note": "x"})
    assert _count(linked.unit, AuditCosignature) == 0


class _Garbled:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def checkpoint(self, since: int) -> dict[str, Any]:
        return self.answer

    def cosign(self, cosignature: dict[str, Any]) -> None:
        raise AssertionError("a refused checkpoint is never cosigned")


@pytest.mark.parametrize("answer", [
    {}, {"origin": 1}, {"origin": "x", "authority": UNIT, "kid": "k", "size": "many",
                        "note": "n", "proof": []},
    {"origin": "x", "authority": UNIT, "kid": "k", "size": 1, "note": "n", "proof": ["%%"]},
    {"origin": "x", "authority": UNIT, "kid": "k", "size": 1, "note": "n", "proof": "AAAA"},
], ids=["empty", "no-fields", "size", "proof-encoding", "proof-type"])  # fmt: skip
def test_a_malformed_answer_of_the_unit_is_refused_and_changes_nothing(
    linked: Linked, answer: dict[str, Any]
) -> None:
    with pytest.raises(NoteRejected):
        _witness(linked, _Garbled(answer))
    assert _count(linked.pair.kz, AuditWitnessed) == 0


def test_a_write_beside_the_witnessing_neither_fails_it_nor_is_lost(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node writes all the time (filing, relays, jobs) while a party checks the unit's
    checkpoint. On SQLite a transaction that has read cannot then wait for the write lock: a
    write committed beside it in the meantime failed the witnessing ("database is locked")."""
    _log_at_unit(linked.unit, "opened:kz-mia", "opened:am-mcs")
    # The write comes once the check has read, and is done at once unless the witnessing
    # holds the write lock. (The write's step puts the plain check back: this reads once.)
    written = beside(monkeypatch, unit_witness, "witness",
                     lambda: _log_at_unit(linked.pair.kz, "written-beside"), wait=1)  # fmt: skip
    with_the_write = unit_witness.witness

    def having_read(session: Any, *args: Any, **kwargs: Any) -> str:
        session.scalar(select(func.count()).select_from(AuditWitnessed))
        return with_the_write(session, *args, **kwargs)

    monkeypatch.setattr(unit_witness, "witness", having_read)
    witnessed = _witness(linked)
    assert witnessed.size >= 2 and witnessed.previous == 0
    assert written() == [None]
    assert _count(linked.pair.kz, AuditWitnessed, AuditWitnessed.size == witnessed.size) == 1


def _witness_as_armenia(linked: Linked) -> Witnessed:
    with linked.pair.am.unit_of_work() as uow, linked.client("AM") as client:
        return witness_unit_log(uow, linked.pair.am_trust, AM, client, now())


def test_two_witnesses_of_the_unit_at_once_cosign_it_once(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background job and an operator's `migrex linkage witness-unit` may witness at the
    same moment: the second waits for the first and finds nothing new, where both checked and
    cosigned the same checkpoint, each logging it and sending the unit its cosignature.
    Armenia witnesses here: its node is on the database under test (Kazakhstan's on SQLite)."""
    _log_at_unit(linked.unit, "opened:kz-mia", "opened:am-mcs")
    # Done at once, unless it waits for the first witness.
    second = beside(monkeypatch, unit_witness, "witness", lambda: _witness_as_armenia(linked))
    first = _witness_as_armenia(linked)
    assert first.previous == 0 and first.size >= 2
    assert second() == [Witnessed(first.origin, first.size, first.size)]
    assert _count(linked.pair.am, AuditWitnessed, AuditWitnessed.size == first.size) == 1


def test_a_unit_the_directory_does_not_list_is_said_once_and_fails_no_round(
    tmp_path: Path, database_url: str
) -> None:
    """The agreement names a linkage unit, but the node's directory does not list it yet (as
    after `migrex pki demo`): the job says so once and its rounds go on without error."""
    pair = next(make_pair(tmp_path, database_url))
    node = Node(pair.kz.settings.model_copy(update={"witness_idle_interval_seconds": 0.02}))
    runtime = ExchangeRuntime(node, pair.kz_trust)
    stop = threading.Event()
    try:
        with capture_logs() as logs:
            unit_witness.witness_units_job(runtime, stop)
            time.sleep(0.5)  # some twenty rounds
            stop.set()
    finally:
        runtime.stop()
        node.close()
        pair.kz.close()
        pair.am.close()
    events_logged = [entry["event"] for entry in logs]
    assert events_logged == ["linkage unit not in the directory: its log is not witnessed"]
    assert logs[0]["unit"] == UNIT and logs[0]["log_level"] == "warning"
    assert "dual-citizenship runs cannot start; nothing else waits on it" in logs[0]["hint"]
