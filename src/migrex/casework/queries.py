"""What officers' lists ask of casework: read-only queries next to the use cases, so routes
and commands only parse, call and render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, and_, func, or_, select

from migrex.casework.lifecycle import TERMINAL_STATES, CaseState, Direction
from migrex.casework.tables import (
    CaseEventRow,
    CaseMessageRow,
    CaseRow,
    DraftRow,
    ScreeningNoteRow,
)
from migrex.officers.model import Action, Officer, may
from migrex.officers.service import list_officers
from migrex.uow import UnitOfWork


def case_state(uow: UnitOfWork, case_id: str) -> str | None:
    """The state case `case_id` is in, or None when there is no such case."""
    case = uow.session.get(CaseRow, case_id)
    return case.state if case is not None else None


def cases_of(uow: UnitOfWork, authority: str | None = None, limit: int = 500) -> list[CaseRow]:
    """The cases of `authority` (of every hosted authority when None), newest first."""
    query = select(CaseRow).order_by(CaseRow.opened_at.desc()).limit(limit)
    if authority is not None:
        query = query.where(CaseRow.our_authority == authority)
    return list(uow.session.scalars(query))


def case_history(uow: UnitOfWork, case_id: str) -> list[CaseEventRow]:
    return list(uow.session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
    ))  # fmt: skip


def case_notes(uow: UnitOfWork, case_id: str) -> list[ScreeningNoteRow]:
    return list(uow.session.scalars(
        select(ScreeningNoteRow).where(ScreeningNoteRow.case_id == case_id)
        .order_by(ScreeningNoteRow.id)
    ))  # fmt: skip


def case_messages(uow: UnitOfWork, case_id: str) -> list[CaseMessageRow]:
    """The case's messages without opening any body (their reads are not ledgered)."""
    return list(uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id)
    ))  # fmt: skip


# ---------------------------------------------------------------- work queues


class Queue(StrEnum):
    """The officers' work queues, each a question about open cases."""

    INCOMING = "incoming"  # partners' requests nobody has claimed yet
    MINE = "mine"  # what the officer holds (and their own requests nobody holds)
    CLARIFICATION = "clarification"  # waiting on a clarification, either way
    APPROVAL = "approval"  # decisions another officer submitted, for this one to approve
    DUE_SOON = "due-soon"  # due within DUE_SOON
    OVERDUE = "overdue"  # past the deadline, still open


DUE_SOON = timedelta(days=3)
# What an officer must be allowed, for an authority, to see its cases in each queue.
QUEUE_ACTIONS: dict[Queue, Action] = {
    Queue.INCOMING: Action.REVIEW_INCOMING,
    Queue.MINE: Action.VIEW_CASE,
    Queue.CLARIFICATION: Action.VIEW_CASE,
    Queue.APPROVAL: Action.DECIDE,
    Queue.DUE_SOON: Action.VIEW_OVERDUE,
    Queue.OVERDUE: Action.VIEW_OVERDUE,
}
SORTS = ("due", "opened", "state", "partner")
PER_PAGE = 50


@dataclass(frozen=True)
class QueueFilter:
    agreement: str | None = None
    partner: str | None = None
    category: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class CaseLine:
    """One case as a queue lists it: no personal data."""

    id: str
    agreement_id: str
    direction: str
    category: str
    purpose: str | None
    our_authority: str
    partner_authority: str
    state: str
    urgency: str
    opened_at: datetime
    due_at: datetime | None
    assigned_to: str | None

    @classmethod
    def of(cls, row: CaseRow) -> CaseLine:
        return cls(row.id, row.agreement_id, row.direction, row.category, row.purpose,
                   row.our_authority, row.partner_authority, row.state, row.urgency,
                   row.opened_at, row.due_at, row.assigned_to)  # fmt: skip


@dataclass(frozen=True)
class QueuePage:
    queue: Queue
    lines: list[CaseLine]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def queue_authorities(officer: Officer, queue: Queue) -> list[str]:
    """The authorities whose cases the officer sees in `queue`."""
    return sorted(a for a in officer.authorities if may(officer, QUEUE_ACTIONS[queue], a))


def visible_queues(officer: Officer) -> list[Queue]:
    return [queue for queue in Queue if queue_authorities(officer, queue)]


def _queue_query(queue: Queue, officer: Officer, now: datetime) -> Select[CaseRow]:
    query = select(CaseRow).where(
        CaseRow.our_authority.in_(queue_authorities(officer, queue)),
        CaseRow.state.not_in([s.value for s in TERMINAL_STATES]),
    )
    actor = officer.actor
    match queue:
        case Queue.INCOMING:
            return query.where(CaseRow.direction == Direction.INCOMING,
                               CaseRow.state.in_([CaseState.DELIVERED, CaseState.IN_REVIEW]),
                               CaseRow.assigned_to.is_(None))  # fmt: skip
        case Queue.MINE:
            return query.where(or_(
                CaseRow.assigned_to == actor,
                and_(CaseRow.assigned_to.is_(None), CaseRow.opened_by == actor),
            ))  # fmt: skip
        case Queue.CLARIFICATION:
            return query.where(CaseRow.state == CaseState.CLARIFICATION_REQUESTED)
        case Queue.APPROVAL:
            awaiting = select(DraftRow.case_id).where(
                DraftRow.status == "awaiting-approval",
                DraftRow.drafted_by != actor,
                or_(DraftRow.submitted_by.is_(None), DraftRow.submitted_by != actor),
            )
            return query.where(CaseRow.id.in_(awaiting))
        case Queue.DUE_SOON:
            return query.where(CaseRow.due_at >= now, CaseRow.due_at <= now + DUE_SOON)
        case Queue.OVERDUE:
            return query.where(CaseRow.due_at < now)


def _filtered(query: Select[CaseRow], filters: QueueFilter) -> Select[CaseRow]:
    chosen = (
        (CaseRow.agreement_id, filters.agreement),
        (CaseRow.partner_authority, filters.partner),
        (CaseRow.category, filters.category),
        (CaseRow.state, filters.state),
    )
    for column, value in chosen:
        if value:
            query = query.where(column == value)
    return query


def _ordered(query: Select[CaseRow], sort: str) -> Select[CaseRow]:
    # Each order ends on the case id, so a page boundary is stable between requests.
    orders = {
        "due": (CaseRow.due_at.is_(None), CaseRow.due_at.asc(), CaseRow.opened_at.asc()),
        "opened": (CaseRow.opened_at.desc(),),
        "state": (CaseRow.state.asc(), CaseRow.due_at.asc()),
        "partner": (CaseRow.partner_authority.asc(), CaseRow.due_at.asc()),
    }
    return query.order_by(*orders.get(sort, orders["due"]), CaseRow.id.asc())


def queue_page(
    uow: UnitOfWork, queue: Queue, officer: Officer, now: datetime, *,
    filters: QueueFilter = QueueFilter(), sort: str = "due", page: int = 1,
    per_page: int = PER_PAGE,
) -> QueuePage:  # fmt: skip
    """One page of the officer's `queue`, filtered and sorted, with the number of all its
    cases; a page past the last is the last."""
    query = _filtered(_queue_query(queue, officer, now), filters)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = uow.session.scalars(_ordered(query, sort).limit(per_page).offset((page - 1) * per_page))
    return QueuePage(queue, [CaseLine.of(row) for row in rows], total, page, per_page)


def queue_counts(uow: UnitOfWork, officer: Officer, now: datetime) -> dict[Queue, int]:
    """How many cases each queue the officer sees holds."""
    return {
        queue: uow.session.scalar(
            select(func.count()).select_from(_queue_query(queue, officer, now).subquery())
        ) or 0
        for queue in visible_queues(officer)
    }  # fmt: skip


def deadline_status(state: str, due_at: datetime | None, now: datetime) -> str:
    """How a case stands against its deadline: "overdue", "due-soon" (within DUE_SOON),
    "on-time", or "none" (closed, or no deadline runs)."""
    if due_at is None or CaseState(state) in TERMINAL_STATES:
        return "none"
    if due_at < now:
        return "overdue"
    return "due-soon" if due_at <= now + DUE_SOON else "on-time"


def assignable_officers(uow: UnitOfWork, supervisor: Officer) -> list[Officer]:
    """The active officers a supervisor may hand cases to: those who may work on cases of an
    authority the supervisor assigns for."""
    authorities = [a for a in supervisor.authorities if may(supervisor, Action.ASSIGN_CASE, a)]
    return [
        officer for officer in list_officers(uow)
        if officer.active and any(may(officer, Action.REVIEW_INCOMING, a)
                                  or may(officer, Action.CREATE_REQUEST, a) for a in authorities)
    ]  # fmt: skip


@dataclass(frozen=True)
class DraftInfo:
    """The case's open decision, without its body: what the case page may say unrecorded."""

    decision: str  # disclosure | refusal
    status: str  # draft | awaiting-approval
    drafted_by: str
    submitted_by: str | None


def open_draft_info(uow: UnitOfWork, case_id: str) -> DraftInfo | None:
    row = uow.session.scalars(
        select(DraftRow)
        .where(DraftRow.case_id == case_id, DraftRow.status.in_(("draft", "awaiting-approval")))
        .order_by(DraftRow.id.desc())
    ).first()
    if row is None:
        return None
    return DraftInfo(row.decision, row.status, row.drafted_by, row.submitted_by)


# ---------------------------------------------------------------- finding a case

MIN_PREFIX = 4  # a case number's opening characters, as the console shortens it


def find_cases(
    uow: UnitOfWork,
    officer: Officer,
    *,
    reference: str | None = None,
    state: str | None = None,
    limit: int = PER_PAGE,
) -> list[CaseLine]:
    """The cases the officer may see (VIEW_CASE for their authority, as the API's case routes
    check it) whose number is `reference` or starts with it, or that hold a message (ours or
    the partner's) of that id; in `state` when given. Newest first. No personal data is
    searched: a person is found through the subject report, which is recorded."""
    authorities = [a for a in officer.authorities if may(officer, Action.VIEW_CASE, a)]
    query = select(CaseRow).where(CaseRow.our_authority.in_(authorities))
    if reference:
        by_message = select(CaseMessageRow.case_id).where(CaseMessageRow.message_id == reference)
        matches = [CaseRow.id == reference, CaseRow.id.in_(by_message)]
        if len(reference) >= MIN_PREFIX:
            matches.append(CaseRow.id.startswith(reference, autoescape=True))
        query = query.where(or_(*matches))
    if state:
        query = query.where(CaseRow.state == state)
    rows = uow.session.scalars(query.order_by(CaseRow.opened_at.desc(), CaseRow.id).limit(limit))
    return [CaseLine.of(row) for row in rows]
