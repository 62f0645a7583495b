"""A linkage run as casework between the two nodes: Armenia proposes, Kazakhstan files,
screens and accepts or refuses it, and once it is accepted both derive the same key."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from at_once import beside
from casework_steps import context, deliver, now, partner_sends, state
from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.casework.lifecycle import CaseState, IllegalTransition
from migrex.casework.queries import case_notes
from migrex.casework.service import open_review, refuse
from migrex.envelope import new_message_id
from migrex.exchange.service import NotPermitted
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.linkage import runs
from migrex.linkage.queries import linkage_runs, run_lines
from migrex.linkage.runs import (
    LinkageNode,
    ProposeRun,
    accept_linkage_run,
    propose_linkage_run,
    run_key,
)
from migrex.node import Node
from nodes import Pair

AGREEMENT = "kz-am-2024"


def am(pair: Pair) -> LinkageNode:
    return LinkageNode(context(pair.am), pair.am_trust)


def kz(pair: Pair) -> LinkageNode:
    return LinkageNode(context(pair.kz), pair.kz_trust)


def leaves(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0


def propose(pair: Pair, **terms: object) -> str:
    command = ProposeRun(AGREEMENT, "am-mcs", "kz-mia", date(2025, 1, 1), date(2025, 12, 31),
                         "officer:anna", **terms)  # type: ignore[arg-type]  # fmt: skip
    with pair.am.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, am(pair), command, now())
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, proposed.case_id, "officer:bolat", now())
    return proposed.case_id


def test_a_proposed_run_is_accepted_and_both_derive_the_same_key(pair: Pair) -> None:
    before = leaves(pair.am), leaves(pair.kz)
    case_id = propose(pair)
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW
    with pair.kz.unit_of_work() as uow:
        (run,) = linkage_runs(uow, context(pair.kz))
        # The agreement's terms, and the kids of both parties' current keys; no key at all.
        assert run.proposal.purpose == "combat-dual-citizenship"
        assert set(run.proposal.fields) == set(pair.kz.agreements[AGREEMENT].linkage.fields)  # type: ignore[union-attr]
        assert set(run.proposal.key_ids) == {"am-mcs", "kz-mia"}
        assert [n for n in case_notes(uow, case_id) if n.severity == "breach"] == []
        # Not accepted yet: no side derives a key.
        with pytest.raises(NotPermitted):
            run_key(uow, kz(pair), case_id, actor="officer:bolat", now=now())
    with pair.kz.unit_of_work() as uow:
        accepted = accept_linkage_run(uow, kz(pair), case_id, actor="officer:bolat", now=now())
    assert accepted.run_id == run.proposal.run_id
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.kz, case_id) == CaseState.ANSWERED
    assert state(pair.am, case_id) == CaseState.ANSWERED
    with pair.am.unit_of_work() as uow:
        am_key = run_key(uow, am(pair), case_id, actor="officer:anna", now=now())
    with pair.kz.unit_of_work() as uow:
        kz_key = run_key(uow, kz(pair), case_id, actor="officer:bolat", now=now())
    assert am_key == kz_key and len(am_key) == 32
    with pair.am.unit_of_work() as uow:
        derived = [AuditLeaf.decode(bytes(data)).reference
                   for data in uow.session.scalars(select(AuditLeafRow.data))]  # fmt: skip
    assert f"case:{case_id}:derive-run-key" in derived
    # Every step left its leaves on both sides: sent, filed, reviewed, accepted.
    assert leaves(pair.am) > before[0] and leaves(pair.kz) > before[1]


def test_a_refused_run_derives_no_key(pair: Pair) -> None:
    case_id = propose(pair)
    with pair.kz.unit_of_work() as uow:
        refuse(uow, context(pair.kz), case_id, grounds=["national-legislation"],
               explanation="The register may not be compared this year.",
               actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == CaseState.REFUSED
    for node, side in ((pair.am, am(pair)), (pair.kz, kz(pair))):
        with node.unit_of_work() as uow, pytest.raises(NotPermitted):
            run_key(uow, side, case_id, actor="officer:x", now=now())


def test_a_proposal_on_fields_the_agreement_leaves_out_is_stopped_and_refused(
    pair: Pair,
) -> None:
    # Our own node stops it before anything is queued.
    with pair.am.unit_of_work() as uow:
        queued = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    with pytest.raises(NotPermitted) as stopped:
        propose(pair, fields=("surname", "document_number"))
    assert "document_number" in str(stopped.value.problems)
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == queued
    # A partner whose node lets it through: the proposal is filed with a proposed refusal.
    body = {
        "run_id": "0193-run-from-a-faulty-node", "purpose": "combat-dual-citizenship",
        "fields": ["surname", "document_number"], "period_start": "2025-01-01",
        "period_end": "2025-12-31", "hardening_version": "migrex-bloom/1", "threshold": 0.5,
        "candidates_to": ["am-mcs", "am-police"],
        "key_ids": {"am-mcs": "a" * 43, "kz-mia": "b" * 43},
    }  # fmt: skip
    partner_sends(pair, new_message_id(now()), "linkage-run-proposal", body)
    with pair.kz.unit_of_work() as uow:
        (filed,) = linkage_runs(uow, context(pair.kz))
        notes = case_notes(uow, filed.case.id)
    breaches = [n for n in notes if n.severity == "breach"]
    assert [(n.kind, n.proposed_ground) for n in breaches] == [
        ("fields-outside-profile", "national-legislation")
    ]
    assert "document_number" in breaches[0].detail
    flags = {n.detail for n in notes if n.severity == "flag"}
    assert any("threshold 0.5" in d for d in flags) and any("am-police" in d for d in flags)


def test_an_acceptance_of_another_run_is_quarantined_and_the_run_stays_unaccepted(
    pair: Pair,
) -> None:
    # Kazakhstan proposes; a faulty Armenian node answers naming another run.
    command = ProposeRun(AGREEMENT, "kz-mia", "am-mcs", date(2025, 1, 1), date(2025, 12, 31),
                         "officer:bolat")  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, kz(pair), command, now())
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    wrong = {"type": "linkage-run-acceptance", "run_id": new_message_id(now())}
    message_id = partner_sends(pair, proposed.case_id, "linkage-run-acceptance", wrong)
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.message_id == message_id)
        ).first()
        assert row is not None and row.status == "quarantined", row and row.status
        assert row.problem == "message-invalid"
        with pytest.raises(NotPermitted):
            run_key(uow, kz(pair), proposed.case_id, actor="officer:bolat", now=now())
    assert state(pair.kz, proposed.case_id) != CaseState.ANSWERED


def test_listing_runs_reads_as_many_queries_for_many_runs_as_for_few(pair: Pair) -> None:
    """The runs page and `migrex linkage runs` list up to 200 runs: each run must not cost
    queries of its own (on PostgreSQL 200 runs took over a second that way)."""

    def queries_listing(runs: int) -> int:
        for _ in range(runs - len(_listed(pair))):
            command = ProposeRun(AGREEMENT, "am-mcs", "kz-mia", date(2025, 1, 1),
                                 date(2025, 12, 31), "officer:anna")  # fmt: skip
            with pair.am.unit_of_work() as uow:
                propose_linkage_run(uow, am(pair), command, now())
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(pair.am.engine, "before_cursor_execute", count)
        try:
            with pair.am.unit_of_work() as uow:
                lines = run_lines(uow, context(pair.am), ["am-mcs"])
        finally:
            event.remove(pair.am.engine, "before_cursor_execute", count)
        assert len(lines) == runs
        return len(statements)

    assert queries_listing(2) == queries_listing(12)


def _listed(pair: Pair) -> list[object]:
    with pair.am.unit_of_work() as uow:
        return list(linkage_runs(uow, context(pair.am)))


def test_a_run_accepted_twice_at_once_is_accepted_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An officer's double click on Accept: both found the run in review, and each answered
    it, sending the partner two acceptances. The second now finds the case answered."""
    case_id = propose(pair)

    def accept() -> None:
        with pair.kz.unit_of_work() as uow:
            accept_linkage_run(uow, kz(pair), case_id, actor="officer:bolat", now=now())

    others = beside(monkeypatch, runs, "send_answer", accept)
    accept()
    [second] = others()
    assert isinstance(second, IllegalTransition), second
    with pair.kz.unit_of_work() as uow:
        sent = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.case_id == case_id, OutboxMessage.type == "linkage-run-acceptance")
        )
        assert uow.session.scalar(sent) == 1
