"""The steps every casework use case is made of: load a case, move it, note what screening
found, see the request that opened it, and send a message on it through the gate.

Each step works inside the caller's unit of work and never commits: the use case does, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework import gate
from migrex.casework.bodies import body_of
from migrex.casework.context import NodeContext
from migrex.casework.lifecycle import (
    TERMINAL_STATES,
    CaseState,
    Direction,
    Event,
    event_of,
    transition,
)
from migrex.casework.messages import ClarificationAnswer, MessageBody, MessageInvalid, parse_body
from migrex.casework.screening import Screening
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.db import begin_writing
from migrex.errors import NotFound
from migrex.uow import UnitOfWork


def load_case(uow: UnitOfWork, case_id: str) -> CaseRow:
    case = uow.session.get(CaseRow, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def lock_case(uow: UnitOfWork, case_id: str) -> CaseRow:
    """The case, held until the unit of work ends, for a use case that checks the case (its
    state, holder, draft) and then changes it. Two officers, or one officer's double click,
    acting on one case at once both passed the checks and both decided: two refusals left. The
    second now waits for the first and checks the case as the first left it (IllegalTransition,
    a Conflict). The case is read again even if the session holds it (`populate_existing`)."""
    begin_writing(uow.session)  # SQLite: its one write lock, which PostgreSQL's row lock is
    case = uow.session.get(CaseRow, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


@dataclass(frozen=True)
class Move:
    event: Event
    before: CaseState
    after: CaseState


def history(
    uow: UnitOfWork, case: CaseRow, move: Move, *, actor: str, now: datetime,
    rows: list[dict[str, Any]] | None = None,
) -> None:  # fmt: skip
    """The case's own history row, and the decision's entry in the audit log (appended when
    the use case commits, in the same transaction). With `rows`, the history row goes there
    for the caller to insert with others in one statement (a filing round), not into the
    session."""
    row = {"case_id": case.id, "at": now, "actor": actor, "event": move.event,
           "from_state": move.before, "to_state": move.after, "detail": None}  # fmt: skip
    if rows is None:
        uow.session.add(CaseEventRow(**row))
    else:
        rows.append(row)
    record(uow.session, events.decision(at=now, actor=actor, authority=case.our_authority,
                                        case_id=case.id, event=str(move.event),
                                        purpose=case.purpose))  # fmt: skip


def move(
    uow: UnitOfWork, case: CaseRow, event: Event, actor: str, now: datetime, *,
    rows: list[dict[str, Any]] | None = None,
) -> None:  # fmt: skip
    """Moves the case by `event` (IllegalTransition when its state does not allow it); its
    history row goes to `rows` when given (see `history`)."""
    before = CaseState(case.state)
    case.state = transition(Direction(case.direction), before, event)
    history(uow, case, Move(event, before, CaseState(case.state)), actor=actor, now=now,
            rows=rows)  # fmt: skip
    if case.state in TERMINAL_STATES:
        case.closed_at = now


def note(
    uow: UnitOfWork, case_id: str, severity: str, kind: str, detail: str, *,
    proposed_ground: str | None = None,
) -> None:  # fmt: skip
    uow.session.add(ScreeningNoteRow(case_id=case_id, severity=severity, kind=kind,
                                     detail=detail, proposed_ground=proposed_ground))  # fmt: skip


def notes(uow: UnitOfWork, case_id: str, screening: Screening, prefix: str = "") -> None:
    for breach in screening.breaches:
        note(uow, case_id, "breach", breach.kind, prefix + breach.detail,
             proposed_ground=breach.proposed_ground.id)  # fmt: skip
    for flag in screening.flags:
        note(uow, case_id, "flag", flag.kind, prefix + flag.detail)


def opening_of(uow: UnitOfWork, case_id: str) -> CaseMessageRow:
    """The row of the message that opened the case; MessageInvalid when it has none."""
    row = gate.opening_row(uow, case_id)
    if row is None:
        raise MessageInvalid(f"case {case_id} has no message")
    return row


def opening_message(uow: UnitOfWork, node: NodeContext, case_id: str) -> MessageBody | None:
    """The parsed request that opened the case (None while it has none). Raises Erased once
    its retention has ended."""
    row = gate.opening_row(uow, case_id)
    return None if row is None else parse_body(row.type, body_of(uow, node, row))


def clarifications(uow: UnitOfWork, node: NodeContext, case: CaseRow) -> list[ClarificationAnswer]:
    """The requesting party's clarification answers on the case, oldest first."""
    direction = "received" if case.direction == Direction.INCOMING else "sent"
    rows = uow.session.scalars(
        select(CaseMessageRow)
        .where(CaseMessageRow.case_id == case.id, CaseMessageRow.direction == direction,
               CaseMessageRow.type == "clarification-answer")
        .order_by(CaseMessageRow.id)
    )  # fmt: skip
    answers = [parse_body(row.type, body_of(uow, node, row)) for row in rows]
    return [a for a in answers if isinstance(a, ClarificationAnswer)]


def asked_fields(
    opening: MessageBody | None, answers: Sequence[ClarificationAnswer]
) -> frozenset[str]:
    """The person fields the request asks for, as its latest clarification narrowed them."""
    asked = frozenset(getattr(opening, "requested_fields", None) or ())
    for answer in answers:
        if answer.requested_fields is not None:
            asked = frozenset(answer.requested_fields)
    return asked


def case_view(uow: UnitOfWork, node: NodeContext, case: CaseRow) -> gate.CaseView:
    opening = opening_message(uow, node, case.id)
    return gate.CaseView(opening, asked_fields(opening, clarifications(uow, node, case)))


def send(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, body: MessageBody, *, actor: str,
    now: datetime, in_reply_to: str | None = None, view: gate.CaseView | None = None,
) -> str:  # fmt: skip
    """Sends `body` on the case through the outgoing gate; returns its message id. `view` is
    the case's view when the use case has just read it (else it is read here)."""
    view = view if view is not None else case_view(uow, node, case)
    return gate.send(uow, node, case, body, view, actor=actor, now=now, in_reply_to=in_reply_to)


def send_answer(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, reply: MessageBody, *, actor: str,
    now: datetime, view: gate.CaseView | None = None,
) -> str:  # fmt: skip
    """Moves the case as `reply` answers it and sends the reply, in reply to the request."""
    opening = opening_of(uow, case.id)
    move(uow, case, event_of(reply) or Event.FULFIL, actor, now)
    return send(uow, node, case, reply, actor=actor, now=now, in_reply_to=opening.message_id,
                view=view)  # fmt: skip
