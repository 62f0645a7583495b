"""The outgoing gate: every message a case sends passes here, and only here, before the outbox.

In order, for a message of kind K on a case under agreement A:
1. **Agreement (G1)**: K is a kind the registry defines; A is in force; the case's category is
   K's category (kinds without one belong to their case); the case's requester may send that
   category to the requested party under A (checked on the request's direction, so an answer
   goes back to whoever was allowed to ask).
2. **Minimisation (G2)**: every person field K carries lies inside the profile of the case's
   purpose; an answer's fields also lie inside what the request asked for (as clarified).
   Requests themselves are screened against the profile before they get here.
3. **No onward transfer (G3)**: for every person K carries, the disclosure ledger says which
   partners sent this node data about them and which fields; none of those fields may go to a
   state other than the one that sent them. The check is by field name, so it holds whatever
   route the data took into the message (copied from a received case, typed in by hand).
4. **Ledger (G4)** and **audit (G5)**: one ledger row per person carried, and an audit entry
   naming the message, in the caller's transaction; then the outbox row.
Volume (G6) is counted from the ledger rows written in step 4 and checked by screening when a
request or notice is opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework.context import NodeContext
from migrex.casework.kinds import KINDS, Carried, MessageKind, Role
from migrex.casework.lifecycle import Direction
from migrex.casework.messages import MessageBody, MessageInvalid, parse_body
from migrex.casework.onward import OnwardTransferRefused
from migrex.casework.person_search import index_rows
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.envelope import new_message_id
from migrex.errors import Problem
from migrex.exchange.outbox import OutgoingMessage, canonical_json, enqueue
from migrex.exchange.service import NotPermitted
from migrex.ledger.service import MessageFacts, received_about, record_subjects
from migrex.ledger.subjects import Subject, identifiers_of
from migrex.retention.service import add_search_terms
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class CaseView:
    """What the gate needs of a case besides its row: the parsed request that opened it (None
    while the message being sent is that request) and the fields it asked for as clarified."""

    opening: MessageBody | None
    asked: frozenset[str]


def kind_for(message_type: str) -> MessageKind:
    kind = KINDS.get(message_type)
    if kind is None:
        known = ", ".join(sorted(KINDS))
        raise MessageInvalid(f"no agreement defines a {message_type!r} message",
                             [Problem("type", f"must be one of: {known}")])  # fmt: skip
    return kind


def check_agreement(agreement: Agreement, kind: MessageKind, case: CaseRow, now: datetime) -> None:
    """Raises NotPermitted unless the agreement lets this case carry a message of `kind` now."""
    if not agreement.is_in_force(now.date()):
        raise NotPermitted(f"{agreement.id} is not in force on {now.date().isoformat()}")
    if kind.category is not None and kind.category != case.category:
        raise NotPermitted(f"a {kind.type} message does not belong in a {case.category} case")
    requester, requested = (
        (case.our_authority, case.partner_authority)
        if case.direction == Direction.OUTGOING
        else (case.partner_authority, case.our_authority)
    )
    if not agreement.may_send(case.category, requester, requested):
        raise NotPermitted(f"{agreement.id} does not let {requester} send {case.category} "
                           f"information to {requested}")  # fmt: skip


def check_profile(
    agreement: Agreement, kind: MessageKind, case: CaseRow, carried: list[Carried],
    asked: frozenset[str],
) -> None:  # fmt: skip
    """Raises NotPermitted when the message carries a field its purpose's profile (or, for an
    answer, the request) does not allow. Requests are screened instead (a proposed refusal
    names what they ask beyond the profile)."""
    if kind.role is Role.REQUEST:
        return
    allowed = agreement.fields_allowed(case.purpose) if case.purpose else frozenset()
    if kind.answers_request:
        allowed &= asked
    outside = sorted({name for item in carried for name in item.fields} - allowed)
    if outside:
        why = "the request did not ask for" if kind.answers_request else "the profile excludes"
        raise NotPermitted(
            f"the {kind.type} carries fields {why}: {', '.join(outside)}",
            [Problem(name, "outside what may be disclosed for this purpose") for name in outside],
        )


def check_onward_transfer(
    uow: UnitOfWork, node: NodeContext, agreement: Agreement, case: CaseRow,
    carried: list[Carried],
) -> None:  # fmt: skip
    """Raises OnwardTransferRefused when a field a partner sent about a person would go to a
    state other than that partner's."""
    recipient_state = agreement.authority(case.partner_authority).state
    own_state = agreement.authority(case.our_authority).state
    problems: list[Problem] = []
    for place, item in enumerate(carried):
        for source in received_about(uow.session, node.subject_key, identifiers_of(item.who)):
            origin = node.agreements.get(source.agreement_id)
            if origin is None:
                continue
            state = origin.authority(source.partner_authority).state
            if state in {recipient_state, own_state}:
                continue
            leaving = sorted(item.fields & source.fields)
            if leaving:
                problems.append(Problem(f"persons.{place}", f"{', '.join(leaving)} received "
                                        f"from {source.partner_authority} ({state})"))  # fmt: skip
    if problems:
        raise OnwardTransferRefused(
            f"the message carries personal data received from another state; it may not go "
            f"to {recipient_state}, only back to the state it came from",
            problems,
        )


def send(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, body: MessageBody, view: CaseView, *,
    actor: str, now: datetime, in_reply_to: str | None = None,
) -> str:  # fmt: skip
    """Queues `body` on the case once it passed every check; returns its message id."""
    agreement = node.agreements[case.agreement_id]
    kind = kind_for(body.type)
    check_agreement(agreement, kind, case, now)
    carried = kind.carried(body, view.opening)
    check_profile(agreement, kind, case, carried, view.asked)
    check_onward_transfer(uow, node, agreement, case, carried)
    hook = node.sending_hooks.get(body.type)
    if hook is not None:
        hook(uow.session, case.id, case.our_authority, body, now=now)
    message_id = new_message_id(now)
    payload = as_json(body)
    if kind.personal:
        facts = MessageFacts(
            "sent", agreement.id, case.our_authority, case.partner_authority, message_id,
            body.type, case.id, case.purpose, legal_basis(body, view.opening), actor, now,
        )  # fmt: skip
        record_subjects(uow.session, node.subject_key, facts, subjects(carried))
        add_search_terms(uow.session, index_rows(node.subject_key, message_id, carried))
    record(uow.session, events.decision(at=now, actor=actor, authority=case.our_authority,
                                        case_id=case.id, event=f"send:{body.type}",
                                        purpose=case.purpose, message_id=message_id))  # fmt: skip
    enqueue(
        uow.session,
        OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender=case.our_authority,
            recipient=case.partner_authority, type=body.type, body=payload, issued_at=now,
            expires_at=now + agreement.message_lifetime, case_id=case.id, in_reply_to=in_reply_to,
        ),
        now,
    )  # fmt: skip
    uow.session.add(
        CaseMessageRow(case_id=case.id, message_id=message_id, direction="sent", type=body.type,
                       body=canonical_json(payload), at=now, actor=actor)
    )  # fmt: skip
    return message_id


def subjects(carried: list[Carried]) -> list[Subject]:
    return [Subject(identifiers_of(item.who), item.ledger_fields) for item in carried]


def as_json(body: MessageBody) -> dict[str, Any]:
    return json.loads(body.model_dump_json(exclude_none=True))  # type: ignore[no-any-return]


def legal_basis(body: MessageBody, opening: MessageBody | None) -> str | None:
    for source in (body, opening):
        basis = getattr(source, "legal_basis", None)
        if isinstance(basis, str):
            return basis
    return None


def opening_row(uow: UnitOfWork, case_id: str) -> CaseMessageRow | None:
    return uow.session.scalars(
        select(CaseMessageRow)
        .where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id)
        .limit(1)
    ).first()


def parsed(row: CaseMessageRow, text: str) -> MessageBody:
    return parse_body(row.type, json.loads(text))
