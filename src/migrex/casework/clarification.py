"""Clarification of a request: the requested party's reviewer asks, the requesting party answers.

Asking pauses the request (the partner's case moves to clarification-requested when the
question is filed); answering hands it back to the partner's reviewer, who sees it in review
again. An answer may amend the request (a fuller legal basis, fewer fields); the amended
request is screened before it leaves, so an answer cannot turn a request into a breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from migrex.casework.assignment import check_holder
from migrex.casework.bodies import body_of
from migrex.casework.context import NodeContext
from migrex.casework.lifecycle import CaseState, Direction, Event, IllegalTransition, resume_due
from migrex.casework.messages import (
    ClarificationAnswer,
    ClarificationRequest,
    MessageInvalid,
    parse_body,
)
from migrex.casework.screening import amended, request_of, screen
from migrex.casework.steps import lock_case, move, opening_of, send
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow
from migrex.errors import Problem
from migrex.exchange.service import NotPermitted
from migrex.uow import UnitOfWork


def ask_clarification(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, question: str, actor: str,
    now: datetime,
) -> str:  # fmt: skip
    """Asks the requesting party about an incoming request in review; returns the message id."""
    case = _own(uow, case_id, Direction.INCOMING, "asks about a partner's request")
    check_holder(case, actor)
    opening = opening_of(uow, case_id)
    # The move first: a case not in review raises IllegalTransition before anything is queued.
    move(uow, case, Event.REQUEST_CLARIFICATION, actor, now)
    request = ClarificationRequest(questions=[question])
    message_id = send(
uow, node, case, request, actor=actor, now=now,
                       in_reply_to=opening.message_id)  # fmt: skip
    uow.commit()
    return message_id


def answer_clarification(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, answer: Mapping[str, Any], actor: str,
    now: datetime,
) -> str:  # fmt: skip
    """Answers the partner's clarification request on one of our requests; returns the message
    id. Raises MessageInvalid for a malformed answer and NotPermitted when the request as the
    answer amends it would breach the agreement (nothing is sent then)."""
    case = _own(uow, case_id, Direction.OUTGOING, "answers questions about our own request")
    agreement = node.agreements[case.agreement_id]
    body = parse_body("clarification-answer", dict(answer))
    if not isinstance(body, ClarificationAnswer):  # parse_body returns the type's model
        raise MessageInvalid("the answer is not a clarification answer")
    opening = opening_of(uow, case_id)
    original = parse_body(opening.type, body_of(uow, node, opening))
    request = request_of(original, sender=case.our_authority,  # type: ignore[arg-type]
                         recipient=case.partner_authority)  # fmt: skip
    screening = screen(agreement, amended(request, body), disclosed_in_period=0)
    if not screening.passed:
        raise NotPermitted(
            "the request as amended breaches the agreement; the answer was not sent",
            [
                Problem(b.kind, f"{b.detail} (ground: {b.proposed_ground.id})")
                for b in screening.breaches
            ],
        )
    paused_at = _paused_at(uow, case_id)
    move(uow, case, Event.CLARIFICATION_ANSWERED, actor, now)
    # The period stood still while the partner waited for us; give the time back.
    if case.due_at is not None and paused_at is not None:
        case.due_at = resume_due(_aware(case.due_at, now), _aware(paused_at, now), now)
    message_id = send(
uow, node, case, body, actor=actor, now=now,
                       in_reply_to=_question_id(uow, case))  # fmt: skip
    uow.commit()
    return message_id


def _own(uow: UnitOfWork, case_id: str, direction: Direction, what: str) -> CaseRow:
    # The transition table lets either side's case take both events (the partner's message
    # moves our case too), so who may act is checked here, before anything changes.
    case = lock_case(uow, case_id)
    if case.direction != direction:
        raise IllegalTransition(
            f"case {case_id} is {case.direction}; this node only {what}",
            [Problem("direction", f"must be {direction}")],
        )
    return case


def _aware(moment: datetime, like: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


def _paused_at(uow: UnitOfWork, case_id: str) -> datetime | None:
    return uow.session.scalars(
        select(CaseEventRow.at)
        .where(
            CaseEventRow.case_id == case_id,
            CaseEventRow.to_state == CaseState.CLARIFICATION_REQUESTED,
        )
        .order_by(CaseEventRow.id.desc())
    ).first()


def _question_id(uow: UnitOfWork, case: CaseRow) -> str | None:
    # The answer replies to the latest question the partner asked on this case.
    return uow.session.scalars(
        select(CaseMessageRow.message_id)
        .where(
            CaseMessageRow.case_id == case.id,
            CaseMessageRow.direction == "received",
            CaseMessageRow.type == "clarification-request",
        )
        .order_by(CaseMessageRow.id.desc())
    ).first()
