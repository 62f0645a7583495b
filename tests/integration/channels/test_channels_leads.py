"""Leads kept as the node's work, on SQLite and PostgreSQL: a run over the node's registers
stores each lead with its card and edges and one audit leaf; showing a card is a recorded
read of personal data; the analyst dismisses a lead with a reason or opens it as a minimal
request that casework's own path screens and sends; nothing is decided twice, and no one
else decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from at_once import beside
from casework_steps import context, now
from channel_scenes import (
    ANALYST_ROLES,
    AUTHORITY,
    import_am,
    leaves,
    officer_named,
    stored_run,
    synthetic_registers,
)
from console_client import add_console_officer
from migrex.audit.leaves import LeafKind
from migrex.casework.tables import CaseRow
from migrex.channels import model, service
from migrex.channels.queries import leads_of
from migrex.channels.service import dismiss_lead, open_lead, show_lead
from migrex.channels.tables import LeadEdgeRow, LeadMemberRow, LeadRow
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.service import subject_report
from migrex.ledger.subjects import document_identifier
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import NotAuthorised, Role
from migrex.registry.tables import PersonPresentRow
from nodes import Pair

TARGET = "kz-am-2024/kz-mia"


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


@pytest.fixture
def kept(pair: Pair, registers: Path) -> Pair:
    import_am(pair.am, registers)
    add_console_officer(pair.am, "ani", ANALYST_ROLES)
    add_console_officer(pair.am, "rita", [(Role.REVIEWER, AUTHORITY)])
    return pair


def _count(pair: Pair, table: type) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(table)) or 0


def test_a_run_keeps_its_leads_with_cards_and_edges(kept: Pair) -> None:
    before = len(leaves(kept.am))
    stored = stored_run(kept.am)
    assert stored.leads and stored.persons == 2_500
    with kept.am.unit_of_work() as uow:
        lines = leads_of(uow, [AUTHORITY])
        edges = uow.session.scalars(
            select(LeadEdgeRow).where(LeadEdgeRow.lead_id == lines[0].id)
        ).all()
        members = uow.session.scalars(
            select(LeadMemberRow).where(LeadMemberRow.lead_id == lines[0].id)).all()  # fmt: skip
    assert [line.id for line in lines] == stored.leads
    assert [line.rank for line in lines] == list(range(1, len(lines) + 1))
    assert all(line.state == "new" and not line.partner_data for line in lines)
    assert (
        len(members) == lines[0].members and sum(m.violator for m in members) == lines[0].violators
    )
    # Every edge says where it was read; an invitation or an address is dated by the entry.
    assert edges and {e.record_id for e in edges} <= {m.record_id for m in members}
    assert all(e.state == "AM" and e.sources for e in edges)
    assert any(e.read_on is not None for e in edges)
    logged = leaves(kept.am)[before:]
    assert [(leaf.kind, leaf.actor, leaf.authority) for leaf in logged] == [
        (LeafKind.DECISION, "officer:ani", AUTHORITY)]  # fmt: skip
    assert logged[0].reference == f"channels-run:{stored.run_id}:{len(stored.leads)}-leads"


def test_only_an_analyst_runs_and_reads_leads(kept: Pair) -> None:
    with pytest.raises(NotAuthorised):
        stored_run(kept.am, "rita")
    stored = stored_run(kept.am)
    rita = officer_named(kept.am, "rita")
    reads = _count(kept, DisclosureRow)
    with kept.am.unit_of_work() as uow, pytest.raises(NotAuthorised):
        show_lead(uow, context(kept.am), rita, stored.leads[0], now=now())
    with kept.am.unit_of_work() as uow, pytest.raises(NotAuthorised):
        dismiss_lead(uow, rita, stored.leads[0], reason="not a channel", now=now())
    assert _count(kept, DisclosureRow) == reads


def test_showing_a_card_is_a_recorded_read_of_each_member(kept: Pair) -> None:
    stored = stored_run(kept.am)
    ani = officer_named(kept.am, "ani")
    before = len(leaves(kept.am))
    with kept.am.unit_of_work() as uow:
        view = show_lead(uow, context(kept.am), ani, stored.leads[0], now=now())
    assert view.target is not None and view.target.value == TARGET
    assert view.request is not None and view.request["purpose"] == model.PURPOSE
    # The minimal request: the violators only, by document only, the profile's fields only.
    assert len(view.request["persons"]) == view.lead.violators == len(view.asked_records)
    assert all(set(p) == {"citizenship", "document_type", "document_number"}
               for p in view.request["persons"])  # fmt: skip
    assert view.request["requested_fields"] == ["entry_date", "purpose_of_stay", "violations"]
    assert "citizenship" in view.not_used and view.benign
    with kept.am.unit_of_work() as uow:
        ours = DisclosureRow.message_id == f"lead:{view.lead.id}"
        reads = uow.session.scalars(select(DisclosureRow).where(ours)).all()
    # One ledger row per identifier of each member (document and, where held, national id).
    assert {r.direction for r in reads} == {"read"} and {r.actor for r in reads} == {"officer:ani"}
    assert len({r.person for r in reads}) == view.lead.members
    # The member's data-subject report says who read the card, when and for which purpose.
    with kept.am.unit_of_work() as uow:
        document = uow.session.scalar(select(PersonPresentRow.document_number).where(
            PersonPresentRow.record_id == view.members[0].record_id))  # fmt: skip
        assert document is not None
        report = subject_report(uow.session, context(kept.am).subject_key,
                                [document_identifier(document)])  # fmt: skip
    assert [(e.direction, e.message_id, e.actor, e.purpose) for e in report] == [
        ("read", f"lead:{view.lead.id}", "officer:ani", model.PURPOSE)]  # fmt: skip
    shown = [leaf for leaf in leaves(kept.am)[before:] if leaf.kind is LeafKind.PERSONAL_DATA_READ]
    assert len(shown) == view.lead.members
    assert all(leaf.reference == f"lead:{view.lead.id}" and leaf.subject_hash for leaf in shown)


def test_dismissing_needs_a_reason_and_is_final(kept: Pair) -> None:
    stored = stored_run(kept.am)
    ani = officer_named(kept.am, "ani")
    lead = stored.leads[0]
    with kept.am.unit_of_work() as uow, pytest.raises(model.ReasonRequired):
        dismiss_lead(uow, ani, lead, reason="   ", now=now())
    with kept.am.unit_of_work() as uow:
        dismiss_lead(uow, ani, lead, reason="a seasonal crew, checked", now=now())
    with kept.am.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
        assert (row.state, row.reason, row.decided_by) == (
            "dismissed", "a seasonal crew, checked", "officer:ani")  # fmt: skip
    assert leaves(kept.am)[-1].reference == f"lead:{lead}:dismiss"
    with kept.am.unit_of_work() as uow, pytest.raises(model.LeadAlreadyDecided):
        open_lead(uow, context(kept.am), ani, lead, target=TARGET, now=now())
    assert _count(kept, CaseRow) == 0


def test_opening_a_lead_sends_its_minimal_request_through_casework(kept: Pair) -> None:
    stored = stored_run(kept.am)
    ani = officer_named(kept.am, "ani")
    lead = stored.leads[0]
    with kept.am.unit_of_work() as uow:
        opened = open_lead(uow, context(kept.am), ani, lead, target=TARGET, now=now())
    with kept.am.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
        case = uow.session.get_one(CaseRow, opened.case_id)
        queued = uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        sent = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.direction == "sent")).all()  # fmt: skip
        documents = set(uow.session.scalars(select(PersonPresentRow.document_number).join(
            LeadMemberRow, LeadMemberRow.record_id == PersonPresentRow.record_id).where(
            LeadMemberRow.lead_id == lead, LeadMemberRow.violator.is_(True))))  # fmt: skip
    assert (row.state, row.case_id, row.decided_by) == ("opened", opened.case_id, "officer:ani")
    assert (case.purpose, case.our_authority, case.partner_authority, case.opened_by) == (
        model.PURPOSE, AUTHORITY, "kz-mia", "officer:ani")  # fmt: skip
    assert queued == 1
    # The ledger records the sent persons: the lead's violators, and no other member.
    assert len({r.person for r in sent}) == len(documents) == row.violators
    assert leaves(kept.am)[-1].reference == f"lead:{lead}:open:{opened.case_id}"
    with kept.am.unit_of_work() as uow, pytest.raises(model.LeadAlreadyDecided):
        dismiss_lead(uow, ani, lead, reason="changed my mind", now=now())


def test_opening_to_a_partner_the_purpose_does_not_reach_sends_nothing(kept: Pair) -> None:
    stored = stored_run(kept.am)
    ani = officer_named(kept.am, "ani")
    with kept.am.unit_of_work() as uow, pytest.raises(model.NoPartner):
        open_lead(uow, context(kept.am), ani, stored.leads[0], target="kz-am-2024/am-police",
                  now=now())  # fmt: skip
    assert _count(kept, CaseRow) == 0
    with kept.am.unit_of_work() as uow:
        assert uow.session.get_one(LeadRow, stored.leads[0]).state == "new"


def test_a_lead_opened_twice_at_once_sends_one_request(
    kept: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analyst's double click: both found the lead undecided, and each opened a case and
    sent the partner its request. The second now waits and finds it decided."""
    lead = stored_run(kept.am).leads[0]
    ani = officer_named(kept.am, "ani")

    def open_it() -> None:
        with kept.am.unit_of_work() as uow:
            open_lead(uow, context(kept.am), ani, lead, target=TARGET, now=now())

    others = beside(monkeypatch, service, "open_case", open_it)
    open_it()
    [second] = others()
    assert isinstance(second, model.LeadAlreadyDecided), second
    assert _count(kept, CaseRow) == 1 and _count(kept, OutboxMessage) == 1
