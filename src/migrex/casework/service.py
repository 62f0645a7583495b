"""Use cases of casework: open a request, file what arrives, refuse, withdraw, list overdue.

Each use case is one unit of work: the case change, the outgoing message (outbox) and the
case's own history are written together and committed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from joserfc.jwk import OKPKey
from pydantic import BaseModel
from sqlalchemy import select

from migrex.agreements import Agreement, Urgency
from migrex.audit import events
from migrex.audit.message_kinds import AUDIT_TYPES, FOR_AUDIT
from migrex.audit.pending import record
from migrex.casework.bodies import CASE_BODY, body_of
from migrex.casework.consultation_signing import verify_cosignature
from migrex.casework.lifecycle import (
    INITIAL_STATE,
    TERMINAL_STATES,
    CaseState,
    Direction,
    Event,
    IllegalTransition,
    due_at,
    event_of,
    overdue,
    transition,
)
from migrex.casework.messages import (
    CATEGORY_OF_TYPE,
    ClarificationAnswer,
    MessageBody,
    MessageInvalid,
    Refusal,
    Withdrawal,
    check_refusal,
    parse_body,
    refusal_for,
)
from migrex.casework.messages_base import StatisticalInformation
from migrex.casework.messages_person import ConsultationOutcome
from migrex.casework.onward import Originator, check_onward_transfer, originator_of
from migrex.casework.screening import Screening, amended, request_of, screen
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.envelope import new_message_id
from migrex.errors import Conflict, NotFound, Problem
from migrex.exchange.outbox import OutgoingMessage, canonical_json, enqueue
from migrex.exchange.service import NotPermitted, SendMessage, check_send
from migrex.exchange.tables import InboxMessage
from migrex.identity import FileKeyStore, KeyUse
from migrex.identity.secrets import node_secret
from migrex.ledger.service import MessageFacts, persons_in_period, record_message
from migrex.node import Node
from migrex.retention.service import RETENTION_KEY, seal_record
from migrex.stats.messaging import received_release
from migrex.stats.release import ReleaseInvalid
from migrex.stats.service import PARTNER
from migrex.stats.service import store as store_release
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class NodeContext:
    """What casework needs to know of the node: its agreements, hosted authorities, and the
    key of the subject hashes its disclosure ledger and audit log record."""

    agreements: Mapping[str, Agreement]
    hosted: Sequence[str]
    subject_key: bytes = field(repr=False)
    retention_key: bytes = field(repr=False)
    # Our authorities' signing keys (private JWKs, every one still valid or not): a received
    # outcome that claims our co-signature is checked against them before it closes a case.
    own_signing_keys: Callable[[str], Sequence[OKPKey]] = field(
        default=lambda _authority: (), repr=False
    )


def node_context(node: Node) -> NodeContext:
    keys = node.settings.resolved_key_dir
    store = FileKeyStore(keys)

    def signing(authority: str) -> list[OKPKey]:
        return [k.key for k in store.all_keys(authority) if k.use is KeyUse.SIGNING]

    return NodeContext(
        node.agreements, node.settings.authorities,
        node_secret(keys, SUBJECT_KEY), node_secret(keys, RETENTION_KEY), signing,
    )  # fmt: skip


log = structlog.get_logger(__name__)

SUBJECT_KEY = "subject.key"
INBOX_BODY = "inbox-body"
SIGNED_MESSAGE = "signed-message"


@dataclass(frozen=True)
class OpenRequest:
    agreement_id: str
    sender: str
    recipient: str
    type: str
    body: Mapping[str, Any]
    actor: str
    urgency: Urgency = Urgency.NORMAL
    # Cases whose received personal data this request passes on: their originators decide
    # where it may go (the onward-transfer guard).
    derived_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opened:
    case_id: str
    message_id: str
    flags: list[str] = field(default_factory=list)


def _json(body: BaseModel) -> dict[str, Any]:
    return json.loads(body.model_dump_json(exclude_none=True))  # type: ignore[no-any-return]


def _category(message_type: str) -> str:
    category = CATEGORY_OF_TYPE.get(message_type)
    if category is None:
        raise MessageInvalid(f"a {message_type} message does not open a case")
    return category


def open_request(uow: UnitOfWork, node: NodeContext, command: OpenRequest, now: datetime) -> Opened:
    """Screens the request against the agreement, opens the case and queues the message.

    A breach stops the send (NotPermitted listing each breach); doubts are kept as flags.
    """
    category = _category(command.type)
    send = SendMessage(command.agreement_id, command.sender, command.recipient, command.type,
                       command.body, category=category)  # fmt: skip
    agreement = check_send(send, node.agreements, node.hosted)
    body = parse_body(command.type, dict(command.body))
    _guard_onward_transfer(uow, node, command, agreement)
    disclosed = persons_in_period(
        uow.session, agreement, direction="sent",
        partner_state=agreement.authority(command.recipient).state, now=now,
    )  # fmt: skip
    screening = screen(
        agreement,
        request_of(body, sender=command.sender, recipient=command.recipient),  # type: ignore[arg-type]
        disclosed_in_period=disclosed,
    )
    if not screening.passed:
        raise NotPermitted(
            "the request breaches the agreement and was not sent",
            [
                Problem(b.kind, f"{b.detail} (ground: {b.proposed_ground.id})")
                for b in screening.breaches
            ],
        )
    urgency = getattr(body, "urgency", command.urgency)
    case_id = new_message_id(now)
    state = transition(Direction.OUTGOING, INITIAL_STATE[Direction.OUTGOING], Event.SEND)
    case = CaseRow(
            id=case_id, agreement_id=agreement.id, direction=Direction.OUTGOING, category=category,
            purpose=getattr(body, "purpose", None), our_authority=command.sender,
            partner_authority=command.recipient, state=state, urgency=urgency, opened_at=now,
            due_at=due_at(agreement, category, urgency, now), closed_at=None,
            opened_by=command.actor,
    )  # fmt: skip
    uow.session.add(case)
    uow.session.flush()
    message_id = _send(uow, agreement, case, body, actor=command.actor, now=now,
                       node=node)  # fmt: skip
    move = Move(Event.SEND, INITIAL_STATE[Direction.OUTGOING], state)
    _history(uow, case_id, move, actor=command.actor, now=now)
    _notes(uow, case_id, screening)
    uow.commit()
    return Opened(case_id, message_id, [f"{f.kind}: {f.detail}" for f in screening.flags])


def _guard_onward_transfer(
    uow: UnitOfWork, node: NodeContext, command: OpenRequest, agreement: Agreement
) -> None:
    """Refuses to pass data received from one partner on to any other state."""
    labels: list[Originator] = []
    for case_id in command.derived_from:
        source = _case(uow, case_id)
        if source.direction == Direction.INCOMING:
            labels.append(
                originator_of(node.agreements[source.agreement_id], source.partner_authority)
            )
    recipient_state = agreement.authority(command.recipient).state
    own_state = agreement.authority(command.sender).state
    check_onward_transfer(labels, recipient_state, own_state=own_state)


def _send(
    uow: UnitOfWork, agreement: Agreement, case: CaseRow, body: MessageBody, *, actor: str,
    now: datetime, in_reply_to: str | None = None, node: NodeContext | None = None,
) -> str:  # fmt: skip
    """Queue `body` on the case and record it; data about persons goes into the disclosure
    ledger, which needs the node's keys (sending such data without them is a bug)."""
    message_id = new_message_id(now)
    payload = _json(body)
    if "results" in payload or "persons" in payload or "person" in payload:
        if node is None:
            raise RuntimeError(f"a {body.type} about persons was sent without the node's keys")
        opening = _opening_body(uow, node, case.id) if "results" in payload else None
        facts = MessageFacts(
            "sent", agreement.id, case.our_authority, case.partner_authority, message_id,
            body.type, case.id, case.purpose, _legal_basis(payload, opening), actor, now,
        )  # fmt: skip
        record_message(uow.session, node.subject_key, facts, payload, opening)
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


def _opening_row(uow: UnitOfWork, case_id: str) -> CaseMessageRow | None:
    return uow.session.scalars(
        select(CaseMessageRow)
        .where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id)
        .limit(1)
    ).first()


def _opening_body(uow: UnitOfWork, node: NodeContext, case_id: str) -> dict[str, Any] | None:
    """The body of the message that opened the case (None while it has none)."""
    row = _opening_row(uow, case_id)
    return None if row is None else body_of(uow, node, row)


def _legal_basis(payload: Mapping[str, Any], opening: Mapping[str, Any] | None) -> str | None:
    basis = payload.get("legal_basis") or (opening or {}).get("legal_basis")
    return basis if isinstance(basis, str) else None


@dataclass(frozen=True)
class Move:
    event: Event
    before: CaseState
    after: CaseState


def _history(uow: UnitOfWork, case_id: str, move: Move, *, actor: str, now: datetime) -> None:
    """The case's own history row, and the decision's entry in the audit log (appended when
    the use case commits, in the same transaction)."""
    uow.session.add(
        CaseEventRow(case_id=case_id, at=now, actor=actor, event=move.event,
                     from_state=move.before, to_state=move.after, detail=None)
    )  # fmt: skip
    case = uow.session.get(CaseRow, case_id)
    if case is not None:
        record(uow.session, events.decision(at=now, actor=actor, authority=case.our_authority,
                                            case_id=case_id, event=str(move.event),
                                            purpose=case.purpose))  # fmt: skip


def _notes(uow: UnitOfWork, case_id: str, screening: Screening, prefix: str = "") -> None:
    for breach in screening.breaches:
        uow.session.add(ScreeningNoteRow(case_id=case_id, severity="breach", kind=breach.kind,
                                         detail=prefix + breach.detail,
                                         proposed_ground=breach.proposed_ground.id))  # fmt: skip
    for flag in screening.flags:
        uow.session.add(ScreeningNoteRow(case_id=case_id, severity="flag", kind=flag.kind,
                                         detail=prefix + flag.detail,
                                         proposed_ground=None))  # fmt: skip


def file_inbox(uow: UnitOfWork, node: NodeContext, now: datetime, limit: int = 500) -> int:
    """Turns received messages into case work; returns how many were filed.

    A message that opens a case becomes an incoming case, screened, queued for a reviewer.
    Any other message joins its case and moves it (a reply answers, a refusal refuses...).
    A message that does not parse, or arrives too late for its case, is filed without a move.
    """
    rows = list(uow.session.scalars(
        select(InboxMessage).where(InboxMessage.status == "new").order_by(InboxMessage.id)
        .limit(limit)
    ))  # fmt: skip
    for row in rows:
        row.status = _file(uow, node, row, now)
    uow.commit()
    return len(rows)


def _file(uow: UnitOfWork, node: NodeContext, row: InboxMessage, now: datetime) -> str:
    if row.type in AUDIT_TYPES:
        return FOR_AUDIT  # checkpoints and cosignatures: the witness clerk's
    agreement = node.agreements.get(row.agreement_id)
    if agreement is None or row.case_id is None:
        return "unfiled"
    try:
        body = parse_body(row.type, json.loads(row.body))
    except MessageInvalid:
        return "invalid"
    actor = f"partner:{row.sender}"
    if isinstance(body, StatisticalInformation) and body.release is not None:
        try:
            release = received_release(agreement, row.sender, body)
            store_release(uow.session, release, origin=PARTNER, actor=actor, now=now,
                          message_id=row.message_id)  # fmt: skip
        except (ReleaseInvalid, NotFound, Conflict) as error:
            log.warning("release refused", message_id=row.message_id, reason=error.detail)
            return "invalid"
    case = uow.session.get(CaseRow, row.case_id)
    if case is None:
        if CATEGORY_OF_TYPE.get(row.type) is None:
            return "unfiled"
        case = _incoming_case(uow, agreement, row, body, now)
        disclosed = persons_in_period(
            uow.session, agreement, direction="received",
            partner_state=agreement.authority(row.sender).state, now=now,
        )  # fmt: skip
        _screen_incoming(uow, agreement, case, row, body, disclosed=disclosed)
    elif case.partner_authority != row.sender or case.our_authority != row.recipient:
        return "unfiled"  # a case id naming someone else's case: never join it
    payload = json.loads(row.body)
    opening = _opening_body(uow, node, case.id) if "results" in payload else None
    facts = MessageFacts(
        "received", agreement.id, case.our_authority, case.partner_authority, row.message_id,
        row.type, case.id, case.purpose, _legal_basis(payload, opening), actor, now,
    )  # fmt: skip
    record_message(uow.session, node.subject_key, facts, payload, opening)
    stored_body = row.body
    if agreement.categories[case.category].personal_data:
        stored_body = _seal_received(uow, node, agreement, row, now)
    uow.session.add(
        CaseMessageRow(case_id=case.id, message_id=row.message_id, direction="received",
                       type=row.type, body=stored_body, at=now, actor=actor)
    )  # fmt: skip
    event = event_of(body, parties=(case.our_authority, case.partner_authority))
    if isinstance(body, Refusal):
        check_refusal(agreement, body)
    forged = "the outcome claims our co-signature, which does not verify with our keys"
    if (
        isinstance(body, ConsultationOutcome)
        and event is not None
        and not _our_cosignature_holds(node, case, body)
    ):
        _note(uow, case.id, "flag", "cosignature-not-ours", forged)
        return "cosignature-invalid"
    if isinstance(body, ClarificationAnswer) and case.direction == Direction.INCOMING:
        _rescreen(uow, node, case, body, now=now)
    if event is not None and case.state not in TERMINAL_STATES:
        try:
            before = CaseState(case.state)
            case.state = transition(Direction(case.direction), before, event)
        except IllegalTransition:
            return "filed-late"
        _history(uow, case.id, Move(event, before, CaseState(case.state)), actor=actor, now=now)
        if case.state in TERMINAL_STATES:
            case.closed_at = now
    return "filed"


def _seal_received(
    uow: UnitOfWork, node: NodeContext, agreement: Agreement, row: InboxMessage, now: datetime
) -> str:
    """Seal every stored copy of a received message about persons under one data key, which
    retention destroys when the agreement's period ends; returns the case's sealed copy."""
    sealed = seal_record(
        uow.session, node.retention_key, record=row.message_id, agreement=agreement,
        our_authority=row.recipient,
        texts={CASE_BODY: row.body, INBOX_BODY: row.body, SIGNED_MESSAGE: row.signed_message},
        now=now,
    )  # fmt: skip
    row.body, row.signed_message = sealed[INBOX_BODY], sealed[SIGNED_MESSAGE]
    return sealed[CASE_BODY]


def _our_cosignature_holds(node: NodeContext, case: CaseRow, body: ConsultationOutcome) -> bool:
    ours = [c for c in body.cosignatures if c.authority == case.our_authority]
    return bool(ours) and any(
        verify_cosignature(ours[0], key, agreement_id=case.agreement_id, case_id=case.id,
                           outcome=body.outcome)
        for key in node.own_signing_keys(case.our_authority)
    )  # fmt: skip


def _rescreen(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, answer: ClarificationAnswer, *,
    now: datetime,
) -> None:  # fmt: skip
    """Screen the partner's request again as their clarification amends it: the reviewer sees
    what the amendment changed (a breach it brings is a proposed refusal, as at receipt)."""
    agreement = node.agreements[case.agreement_id]
    opening = _opening_row(uow, case.id)
    if opening is None:
        return
    original = parse_body(opening.type, body_of(uow, node, opening))
    request = request_of(original, sender=case.partner_authority,  # type: ignore[arg-type]
                         recipient=case.our_authority)  # fmt: skip
    disclosed = persons_in_period(uow.session, agreement, direction="received",
                                  partner_state=agreement.authority(case.partner_authority).state,
                                  now=now)  # fmt: skip
    screening = screen(agreement, amended(request, answer), disclosed_in_period=disclosed)
    _notes(uow, case.id, screening, prefix="after clarification: ")


def _note(uow: UnitOfWork, case_id: str, severity: str, kind: str, detail: str) -> None:
    uow.session.add(ScreeningNoteRow(case_id=case_id, severity=severity, kind=kind,
                                     detail=detail, proposed_ground=None))  # fmt: skip


def _incoming_case(
    uow: UnitOfWork, agreement: Agreement, row: InboxMessage, body: MessageBody, now: datetime
) -> CaseRow:
    category = _category(row.type)
    urgency = getattr(body, "urgency", Urgency.NORMAL)
    case = CaseRow(
        id=row.case_id, agreement_id=agreement.id, direction=Direction.INCOMING,
        category=category, purpose=getattr(body, "purpose", None), our_authority=row.recipient,
        partner_authority=row.sender, state=INITIAL_STATE[Direction.INCOMING], urgency=urgency,
        opened_at=now, due_at=due_at(agreement, category, urgency, now), closed_at=None,
        opened_by=f"partner:{row.sender}",
    )  # fmt: skip
    uow.session.add(case)
    uow.session.flush()
    return case


def _screen_incoming(
    uow: UnitOfWork, agreement: Agreement, case: CaseRow, row: InboxMessage, body: MessageBody,
    *, disclosed: int,
) -> None:  # fmt: skip
    screening = screen(
        agreement,
        request_of(body, sender=row.sender, recipient=row.recipient),  # type: ignore[arg-type]
        disclosed_in_period=disclosed,
    )
    _notes(uow, case.id, screening)


def _case(uow: UnitOfWork, case_id: str) -> CaseRow:
    case = uow.session.get(CaseRow, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def _move(uow: UnitOfWork, case: CaseRow, event: Event, actor: str, now: datetime) -> None:
    before = CaseState(case.state)
    case.state = transition(Direction(case.direction), before, event)
    _history(uow, case.id, Move(event, before, CaseState(case.state)), actor=actor, now=now)
    if case.state in TERMINAL_STATES:
        case.closed_at = now


def open_review(uow: UnitOfWork, case_id: str, actor: str, now: datetime) -> None:
    _move(uow, _case(uow, case_id), Event.OPEN_REVIEW, actor, now)
    uow.commit()


def refuse(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, grounds: Sequence[str],
    explanation: str, actor: str, now: datetime,
) -> str:  # fmt: skip
    """Refuses an incoming request on the agreement's grounds; the refusal is a signed message."""
    case = _case(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    refusal = refusal_for(agreement, grounds, explanation)
    _move(uow, case, Event.REFUSE, actor, now)
    message_id = _send(uow, agreement, case, refusal, actor=actor, now=now)
    uow.commit()
    return message_id


def withdraw(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, reason: str, actor: str, now: datetime
) -> str:
    """Withdraws one of our requests; the partner is told."""
    case = _case(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    _move(uow, case, Event.WITHDRAW, actor, now)
    message_id = _send(uow, agreement, case, Withdrawal(reason=reason), actor=actor, now=now)
    uow.commit()
    return message_id


def overdue_cases(uow: UnitOfWork, now: datetime) -> list[CaseRow]:
    """Open cases past their deadline, longest overdue first."""
    rows = uow.session.scalars(
        select(CaseRow).where(CaseRow.state.not_in([s.value for s in TERMINAL_STATES]))
    )
    return overdue(list(rows), now)
