"""Use cases of casework: open a request, review, refuse, withdraw, expire, list overdue.

Each use case is one unit of work: the case change, the outgoing message (outbox) and the
case's own history are written together and committed once. Every message leaves through the
outgoing gate (`casework.gate`); every received message is filed by the filing gate
(`casework.filing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from migrex.agreements import Agreement, Urgency
from migrex.casework import gate, request_keys
from migrex.casework.context import SUBJECT_KEY, NodeContext, node_context
from migrex.casework.filing import file_inbox
from migrex.casework.kinds import Role
from migrex.casework.lifecycle import (
    INITIAL_STATE,
    TERMINAL_STATES,
    Direction,
    Event,
    IllegalTransition,
    due_at,
    overdue,
    transition,
)
from migrex.casework.messages import (
    MessageBody,
    MessageInvalid,
    Withdrawal,
    parse_body,
    refusal_for,
)
from migrex.casework.screening import Screening, request_of, screen
from migrex.casework.steps import Move, history, lock_case, move, notes, send
from migrex.casework.tables import CaseRow
from migrex.db import begin_writing
from migrex.envelope import new_message_id
from migrex.errors import Problem
from migrex.exchange.service import NotPermitted, SendMessage, check_send
from migrex.ledger.volume import persons_in_period
from migrex.uow import UnitOfWork

__all__ = [
    "SUBJECT_KEY",
    "NodeContext",
    "OpenRequest",
    "Opened",
    "Screened",
    "expire",
    "file_inbox",
    "node_context",
    "open_case",
    "open_request",
    "open_review",
    "overdue_cases",
    "refuse",
    "screen_request",
    "withdraw",
]


@dataclass(frozen=True)
class OpenRequest:
    agreement_id: str
    sender: str
    recipient: str
    type: str
    body: Mapping[str, Any]
    actor: str
    urgency: Urgency = Urgency.NORMAL
    # The client's key for this request (`casework.request_keys`): sent again with it, the
    # request is answered with the case it opened the first time.
    request_key: str | None = None


@dataclass(frozen=True)
class Opened:
    case_id: str
    message_id: str
    flags: list[str] = field(default_factory=list)
    # Opened by an earlier request with the same key: nothing was opened or sent now.
    again: bool = False


@dataclass(frozen=True)
class Screened:
    """A request as it would be sent, and what screening found in it."""

    agreement: Agreement
    category: str
    body: MessageBody
    screening: Screening


def screen_request(
    uow: UnitOfWork, node: NodeContext, command: OpenRequest, now: datetime
) -> Screened:
    """Screens a request (or notice, or information) against the agreement exactly as
    `open_request` does before it sends, and sends nothing: what the officer sees before
    sending. Raises as `open_request` does for a kind that opens no case, a send the agreement
    does not allow at all, or a malformed body."""
    kind = gate.kind_for(command.type)
    if not kind.opens_case or kind.category is None:
        raise MessageInvalid(
            f"a {command.type} message does not open a case",
            [Problem("type", "it continues a case; use the case's own step")],
        )
    send_check = SendMessage(command.agreement_id, command.sender, command.recipient,
                             command.type, command.body, category=kind.category)  # fmt: skip
    agreement = check_send(send_check, node.agreements, node.hosted)
    body = parse_body(command.type, dict(command.body))
    disclosed = persons_in_period(
        uow.session, agreement, direction="sent",
        partner_state=agreement.authority(command.recipient).state, now=now,
    )  # fmt: skip
    screening = screen(
        agreement,
        request_of(body, sender=command.sender, recipient=command.recipient),  # type: ignore[arg-type]
        disclosed_in_period=disclosed,
    )
    return Screened(agreement, kind.category, body, screening)


def open_request(uow: UnitOfWork, node: NodeContext, command: OpenRequest, now: datetime) -> Opened:
    """Screens the request (or notice, or information) against the agreement, opens its case
    and sends it through the gate.

    A breach stops the send (NotPermitted listing each breach); doubts are kept as flags.
    Only kinds that open a case are accepted here; every other kind continues a case.
    """
    if command.request_key is not None:
        return _open_once(uow, node, command, command.request_key, now)
    opened = open_case(uow, node, command, now)
    uow.commit()
    return opened


def _open_once(
    uow: UnitOfWork, node: NodeContext, command: OpenRequest, key: str, now: datetime
) -> Opened:
    """`open_request` for a request the client gave a key: the case the key opened before,
    or a new one remembered under the key."""
    sent = {"agreement": command.agreement_id, "sender": command.sender,
            "recipient": command.recipient, "type": command.type, "body": dict(command.body),
            "urgency": str(command.urgency)}  # fmt: skip
    mark = request_keys.fingerprint(node.subject_key, sent)
    key = request_keys.key_hash(node.subject_key, key)
    # On SQLite the write lock first: a second request waits for the first to commit, and
    # then finds its key (on PostgreSQL it waits at the key's row, below).
    begin_writing(uow.session)
    earlier = request_keys.opened_before(uow.session, command.actor, key, mark, now)
    if earlier is None:
        opened = open_case(uow, node, command, now)
        try:
            request_keys.remember(uow.session, command.actor, key, mark, case_id=opened.case_id,
                                      now=now)  # fmt: skip
            uow.commit()
            return opened
        except IntegrityError:
            # The same key committed meanwhile by a request sent at the same moment: this
            # one's case, message and log entries go, and it is answered with that case.
            uow.session.rollback()
            earlier = request_keys.opened_before(uow.session, command.actor, key, mark, now)
            if earlier is None:
                raise
    return Opened(earlier, request_keys.opening_message(uow.session, earlier),
                  request_keys.flags_of(uow.session, earlier), again=True)  # fmt: skip


def open_case(uow: UnitOfWork, node: NodeContext, command: OpenRequest, now: datetime) -> Opened:
    """`open_request` without its commit: for a use case above casework that opens a case as
    one step of its own unit of work (an analyst opening a lead) and commits once itself."""
    screened = screen_request(uow, node, command, now)
    agreement, body, screening = screened.agreement, screened.body, screened.screening
    if not screening.passed:
        raise NotPermitted(
            "the request breaches the agreement and was not sent",
            [
                Problem(b.kind, f"{b.detail} (ground: {b.proposed_ground.id})")
                for b in screening.breaches
            ],
        )
    urgency = getattr(body, "urgency", command.urgency)
    state = transition(Direction.OUTGOING, INITIAL_STATE[Direction.OUTGOING], Event.SEND)
    # Only a request is owed an answer; a notice or information runs no clock.
    role = gate.kind_for(command.type).role
    due = due_at(agreement, screened.category, urgency, now) if role is Role.REQUEST else None
    case = CaseRow(
        id=new_message_id(now), agreement_id=agreement.id, direction=Direction.OUTGOING,
        category=screened.category, purpose=getattr(body, "purpose", None),
        our_authority=command.sender, partner_authority=command.recipient, state=state,
        urgency=urgency, opened_at=now, due_at=due, closed_at=None, opened_by=command.actor,
    )  # fmt: skip
    uow.session.add(case)
    uow.session.flush()
    view = gate.CaseView(opening=None, asked=frozenset())
    message_id = gate.send(uow, node, case, body, view, actor=command.actor, now=now)
    history(uow, case, Move(Event.SEND, INITIAL_STATE[Direction.OUTGOING], state),
            actor=command.actor, now=now)  # fmt: skip
    notes(uow, case.id, screening)
    return Opened(case.id, message_id, [f"{f.kind}: {f.detail}" for f in screening.flags])


def open_review(uow: UnitOfWork, case_id: str, actor: str, now: datetime) -> None:
    move(uow, lock_case(uow, case_id), Event.OPEN_REVIEW, actor, now)
    uow.commit()


def refuse(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, grounds: Sequence[str],
    explanation: str, actor: str, now: datetime,
) -> str:  # fmt: skip
    """Refuses an incoming request on the agreement's grounds; the refusal is a signed message."""
    case = lock_case(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    refusal = refusal_for(agreement, grounds, explanation)
    move(uow, case, Event.REFUSE, actor, now)
    message_id = send(uow, node, case, refusal, actor=actor, now=now)
    uow.commit()
    return message_id


def withdraw(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, reason: str, actor: str, now: datetime
) -> str:
    """Withdraws one of our requests; the partner is told. Only ours: an incoming case moves
    to withdrawn when the partner withdraws it (filing its message), never by our hand, which
    would tell the partner it withdrew its own request."""
    case = lock_case(uow, case_id)
    if case.direction != Direction.OUTGOING:
        raise IllegalTransition(f"case {case_id} is the partner's request: only it can withdraw it")
    move(uow, case, Event.WITHDRAW, actor, now)
    message_id = send(uow, node, case, Withdrawal(reason=reason), actor=actor, now=now)
    uow.commit()
    return message_id


def expire(uow: UnitOfWork, case_id: str, *, actor: str, now: datetime) -> None:
    """Closes an open case for lapse (the partner never answered, or we can no longer). Final:
    a late message on it is filed without moving it."""
    move(uow, lock_case(uow, case_id), Event.EXPIRE, actor, now)
    uow.commit()


def overdue_cases(uow: UnitOfWork, now: datetime, authority: str | None = None) -> list[CaseRow]:
    """Open cases past their deadline (of one authority when given), longest overdue first."""
    query = select(CaseRow).where(
        CaseRow.state.not_in([s.value for s in TERMINAL_STATES]),
        CaseRow.due_at.is_not(None),
        CaseRow.due_at < now,
    )
    if authority is not None:
        query = query.where(CaseRow.our_authority == authority)
    return overdue(list(uow.session.scalars(query)), now)
