"""The officers' casework API: thin routes over the casework use cases.

Every route names its authority (in the path, or through the case it acts on) and checks the
officer's permission for it before anything changes; every action records the officer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from migrex.casework.answers import answer_inquiry
from migrex.casework.api_deps import (
    CASE_PROBLEMS,
    CaseworkSetup,
    CaseworkSetupDep,
    case_for,
    consultation_keys_of,
    now,
)
from migrex.casework.api_exchange import router as exchange_router
from migrex.casework.api_steps import router as steps_router
from migrex.casework.cli import hit_reference_key
from migrex.casework.reading import read_case_messages
from migrex.casework.reminders import ReminderRule, reminder_cases
from migrex.casework.schemas import (
    CaseOut,
    OpenedOut,
    RefusalIn,
    ReminderOut,
    RequestIn,
    SentOut,
    WithdrawalIn,
)
from migrex.casework.service import (
    OpenRequest,
    open_request,
    open_review,
    overdue_cases,
    refuse,
    withdraw,
)
from migrex.casework.tables import CaseRow
from migrex.officers.api import (
    PROBLEM_RESPONSES,
    CurrentOfficer,
    UnitOfWorkFactoryDep,
    requires,
)
from migrex.officers.model import Action, Officer, require
from migrex.registry.sql import SqlRegistries

# What the app factory imports from here.
__all__ = ["CaseworkSetup", "consultation_keys_of", "router"]

router = APIRouter(prefix="/v1", tags=["casework"], responses=PROBLEM_RESPONSES)


@router.post("/authorities/{authority}/requests", response_model=OpenedOut, status_code=201)
def open_request_route(
    authority: str,
    payload: RequestIn,
    officer: Annotated[Officer, requires(Action.CREATE_REQUEST)],
    unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> OpenedOut:
    """Screen a request against the agreement, open its case and queue it for sending."""
    require(officer, Action.SEND_REQUEST, authority)
    command = OpenRequest(payload.agreement_id, authority, payload.recipient, payload.type,
                          payload.body, officer.actor)  # fmt: skip
    with unit_of_work() as uow:
        opened = open_request(uow, setup.node, command, now())
    return OpenedOut(case_id=opened.case_id, message_id=opened.message_id, flags=opened.flags)


@router.get("/authorities/{authority}/cases", response_model=list[CaseOut])
def list_cases(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_CASE)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[CaseOut]:
    """The authority's cases, newest first."""
    with unit_of_work() as uow:
        rows = uow.session.scalars(
            select(CaseRow).where(CaseRow.our_authority == authority)
            .order_by(CaseRow.opened_at.desc()).limit(500)
        )  # fmt: skip
        return [CaseOut.of(row) for row in rows]


@router.get("/authorities/{authority}/overdue", response_model=list[CaseOut])
def list_overdue(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_OVERDUE)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[CaseOut]:
    """The authority's open cases past their deadline, longest overdue first."""
    with unit_of_work() as uow:
        return [CaseOut.of(c) for c in overdue_cases(uow, now()) if c.our_authority == authority]


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
    return CaseOut.of(case_for(unit_of_work, case_id, officer, Action.VIEW_CASE))


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
    case_for(unit_of_work, case_id, officer, Action.VIEW_PERSONAL_DATA)
    with unit_of_work() as uow:
        views = read_case_messages(uow, setup.node, case_id, reader=officer.actor, now=now())
    return [MessageOut(message_id=v.message_id, direction=v.direction, type=v.type, at=v.at,
                       body=v.body) for v in views]  # fmt: skip


@router.post("/cases/{case_id}/review", response_model=SentOut, responses=CASE_PROBLEMS)
def review(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> SentOut:
    """Take an incoming request into review."""
    case_for(unit_of_work, case_id, officer, Action.REVIEW_INCOMING)
    with unit_of_work() as uow:
        open_review(uow, case_id, officer.actor, now())
    return SentOut(state="in-review")


@router.post("/cases/{case_id}/answer", response_model=dict[str, Any], responses=CASE_PROBLEMS)
def answer(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> dict[str, Any]:  # fmt: skip
    """Answer a person inquiry from the registries, disclosing only the profile's fields."""
    case_for(unit_of_work, case_id, officer, Action.DECIDE)
    with unit_of_work() as uow:
        reply = answer_inquiry(
            uow, setup.node, SqlRegistries(uow.session), case_id,
            hit_key=hit_reference_key(setup.key_dir), actor=officer.actor, now=now(),
        )  # fmt: skip
    return reply.model_dump(mode="json", exclude_none=True)


@router.post("/cases/{case_id}/refuse", response_model=SentOut, responses=CASE_PROBLEMS)
def refuse_route(
    case_id: str, payload: RefusalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Refuse on one or more of the agreement's grounds; the refusal is a signed message."""
    case_for(unit_of_work, case_id, officer, Action.DECIDE)
    with unit_of_work() as uow:
        message_id = refuse(
            uow, setup.node, case_id, grounds=payload.grounds,
            explanation=payload.explanation, actor=officer.actor, now=now(),
        )  # fmt: skip
    return SentOut(message_id=message_id, state="refused")


@router.post("/cases/{case_id}/withdraw", response_model=SentOut, responses=CASE_PROBLEMS)
def withdraw_route(
    case_id: str, payload: WithdrawalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Withdraw one of our requests; the partner is told."""
    case_for(unit_of_work, case_id, officer, Action.WITHDRAW_REQUEST)
    with unit_of_work() as uow:
        message_id = withdraw(uow, setup.node, case_id, reason=payload.reason,
                              actor=officer.actor, now=now())  # fmt: skip
    return SentOut(message_id=message_id, state="withdrawn")


# The exchange's view of the authority's messages and the remaining case steps have their own
# modules; mounting them here keeps the app wiring one casework router.
router.include_router(exchange_router)
router.include_router(steps_router)
