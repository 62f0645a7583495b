"""Answering an incoming person inquiry from the registries, disclosing only what the purpose's
data profile allows (and, where the agreement says so, first a hit/no-hit answer only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from migrex.casework.bodies import body_of
from migrex.casework.disclosure import (
    full_result,
    hit_reference,
    hit_result,
    person_fields,
    reply_step,
)
from migrex.casework.lifecycle import Event, event_of
from migrex.casework.messages import ClarificationAnswer, MessageInvalid, parse_body
from migrex.casework.messages_base import PersonIdentifiers
from migrex.casework.messages_person import PersonInquiry, PersonInquiryReply
from migrex.casework.service import NodeContext, _case, _move, _opening_row, _send
from migrex.casework.tables import CaseMessageRow
from migrex.registry.model import PersonPresent
from migrex.registry.ports import Registries
from migrex.uow import UnitOfWork


def _opening(uow: UnitOfWork, case_id: str) -> CaseMessageRow:
    row = _opening_row(uow, case_id)
    if row is None:
        raise MessageInvalid(f"case {case_id} has no message")
    return row


def _find(registries: Registries, who: PersonIdentifiers) -> PersonPresent | None:
    if who.citizenship is None or who.document_number is None:
        return None  # names alone are not enough to disclose anything about anyone
    return registries.find_present(citizenship=who.citizenship, document_number=who.document_number)


def _as_clarified(
    uow: UnitOfWork, node: NodeContext, case_id: str, inquiry: PersonInquiry
) -> PersonInquiry:
    """The inquiry as the partner's clarification answers amended it, in the order they came:
    a narrower field list or a new purpose is what is answered, not the first wording."""
    rows = uow.session.scalars(
        select(CaseMessageRow)
        .where(CaseMessageRow.case_id == case_id, CaseMessageRow.direction == "received",
               CaseMessageRow.type == "clarification-answer")
        .order_by(CaseMessageRow.id)
    )  # fmt: skip
    for row in rows:
        answer = parse_body(row.type, body_of(uow, node, row))
        if not isinstance(answer, ClarificationAnswer):
            continue
        changes = {
            name: value
            for name in ("purpose", "legal_basis", "urgency_reason", "requested_fields")
            if (value := getattr(answer, name)) is not None
        }
        inquiry = PersonInquiry.model_validate({**inquiry.model_dump(), **changes})
    return inquiry


def answer_inquiry(
    uow: UnitOfWork,
    node: NodeContext,
    registries: Registries,
    case_id: str,
    *,
    hit_key: bytes,
    actor: str,
    now: datetime,
) -> PersonInquiryReply:
    """Builds, records and sends the reply; the case becomes answered or partially answered."""
    case = _case(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    opening = _opening(uow, case_id)
    inquiry = parse_body(opening.type, body_of(uow, node, opening))
    if not isinstance(inquiry, PersonInquiry):
        raise MessageInvalid(f"case {case_id} is not a person inquiry")
    inquiry = _as_clarified(uow, node, case_id, inquiry)
    step = reply_step(agreement, inquiry)
    allowed = agreement.fields_allowed(inquiry.purpose) if inquiry.purpose else frozenset()
    requested = frozenset(inquiry.requested_fields)
    results = []
    for index, who in enumerate(inquiry.persons):
        found = _find(registries, who)
        if step == "hit-check":
            reference = None if found is None else hit_reference(
                hit_key, agreement_id=agreement.id, requester=case.partner_authority,
                record_id=found.record_id,
            )  # fmt: skip
            results.append(hit_result(index, reference))
            continue
        fields = None if found is None else person_fields(
            found,
            employment=registries.employment_of(found.record_id),
            violations=registries.violations_of(
                citizenship=found.citizenship, document_number=found.document_number
            ),
        )  # fmt: skip
        results.append(full_result(index, fields, allowed=allowed, requested=requested))
    reply = PersonInquiryReply(step=step, results=results)
    _move(uow, case, event_of(reply) or Event.FULFIL, actor, now)
    _send(
        uow, agreement, case, reply, actor=actor, now=now, in_reply_to=opening.message_id,
        node=node,
    )  # fmt: skip
    uow.commit()
    return reply
