"""The request lifecycle as data: one table per direction, checked in `transition` only.

An outgoing case is a request this node's authority made; an incoming case is a partner's
request it must answer. Both directions share the states but not the moves: only the
requested party reviews, and only the requesting party drafts.

Overdue and expired are different things. A case is *overdue* while it is open and its due
time has passed; it stays on the overdue list and can still be answered. It is *expired* only
when someone closes it for lapse with the `expire` event; that is final, and a late reply to
it is filed without changing the case.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from migrex.agreements import Agreement, Urgency
from migrex.casework.messages import (
    AssistanceReply,
    CitizenshipVerificationReply,
    ClarificationAnswer,
    ClarificationRequest,
    ConsultationOutcome,
    LinkageRunAcceptance,
    MessageBody,
    PersonInquiryReply,
    Refusal,
    Withdrawal,
)
from migrex.errors import MigrexError, Problem


class CaseState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    DELIVERED = "delivered"
    IN_REVIEW = "in-review"
    CLARIFICATION_REQUESTED = "clarification-requested"
    ANSWERED = "answered"
    PARTIALLY_ANSWERED = "partially-answered"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    # A notice or information message: nothing is owed in return, so it is filed, not answered.
    FILED = "filed"


class Direction(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class Event(StrEnum):
    SEND = "send"
    DELIVERED = "delivered"
    OPEN_REVIEW = "open-review"
    REQUEST_CLARIFICATION = "request-clarification"
    CLARIFICATION_ANSWERED = "clarification-answered"
    FULFIL = "fulfil"
    FULFIL_PARTIALLY = "fulfil-partially"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"
    EXPIRE = "expire"
    FILE = "file"


S, E = CaseState, Event

# How the requested party can close a request it holds, and the moves open to a request
# the requested party is working on: the same set seen from either side.
_DECISIONS: Mapping[Event, CaseState] = {
    E.FULFIL: S.ANSWERED,
    E.FULFIL_PARTIALLY: S.PARTIALLY_ANSWERED,
    E.REFUSE: S.REFUSED,
}
_BEING_WORKED_ON: Mapping[Event, CaseState] = {
    E.REQUEST_CLARIFICATION: S.CLARIFICATION_REQUESTED,
    **_DECISIONS,
    E.WITHDRAW: S.WITHDRAWN,
    E.EXPIRE: S.EXPIRED,
}

TRANSITIONS: Mapping[tuple[Direction, CaseState], Mapping[Event, CaseState]] = {
    # Outgoing: the officer drafts and sends; the receipt marks it delivered; the partner's
    # messages (clarification request, reply, refusal) move it on.
    (Direction.OUTGOING, S.DRAFT): {E.SEND: S.SENT, E.WITHDRAW: S.WITHDRAWN},
    # A notice we sent is filed once the partner's receipt proves its delivery.
    # The relay records the receipt while the inbox dispatcher may already be handling the
    # partner's reply, so a reply is accepted in `sent` too: it proves delivery.
    (Direction.OUTGOING, S.SENT): {E.DELIVERED: S.DELIVERED, E.FILE: S.FILED, **_BEING_WORKED_ON},
    (Direction.OUTGOING, S.DELIVERED): dict(_BEING_WORKED_ON),
    # Answering the partner's question hands the request back to the partner's reviewer. The
    # partner may also give up waiting and refuse.
    (Direction.OUTGOING, S.CLARIFICATION_REQUESTED): {
        E.CLARIFICATION_ANSWERED: S.DELIVERED,
        E.REFUSE: S.REFUSED,
        E.WITHDRAW: S.WITHDRAWN,
        E.EXPIRE: S.EXPIRED,
    },
    # Incoming: a stored request starts `delivered`; a reviewer must take it up before
    # deciding, so every decision names the reviewer who opened it.
    # A received notice is filed at once; a request waits for a reviewer.
    (Direction.INCOMING, S.DELIVERED): {
        E.FILE: S.FILED,
        E.OPEN_REVIEW: S.IN_REVIEW,
        E.WITHDRAW: S.WITHDRAWN,
        E.EXPIRE: S.EXPIRED,
    },
    (Direction.INCOMING, S.IN_REVIEW): dict(_BEING_WORKED_ON),
    (Direction.INCOMING, S.CLARIFICATION_REQUESTED): {
        E.CLARIFICATION_ANSWERED: S.IN_REVIEW,
        E.REFUSE: S.REFUSED,
        E.WITHDRAW: S.WITHDRAWN,
        E.EXPIRE: S.EXPIRED,
    },
}

INITIAL_STATE: Mapping[Direction, CaseState] = {
    Direction.OUTGOING: S.DRAFT,
    Direction.INCOMING: S.DELIVERED,
}
TERMINAL_STATES: frozenset[CaseState] = frozenset(
    {S.ANSWERED, S.PARTIALLY_ANSWERED, S.REFUSED, S.WITHDRAWN, S.EXPIRED, S.FILED}
)
# While the partner answers a clarification request the period stands still (`resume_due`);
# a draft has no period yet.
CLOCK_RUNNING: frozenset[CaseState] = frozenset({S.SENT, S.DELIVERED, S.IN_REVIEW})


class IllegalTransition(MigrexError):
    type_slug = "illegal-transition"
    title = "The case cannot make this move in its current state"
    status = 409


def allowed_events(direction: Direction, state: CaseState) -> frozenset[Event]:
    """The events a case in this state accepts (empty for a closed case)."""
    return frozenset(TRANSITIONS.get((direction, state), {}))


def transition(direction: Direction, state: CaseState, event: Event) -> CaseState:
    """The state `event` moves the case to; raises IllegalTransition naming what is allowed."""
    moves = TRANSITIONS.get((direction, state), {})
    target = moves.get(event)
    if target is not None:
        return target
    allowed = ", ".join(sorted(moves))
    if not moves:
        reason = "it is closed" if state in TERMINAL_STATES else "the state does not occur"
        detail = f"an {direction} case in state {state} accepts no events ({reason})"
    else:
        detail = (
            f"an {direction} case in state {state} does not accept {event}; it accepts: {allowed}"
        )
    raise IllegalTransition(detail, [Problem("event", f"allowed: {allowed or 'none'}")])


def event_of(body: MessageBody, *, parties: Collection[str] = ()) -> Event | None:
    """The event a message moves its case with, or None when it only adds to the case.

    A consultation outcome closes the case only once every authority in `parties` (the
    consultation's authorities) has co-signed it.
    """
    match body:
        case PersonInquiryReply() if body.is_partial:
            return E.FULFIL_PARTIALLY
        case AssistanceReply() if body.withheld:
            return E.FULFIL_PARTIALLY
        case (
            PersonInquiryReply()
            | AssistanceReply()
            | CitizenshipVerificationReply()
            | LinkageRunAcceptance()
        ):
            return E.FULFIL
        case ConsultationOutcome():
            return E.FULFIL if parties and set(parties) <= body.signed_by() else None
        case Refusal():
            return E.REFUSE
        case Withdrawal():
            return E.WITHDRAW
        case ClarificationRequest():
            return E.REQUEST_CLARIFICATION
        case ClarificationAnswer():
            return E.CLARIFICATION_ANSWERED
    return None


# ---------------------------------------------------------------- deadlines


def _aware(moment: datetime, name: str) -> None:
    # A naive time would be read in the server's zone; deadlines cross borders and zones.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")


def due_at(agreement: Agreement, category: str, urgency: Urgency, from_time: datetime) -> datetime:
    """When the answer is due: `from_time` (delivery) plus the agreement's period for the
    category and urgency; raises NotFound for a category the agreement has no deadline for."""
    _aware(from_time, "from_time")
    return from_time + agreement.deadline(category, urgency)


def resume_due(due: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """The due time after a clarification: the time spent waiting for it is added back."""
    _aware(paused_at, "paused_at")
    _aware(resumed_at, "resumed_at")
    return due + max(resumed_at - paused_at, timedelta(0))


def is_overdue(state: CaseState, due: datetime, now: datetime) -> bool:
    """Whether an open case with a running clock is past its due time."""
    _aware(now, "now")
    return state in CLOCK_RUNNING and now > due


def reminder_at(started: datetime, due: datetime, fraction: float = 0.75) -> datetime:
    """When a reminder falls due: after `fraction` of the period from `started` to `due`."""
    if not 0 < fraction < 1:
        raise ValueError("the reminder fraction lies strictly between 0 and 1")
    return started + (due - started) * fraction


def reminder_due(
    state: CaseState, started: datetime, due: datetime, now: datetime, fraction: float = 0.75
) -> bool:
    """Whether a reminder is due now: the clock runs, `fraction` of it is used, it is not over."""
    _aware(now, "now")
    return state in CLOCK_RUNNING and reminder_at(started, due, fraction) <= now <= due


class Timed(Protocol):
    """What the overdue list needs of a case: a `CaseRow` or any plain object."""

    @property
    def state(self) -> str: ...

    @property
    def due_at(self) -> datetime | None: ...


T = TypeVar("T", bound=Timed)


def overdue(cases: Iterable[T], now: datetime) -> list[T]:
    """The overdue cases, longest overdue first; cases without a due time are never overdue."""
    late = [
        case
        for case in cases
        if case.due_at is not None and is_overdue(CaseState(case.state), case.due_at, now)
    ]
    return sorted(late, key=lambda case: case.due_at or now)
