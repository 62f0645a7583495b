"""The officers' routes for requests and cases: open one, list and read them, take one into
review, withdraw or expire it. Each route parses, runs one use case or query in one unit of
work (the permission is checked inside it), and renders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field

from migrex.casework.person_search import find_persons
from migrex.casework.queries import cases_of
from migrex.casework.reading import read_case_messages
from migrex.casework.reminders import ReminderRule, reminder_cases
from migrex.casework.request_keys import checked_key
from migrex.casework.routes.dependencies import (
    CASE_PROBLEMS,
    CaseworkSetupDep,
    authorised,
    now,
    sent,
)
from migrex.casework.schemas import (
    CaseOut,
    OpenedOut,
    PersonFoundOut,
    PersonSearchIn,
    ReminderOut,
    RequestIn,
    SentOut,
    WithdrawalIn,
)
from migrex.casework.service import (
    OpenRequest,
    expire,
    open_request,
    open_review,
    overdue_cases,
    withdraw,
)
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer, require

router = APIRouter()


@router.post("/authorities/{authority}/requests", response_model=OpenedOut, status_code=201)
def open_request_route(
    authority: str,
    payload: RequestIn,
    *,
    officer: Annotated[Officer, requires(Action.CREATE_REQUEST)],
    unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key",
        description="a key of the client's own for this request (a UUID): sent again with "
        "the same key, the request is answered with the case it opened, and nothing is sent "
        "again; the same key with another request is refused (409). Kept for a day.",
    )] = None,
) -> OpenedOut:  # fmt: skip
    """Screen a request, notice or information against the agreement, open its case and queue
    it for sending."""
    require(officer, Action.SEND_REQUEST, authority)
    key = None if idempotency_key is None else checked_key(idempotency_key)
    command = OpenRequest(payload.agreement_id, authority, payload.recipient, payload.type,
                          payload.body, officer.actor, request_key=key)  # fmt: skip
    with unit_of_work() as uow:
        opened = open_request(uow, setup.node, command, now())
    if opened.again:
        response.headers["Idempotent-Replayed"] = "true"
    return OpenedOut(case_id=opened.case_id, message_id=opened.message_id, flags=opened.flags)


@router.post("/persons/search", response_model=list[PersonFoundOut])
def search_persons_route(
    payload: PersonSearchIn,
    officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> list[PersonFoundOut]:
    """The cases that name a person, by their surname (and given name) in any script; each
    person shown is recorded in the disclosure ledger as read. A POST, so that no name is
    written into a URL and so into an access log."""
    with unit_of_work() as uow:
        found = find_persons(
            uow, setup.node, officer, surname=payload.surname, given_name=payload.given_name,
            reader=officer.actor, now=now(),
        )  # fmt: skip
        return [PersonFoundOut(case=CaseOut.of(f.case), message_id=f.message_id, at=f.at,
                               person=f.person) for f in found]  # fmt: skip


@router.get("/authorities/{authority}/cases", response_model=list[CaseOut])
def list_cases(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_CASE)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[CaseOut]:
    """The authority's cases, newest first."""
    with unit_of_work() as uow:
        return [CaseOut.of(row) for row in cases_of(uow, authority)]


@router.get("/authorities/{authority}/overdue", response_model=list[CaseOut])
def list_overdue(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_OVERDUE)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[CaseOut]:
    """The authority's open cases past their deadline, longest overdue first."""
    with unit_of_work() as uow:
        return [CaseOut.of(c) for c in overdue_cases(uow, now(), authority)]


@router.get("/authorities/{authority}/reminders", response_model=list[ReminderOut])
def list_reminders(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_OVERDUE)],
    unit_of_work: UnitOfWorkFactoryDep,
    within_days: Annotated[
        int | None, Query(ge=1, le=366, description="due within this many days, instead of "
                          "three quarters of the case's time used")
    ] = None,
) -> list[ReminderOut]:  # fmt: skip
    """The authority's open cases near their deadline but not past it, the soonest due first."""
    rule = ReminderRule() if within_days is None else ReminderRule(within=timedelta(within_days))
    at = now()
    with unit_of_work() as uow:
        return [ReminderOut.at(c, at) for c in reminder_cases(uow, at, rule, authority=authority)]


@router.get("/cases/{case_id}", response_model=CaseOut, responses=CASE_PROBLEMS)
def show_case(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> CaseOut:
    """One case: its state, parties and deadlines."""
    with unit_of_work() as uow:
        return CaseOut.of(authorised(uow, case_id, officer, Action.VIEW_CASE))


class MessageOut(BaseModel):
    message_id: str
    direction: str
    type: str
    at: datetime
    body: dict[str, Any] | None = Field(description="null once erased at the end of retention")


@router.get("/cases/{case_id}/messages", response_model=list[MessageOut], responses=CASE_PROBLEMS)
def read_messages(
    case_id: str, setup: CaseworkSetupDep, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[MessageOut]:  # fmt: skip
    """Every message of the case in full. Each read of personal data is recorded in the
    disclosure ledger and the audit log under the officer's name."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.VIEW_PERSONAL_DATA)
        views = read_case_messages(uow, setup.node, case_id, reader=officer.actor, now=now())
    return [MessageOut(message_id=v.message_id, direction=v.direction, type=v.type, at=v.at,
                       body=v.body) for v in views]  # fmt: skip


@router.post("/cases/{case_id}/review", response_model=SentOut, responses=CASE_PROBLEMS)
def review(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> SentOut:
    """Take an incoming request into review."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.REVIEW_INCOMING)
        open_review(uow, case_id, officer.actor, now())
    return SentOut(state="in-review")


@router.post("/cases/{case_id}/withdraw", response_model=SentOut, responses=CASE_PROBLEMS)
def withdraw_route(
    case_id: str, payload: WithdrawalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Withdraw one of our requests; the partner is told."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.WITHDRAW_REQUEST)
        message_id = withdraw(uow, setup.node, case_id, reason=payload.reason,
                              actor=officer.actor, now=now())  # fmt: skip
    return SentOut(message_id=message_id, state="withdrawn")


@router.post("/cases/{case_id}/expire", response_model=SentOut, responses=CASE_PROBLEMS)
def expire_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> SentOut:
    """Close an open case for lapse (a supervisor's decision); final."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.ASSIGN_CASE)
        expire(uow, case_id, actor=officer.actor, now=now())
        return sent(uow, case_id, None)
