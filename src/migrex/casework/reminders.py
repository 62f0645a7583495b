"""Deadline reminders: which open cases are close enough to their due time to need a nudge.

A case is due a reminder while its clock runs (not while a clarification is awaited, not once
closed), it is not yet overdue (the overdue list covers that), and it is near its due time:
either `fraction` of the time it was given has passed (`lifecycle.reminder_due`), or, when the
rule names a window, the due time is at most that far away. Outgoing cases are listed too: a
reminder there means the partner's answer is due soon, in time to chase it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import select

from migrex.casework.lifecycle import CLOCK_RUNNING, CaseState, reminder_due
from migrex.casework.tables import CaseRow
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class ReminderRule:
    """When a reminder falls due: once `fraction` of the case's time is used (three quarters,
    as `lifecycle.reminder_at`), or, when `within` is given, once the due time is that near."""

    fraction: float = 0.75
    within: timedelta | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fraction < 1:
            raise ValueError("the reminder fraction lies strictly between 0 and 1")
        if self.within is not None and self.within <= timedelta(0):
            raise ValueError("the reminder window must be positive")


class Remindable(Protocol):
    """What the reminder list needs of a case: a `CaseRow` or any plain object."""

    @property
    def state(self) -> str: ...

    @property
    def opened_at(self) -> datetime: ...

    @property
    def due_at(self) -> datetime | None: ...


C = TypeVar("C", bound=Remindable)


def is_reminder_due(
    state: CaseState, started: datetime, due: datetime, now: datetime, rule: ReminderRule
) -> bool:
    """Whether a case started at `started` and due at `due` needs a reminder at `now`."""
    if rule.within is None:
        return reminder_due(state, started, due, now, rule.fraction)
    return state in CLOCK_RUNNING and due - rule.within <= now <= due


def due_for_reminder(cases: Iterable[C], now: datetime, rule: ReminderRule) -> list[C]:
    """The cases due a reminder, the soonest due first; cases without a due time never are."""
    near = [
        case
        for case in cases
        if case.due_at is not None
        and is_reminder_due(CaseState(case.state), case.opened_at, case.due_at, now, rule)
    ]
    return sorted(near, key=lambda case: case.due_at or now)


def reminder_cases(
    uow: UnitOfWork, now: datetime, rule: ReminderRule, *, authority: str | None = None
) -> list[CaseRow]:
    """The open cases (of `authority`, or of every hosted authority) due a reminder at `now`,
    the soonest due first."""
    query = select(CaseRow).where(
        CaseRow.state.in_([state.value for state in CLOCK_RUNNING]),
        CaseRow.due_at.is_not(None),
        CaseRow.due_at >= now,
    )
    if authority is not None:
        query = query.where(CaseRow.our_authority == authority)
    return due_for_reminder(uow.session.scalars(query), now, rule)
