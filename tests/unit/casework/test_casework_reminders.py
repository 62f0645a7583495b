"""Deadline reminders: which open cases are near their due time, by share of time or by window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.casework import CLOCK_RUNNING, CaseState, is_overdue, reminder_due
from migrex.casework.reminders import ReminderRule, due_for_reminder, is_reminder_due

T0 = datetime(2025, 9, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

states = st.sampled_from(list(CaseState))
spans = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=120))
offsets = st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=130))
windows = st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=30))
fractions = st.floats(min_value=0.01, max_value=0.99)
rules = st.builds(ReminderRule, fraction=fractions, within=st.none() | windows)


@dataclass
class Case:
    name: str
    state: str
    opened_at: datetime
    due_at: datetime | None


@given(states, spans, offsets, rules)
def test_a_case_is_reminded_or_overdue_never_both(
    state: CaseState, span: timedelta, offset: timedelta, rule: ReminderRule
) -> None:
    due, now = T0 + span, T0 + offset
    if is_reminder_due(state, T0, due, now, rule):
        assert state in CLOCK_RUNNING
        assert not is_overdue(state, due, now)
        assert now <= due


@given(states, spans, offsets, fractions)
def test_by_share_it_is_the_lifecycle_rule(
    state: CaseState, span: timedelta, offset: timedelta, fraction: float
) -> None:
    due, now = T0 + span, T0 + offset
    rule = ReminderRule(fraction=fraction)
    assert is_reminder_due(state, T0, due, now, rule) == reminder_due(state, T0, due, now, fraction)


@given(spans, offsets, windows)
def test_by_window_it_is_the_time_left(
    span: timedelta, offset: timedelta, within: timedelta
) -> None:
    due, now = T0 + span, T0 + offset
    rule = ReminderRule(within=within)
    assert is_reminder_due(CaseState.IN_REVIEW, T0, due, now, rule) == (
        timedelta(0) <= due - now <= within
    )


def test_the_default_is_three_quarters_of_the_time() -> None:
    due = T0 + 40 * DAY
    rule = ReminderRule()
    assert not is_reminder_due(CaseState.DELIVERED, T0, due, T0 + 29 * DAY, rule)
    assert is_reminder_due(CaseState.DELIVERED, T0, due, T0 + 30 * DAY, rule)
    assert is_reminder_due(CaseState.DELIVERED, T0, due, due, rule)  # due now: not overdue yet
    assert not is_reminder_due(CaseState.DELIVERED, T0, due, due + timedelta(seconds=1), rule)


def test_no_reminder_while_the_clock_stands_still_or_the_case_is_closed() -> None:
    due, now = T0 + 10 * DAY, T0 + 9 * DAY
    for rule in (ReminderRule(), ReminderRule(within=2 * DAY)):
        for state in (CaseState.DRAFT, CaseState.CLARIFICATION_REQUESTED, CaseState.ANSWERED):
            assert not is_reminder_due(state, T0, due, now, rule)


def test_the_list_shows_the_soonest_due_first() -> None:
    now = T0 + 25 * DAY
    cases = [
        Case("later", "in-review", T0, now + 5 * DAY),
        Case("sooner", "delivered", T0, now + DAY),
        Case("not yet", "in-review", now - DAY, now + 30 * DAY),
        Case("overdue", "in-review", T0, now - DAY),
        Case("waiting", "clarification-requested", T0, now + DAY),
        Case("no clock", "sent", T0, None),
    ]
    assert [c.name for c in due_for_reminder(cases, now, ReminderRule())] == ["sooner", "later"]
    window = ReminderRule(within=2 * DAY)
    assert [c.name for c in due_for_reminder(cases, now, window)] == ["sooner"]


@pytest.mark.parametrize(
    ("fraction", "within"), [(0.0, None), (1.0, None), (1.5, None), (0.5, timedelta(0))]
)
def test_a_rule_that_could_never_fire_is_refused(fraction: float, within: timedelta | None) -> None:
    with pytest.raises(ValueError, match=r"between 0 and 1|positive"):
        ReminderRule(fraction=fraction, within=within)
