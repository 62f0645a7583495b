"""Demo step: the report's scenario as cases between the running KZ and AM nodes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from migrex.casework.answers import answer_inquiry
from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.consultation import add_finding, cosign_outcome, propose_outcome
from migrex.casework.context import hit_reference_key
from migrex.casework.messages import PersonInquiryReply
from migrex.casework.service import (
    NodeContext,
    OpenRequest,
    node_context,
    open_request,
    open_review,
    refuse,
)
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.console import out
from migrex.errors import NotFound
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.registry.sql import SqlRegistries
from migrex.registry.tables import EmploymentRow, PersonPresentRow, ViolationRow

AGREEMENT = "kz-am-2024"
BASIS = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"


def _context(node: Node) -> NodeContext:
    return node_context(node)


def _wait(check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def _state(node: Node, case_id: str) -> str | None:
    with node.unit_of_work() as uow:
        case = uow.session.get(CaseRow, case_id)
        return case.state if case else None


def _open(node: Node, sender: str, recipient: str, type_: str, body: dict[str, Any]) -> str:
    with node.unit_of_work() as uow:
        opened = open_request(
            uow, _context(node),
            OpenRequest(AGREEMENT, sender, recipient, type_, body, "demo:officer"),
            datetime.now(UTC),
        )  # fmt: skip
    out.print(f"  {sender} → {recipient}: {type_} (case {opened.case_id[:13]}…)")
    for flag in opened.flags:
        out.print(f"    [yellow]flag for the reviewer[/] {flag}")
    return opened.case_id


def _review(node: Node, case_id: str) -> None:
    """Waits for the request to arrive, then takes it into review."""
    _wait(lambda: _state(node, case_id) == "delivered")
    with node.unit_of_work() as uow:
        open_review(uow, case_id, "demo:reviewer", datetime.now(UTC))


def _answer(kz: Node, case_id: str) -> PersonInquiryReply:
    with kz.unit_of_work() as uow:
        return answer_inquiry(
            uow, _context(kz), SqlRegistries(uow.session), case_id,
            hit_key=hit_reference_key(kz.settings.resolved_key_dir), actor="demo:reviewer",
            now=datetime.now(UTC),
        )  # fmt: skip


def _armenian_worker(kz: Node) -> PersonPresentRow:
    with kz.unit_of_work() as uow:
        row = uow.session.scalars(
            select(PersonPresentRow)
            .join(EmploymentRow, EmploymentRow.person_record_id == PersonPresentRow.record_id)
            .where(PersonPresentRow.citizenship == "ARM", EmploymentRow.end_date.is_(None))
            .order_by(PersonPresentRow.record_id)
        ).first()
        if row is None:
            raise NotFound("the KZ registries hold no Armenian worker to ask about")
        return row


def inquiry_answered(kz: Node, am: Node) -> str | None:
    out.print("[bold]An inquiry from Armenia's Migration and Citizenship Service[/]")
    worker = _armenian_worker(kz)
    body = {
        "purpose": "legal-status-of-stay", "legal_basis": BASIS,
        "persons": [{"surname_latin": worker.surname_latin,
                     "given_name_latin": worker.given_name_latin,
                     "birth_date": worker.birth_date.isoformat(), "citizenship": "ARM",
                     "document_number": worker.document_number}],
        "requested_fields": ["surname_latin", "given_name_latin", "permit_type",
                             "permit_valid_to", "employer_name", "occupation_isco08"],
    }  # fmt: skip
    case_id = _open(am, "am-mcs", "kz-mia", "person-inquiry", body)
    _review(kz, case_id)
    reply = _answer(kz, case_id)
    [result] = reply.results
    out.print(f"  kz-mia answers ({reply.step}): {result.fields}")
    for withheld in result.withheld:
        out.print(f"    withheld {withheld.field}: {withheld.reason}")
    _wait(lambda: _state(am, case_id) in ("answered", "partially-answered"))
    out.print(f"  case at am-mcs: [green]{_state(am, case_id)}[/]")
    return _state(am, case_id)


def violation_notice(kz: Node, am: Node) -> str | None:
    out.print("[bold]A violation notice from Kazakhstan's Ministry of Internal Affairs[/]")
    with kz.unit_of_work() as uow:
        violation = uow.session.scalars(
            select(ViolationRow).where(ViolationRow.citizenship == "ARM").order_by(ViolationRow.id)
        ).first()
    if violation is None:
        raise NotFound("the KZ registries hold no violation by an Armenian citizen")
    body = {
        "purpose": "suppress-illegal-migration-channels",
        "legal_basis": "Code of Administrative Offences of Kazakhstan, Article 517",
        "person": {"surname_latin": violation.surname_latin,
                   "given_name_latin": violation.given_name_latin,
                   "birth_date": violation.birth_date.isoformat(), "citizenship": "ARM",
                   "document_number": violation.document_number},
        "violations": [{"violation_type": violation.violation_type,
                        "detected_on": violation.detected_on.isoformat(),
                        "region": violation.region, "legal_article": violation.legal_article,
                        "decision": violation.decision}],
    }  # fmt: skip
    case_id = _open(kz, "kz-mia", "am-police", "violation-notice", body)
    _wait(lambda: _state(am, case_id) is not None)
    with am.unit_of_work() as uow:
        filed = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        ).first()
    out.print(f"  filed at am-police: {filed.type if filed else 'not yet'}")
    return filed.type if filed else None


def refused_on_security(kz: Node, am: Node) -> str | None:
    out.print("[bold]A request refused on a security ground[/]")
    body = {
        "purpose": "suppress-illegal-migration-channels",
        "legal_basis": "Criminal Procedure Code of Armenia, Article 172",
        "persons": [{"surname_latin": "PETROSYAN", "given_name_latin": "GOR",
                     "birth_date": "1979-02-11", "citizenship": "ARM",
                     "document_number": "AR4455667"}],
        "requested_fields": ["surname_latin", "entry_date", "registration_region", "violations"],
    }  # fmt: skip
    case_id = _open(am, "am-police", "kz-mia", "person-inquiry", body)
    _review(kz, case_id)
    with kz.unit_of_work() as uow:
        refuse(uow, _context(kz), case_id, grounds=["security"],
               explanation="The person is the subject of an ongoing security check",
               actor="demo:reviewer", now=datetime.now(UTC))  # fmt: skip
    ground = kz.agreements[AGREEMENT].refusal_ground("security")
    out.print(f"  kz-mia refuses: {ground.description} ({ground.article})")
    _wait(lambda: _state(am, case_id) == "refused")
    out.print(f"  case at am-police: [red]{_state(am, case_id)}[/]")
    return _state(am, case_id)


def clarified_then_answered(kz: Node, am: Node) -> str | None:
    out.print("[bold]A request with doubts, answered after a clarification[/]")
    worker = _armenian_worker(kz)
    body = {
        "purpose": "legal-status-of-stay", "legal_basis": "the agreement",
        "persons": [{"citizenship": "ARM", "document_number": worker.document_number}],
        "requested_fields": ["surname_latin", "permit_type", "permit_valid_to"],
    }  # fmt: skip
    case_id = _open(am, "am-mcs", "kz-mia", "person-inquiry", body)
    _review(kz, case_id)
    with kz.unit_of_work() as uow:
        ask_clarification(
            uow, _context(kz), case_id, actor="demo:reviewer", now=datetime.now(UTC),
            question="Which provision of Armenian law is the request based on?",
        )  # fmt: skip
    out.print("  kz-mia asks which provision of law the request rests on")
    _wait(lambda: _state(am, case_id) == "clarification-requested")
    with am.unit_of_work() as uow:
        answer_clarification(
            uow, _context(am), case_id, actor="demo:officer", now=datetime.now(UTC),
            answer={"answers": ["A residence permit decision is pending"], "legal_basis": BASIS},
        )  # fmt: skip
    out.print(f"  am-mcs answers: {BASIS}")
    _wait(lambda: _state(kz, case_id) == "in-review")
    reply = _answer(kz, case_id)
    out.print(f"  kz-mia answers: {reply.results[0].fields}")
    _wait(lambda: _state(am, case_id) in ("answered", "partially-answered"))
    out.print(f"  case at am-mcs: [green]{_state(am, case_id)}[/]")
    return _state(am, case_id)


def consultation_cosigned(kz: Node, am: Node) -> tuple[str | None, str | None]:
    out.print("[bold]A joint legal-status consultation closed with a co-signed outcome[/]")
    worker = _armenian_worker(kz)
    body = {
        "purpose": "legal-status-of-stay", "legal_basis": BASIS,
        "question": "May the person keep working after the employer's licence was withdrawn?",
        "person": {"citizenship": "ARM", "document_number": worker.document_number},
        "requested_fields": ["permit_type", "employer_name"],
    }  # fmt: skip
    case_id = _open(am, "am-mcs", "kz-mia", "legal-status-consultation", body)
    _wait(lambda: _state(kz, case_id) == "delivered")
    kz_trust, am_trust = (
        load_trust(kz.settings, kz.agreements),
        load_trust(am.settings, am.agreements),
    )
    with kz.unit_of_work() as uow:
        open_review(uow, case_id, "demo:reviewer", datetime.now(UTC))
    with kz.unit_of_work() as uow:
        add_finding(uow, _context(kz), case_id, fields=None, actor="demo:reviewer",
                    finding="An EAEU worker may change employer without a new permit",
                    now=datetime.now(UTC))  # fmt: skip
    with am.unit_of_work() as uow:
        add_finding(uow, _context(am), case_id, fields=None, actor="demo:officer",
                    finding="The person has applied for a new employment contract",
                    now=datetime.now(UTC))  # fmt: skip
    outcome = "The stay remains lawful while the person takes up work with a new employer."
    with kz.unit_of_work() as uow:
        propose_outcome(uow, _context(kz), case_id, outcome=outcome, actor="demo:reviewer",
                        signing_key=kz_trust.signing_key("kz-mia", datetime.now(UTC)),
                        now=datetime.now(UTC))  # fmt: skip
    out.print(f"  kz-mia proposes, signed: {outcome}")
    _wait(lambda: _received(am, case_id, "consultation-outcome"))
    with am.unit_of_work() as uow:
        cosign_outcome(uow, _context(am), case_id, actor="demo:officer",
                       signing_key=am_trust.signing_key("am-mcs", datetime.now(UTC)),
                       resolve_signing_key=am_trust.resolve_signing_key,
                       now=datetime.now(UTC))  # fmt: skip
    out.print("  am-mcs verifies kz-mia's signature and co-signs")
    _wait(lambda: _state(kz, case_id) == "answered")
    out.print(f"  case: [green]{_state(am, case_id)}[/] at am-mcs, "
              f"[green]{_state(kz, case_id)}[/] at kz-mia")  # fmt: skip
    return _state(am, case_id), _state(kz, case_id)


def _received(node: Node, case_id: str, message_type: str) -> bool:
    with node.unit_of_work() as uow:
        return uow.session.scalars(
            select(CaseMessageRow.id).where(
                CaseMessageRow.case_id == case_id, CaseMessageRow.type == message_type,
                CaseMessageRow.direction == "received",
            )
        ).first() is not None  # fmt: skip


def run_casework(kz: Node, am: Node, synth_dir: Path) -> dict[str, str | None]:
    """Plays each scene; returns where each ended (case states, what was filed or found)."""
    out.rule("[bold]6. Casework under the agreement")
    ended: dict[str, str | None] = {}
    ended["inquiry at am-mcs"] = inquiry_answered(kz, am)
    ended["violation notice filed at am-police"] = violation_notice(kz, am)
    ended["refused inquiry at am-police"] = refused_on_security(kz, am)
    ended["clarified inquiry at am-mcs"] = clarified_then_answered(kz, am)
    ended["consultation at am-mcs"], ended["consultation at kz-mia"] = consultation_cosigned(kz, am)
    return ended
