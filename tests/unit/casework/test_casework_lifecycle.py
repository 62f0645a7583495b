"""The request lifecycle: every move in the table, every move outside it, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.agreements import Urgency, load_agreement
from migrex.casework import (
    CLOCK_RUNNING,
    INITIAL_STATE,
    TERMINAL_STATES,
    TRANSITIONS,
    AssistanceReply,
    CaseState,
    CitizenshipVerificationReply,
    ClarificationAnswer,
    ClarificationRequest,
    ConsultationFinding,
    ConsultationOutcome,
    Direction,
    Event,
    IllegalTransition,
    MessageBody,
    PersonInquiryReply,
    Refusal,
    Withdrawal,
    allowed_events,
    due_at,
    event_of,
    is_overdue,
    overdue,
    reminder_at,
    reminder_due,
    resume_due,
    transition,
)
from migrex.errors import NotFound

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
T0 = datetime(2025, 9, 10, 9, 0, tzinfo=UTC)

MOVES = [
    (direction, state, event, target)
    for (direction, state), moves in TRANSITIONS.items()
    for event, target in moves.items()
]
NON_MOVES = [
    (direction, state, event)
    for direction in Direction
    for state in CaseState
    for event in Event
    if event not in TRANSITIONS.get((direction, state), {})
]


@pytest.mark.parametrize(("direction", "state", "event", "target"), MOVES)
def test_every_move_in_the_table(
    direction: Direction, state: CaseState, event: Event, target: CaseState
) -> None:
    assert transition(direction, state, event) is target


@pytest.mark.parametrize(("direction", "state", "event"), NON_MOVES)
def test_every_move_outside_the_table_is_illegal(
    direction: Direction, state: CaseState, event: Event
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(direction, state, event)
    error = caught.value
    assert (error.status, error.exit_code) == (409, 15)
    assert str(state) in error.detail
    allowed = allowed_events(direction, state)
    if allowed:
        assert str(event) in error.detail
        assert all(str(e) in error.detail for e in allowed)
    assert error.problems[0].where == "event"


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_closed_cases_accept_nothing(direction: Direction, state: CaseState) -> None:
    assert allowed_events(direction, state) == frozenset()
    with pytest.raises(IllegalTransition, match="it is closed"):
        transition(direction, state, Event.WITHDRAW)


def _reachable(direction: Direction) -> set[CaseState]:
    seen, todo = {INITIAL_STATE[direction]}, [INITIAL_STATE[direction]]
    while todo:
        for target in TRANSITIONS.get((direction, todo.pop()), {}).values():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("direction", list(Direction))
def test_the_table_is_closed_and_every_open_state_is_reachable(direction: Direction) -> None:
    open_states = {state for d, state in TRANSITIONS if d is direction}
    assert not open_states & TERMINAL_STATES
    assert _reachable(direction) == open_states | TERMINAL_STATES
    assert INITIAL_STATE[direction] in open_states


def test_who_does_what() -> None:
    # Only the requested party reviews; only the requesting party drafts and sends.
    assert Event.OPEN_REVIEW not in {
        e for (d, _), m in TRANSITIONS.items() if d is Direction.OUTGOING for e in m
    }
    assert (Direction.INCOMING, CaseState.DRAFT) not in TRANSITIONS
    assert CLOCK_RUNNING.isdisjoint(TERMINAL_STATES)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Direction)), st.lists(st.sampled_from(list(Event)), max_size=12))
def test_random_event_sequences_stay_inside_the_table(
    direction: Direction, events: list[Event]
) -> None:
    legal = {state for d, state in TRANSITIONS if d is direction} | TERMINAL_STATES
    state = INITIAL_STATE[direction]
    for event in events:
        if event in allowed_events(direction, state):
            state = transition(direction, state, event)
        else:
            with pytest.raises(IllegalTransition):
                transition(direction, state, event)
        assert state in legal


# ---------------------------------------------------------------- messages → events

FOUND = {"person": 0, "hit": True, "fields": {"surname": "A"}}
WITHHELD = [{"field": "sex", "reason": "not held"}]
SIGNATURE = {"key_id": "k", "signature": "s" * 86, "signed_at": "2025-09-10T10:00:00Z"}


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (PersonInquiryReply.model_validate({"step": "full", "results": [FOUND]}), Event.FULFIL),
        (
            PersonInquiryReply.model_validate(
                {"step": "full", "results": [FOUND | {"withheld": WITHHELD}]}
            ),
            Event.FULFIL_PARTIALLY,
        ),
        (AssistanceReply(answer="yes"), Event.FULFIL),
        (AssistanceReply.model_validate({"answer": "in part", "withheld": WITHHELD}),
         Event.FULFIL_PARTIALLY),
        (CitizenshipVerificationReply.model_validate({"results": [{"person": 0, "holds": "no"}]}),
         Event.FULFIL),
        (Refusal.model_validate({"grounds": [{"ground": "security", "article": "Article 7"}],
                                 "explanation": "no"}), Event.REFUSE),
        (Withdrawal(reason="gone"), Event.WITHDRAW),
        (ClarificationRequest(questions=["why?"]), Event.REQUEST_CLARIFICATION),
        (ClarificationAnswer(answers=["because"]), Event.CLARIFICATION_ANSWERED),
        (ConsultationFinding(finding="noted"), None),
    ],
)  # fmt: skip
def test_the_event_each_message_brings(body: MessageBody, event: Event | None) -> None:
    assert event_of(body) is event


def test_an_outcome_closes_the_consultation_once_every_side_signed() -> None:
    one = ConsultationOutcome.model_validate(
        {"outcome": "lawful", "cosignatures": [SIGNATURE | {"authority": "kz-mia"}]}
    )
    both = one.model_copy(
        update={"cosignatures": [*one.cosignatures, one.cosignatures[0].model_copy(
            update={"authority": "am-mcs"})]}
    )  # fmt: skip
    parties = {"kz-mia", "am-mcs"}
    assert event_of(one, parties=parties) is None
    assert event_of(both, parties=parties) is Event.FULFIL
    assert event_of(both) is None


# ---------------------------------------------------------------- deadlines


def test_the_due_time_comes_from_the_agreement() -> None:
    assert due_at(KZ_AM, "persons-present", Urgency.URGENT, T0) == T0 + timedelta(hours=72)
    assert due_at(KZ_AM, "citizenship-verification", Urgency.NORMAL, T0) == T0 + timedelta(days=45)
    with pytest.raises(NotFound):
        due_at(KZ_AM, "gossip", Urgency.NORMAL, T0)
    with pytest.raises(ValueError, match="time zone"):
        due_at(KZ_AM, "legal", Urgency.NORMAL, T0.replace(tzinfo=None))


def test_overdue_only_while_the_clock_runs() -> None:
    due = T0 + timedelta(days=30)
    late = due + timedelta(seconds=1)
    assert not is_overdue(CaseState.IN_REVIEW, due, due)
    assert is_overdue(CaseState.IN_REVIEW, due, late)
    assert is_overdue(CaseState.SENT, due, late)
    for state in (CaseState.DRAFT, CaseState.CLARIFICATION_REQUESTED, *TERMINAL_STATES):
        assert not is_overdue(state, due, late)


def test_a_reminder_falls_due_at_three_quarters_of_the_period() -> None:
    due = T0 + timedelta(days=40)
    assert reminder_at(T0, due) == T0 + timedelta(days=30)
    assert reminder_at(T0, due, 0.5) == T0 + timedelta(days=20)
    state = CaseState.DELIVERED
    assert not reminder_due(state, T0, due, T0 + timedelta(days=29))
    assert reminder_due(state, T0, due, T0 + timedelta(days=30))
    assert not reminder_due(state, T0, due, due + timedelta(seconds=1))  # overdue instead
    assert not reminder_due(CaseState.ANSWERED, T0, due, T0 + timedelta(days=35))
    for fraction in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            reminder_at(T0, due, fraction)


def test_waiting_for_a_clarification_does_not_count() -> None:
    due = T0 + timedelta(days=30)
    paused, resumed = T0 + timedelta(days=10), T0 + timedelta(days=14)
    assert resume_due(due, paused, resumed) == due + timedelta(days=4)
    assert resume_due(due, resumed, paused) == due


@dataclass
class Case:
    name: str
    state: str
    due_at: datetime | None


def test_the_overdue_list_shows_the_longest_overdue_first() -> None:
    now = T0 + timedelta(days=60)
    cases = [
        Case("recent", "in-review", now - timedelta(days=1)),
        Case("oldest", "delivered", now - timedelta(days=20)),
        Case("answered", "answered", now - timedelta(days=30)),
        Case("no clock", "in-review", None),
        Case("not yet", "in-review", now + timedelta(days=1)),
    ]
    assert [c.name for c in overdue(cases, now)] == ["oldest", "recent"]
