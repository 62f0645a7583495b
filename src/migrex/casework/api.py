"""The officers' casework API: thin routes over the casework use cases.

Every route names its authority (in the path, or through the case it acts on) and checks the
officer's permission for it before anything changes; every action records the officer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from migrex.casework.answers import answer_inquiry
from migrex.casework.cli import hit_reference_key
from migrex.casework.service import (
    NodeContext,
    OpenRequest,
    open_request,
    open_review,
    overdue_cases,
    refuse,
    withdraw,
)
from migrex.casework.tables import CaseRow
from migrex.errors import NotFound
from migrex.officers.api import (
    PROBLEM_RESPONSES,
    CurrentOfficer,
    UnitOfWorkFactory,
    UnitOfWorkFactoryDep,
    requires,
)
from migrex.officers.model import Action, Officer, require
from migrex.registry.sql import SqlRegistries

router = APIRouter(prefix="/v1", tags=["casework"], responses=PROBLEM_RESPONSES)


@dataclass(frozen=True)
class CaseworkSetup:
    """What the routes need beyond a unit of work (set as `app.state.casework`)."""

    node: NodeContext
    key_dir: Path


def _setup(request: Request) -> CaseworkSetup:
    setup: CaseworkSetup = request.app.state.casework
    return setup


class RequestIn(BaseModel):
    agreement_id: str = Field(max_length=64)
    recipient: str = Field(max_length=64, description="the requested authority")
    type: str = Field(max_length=64, description="message type, e.g. person-inquiry")
    body: dict[str, Any]


class OpenedOut(BaseModel):
    case_id: str
    message_id: str
    flags: list[str]


class CaseOut(BaseModel):
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
    closed_at: datetime | None

    @classmethod
    def of(cls, row: CaseRow) -> CaseOut:
        return cls.model_validate(row, from_attributes=True)


class RefusalIn(BaseModel):
    grounds: list[str] = Field(min_length=1, max_length=8)
    explanation: str = Field(min_length=1, max_length=4000)


class WithdrawalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class SentOut(BaseModel):
    message_id: str | None = None
    state: str


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/authorities/{authority}/requests", response_model=OpenedOut, status_code=201)
def open_request_route(
    authority: str,
    payload: RequestIn,
    officer: Annotated[Officer, requires(Action.CREATE_REQUEST)],
    unit_of_work: UnitOfWorkFactoryDep,
    request: Request,
) -> OpenedOut:
    """Screen a request against the agreement, open its case and queue it for sending."""
    require(officer, Action.SEND_REQUEST, authority)
    command = OpenRequest(payload.agreement_id, authority, payload.recipient, payload.type,
                          payload.body, officer.actor)  # fmt: skip
    with unit_of_work() as uow:
        opened = open_request(uow, _setup(request).node, command, _now())
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
        return [CaseOut.of(c) for c in overdue_cases(uow, _now()) if c.our_authority == authority]


def _case_for(
    unit_of_work: UnitOfWorkFactory, case_id: str, officer: Officer, action: Action
) -> CaseRow:
    with unit_of_work() as uow:
        case = uow.session.get(CaseRow, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    require(officer, action, case.our_authority)
    return case


@router.get("/cases/{case_id}", response_model=CaseOut)
def show_case(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> CaseOut:
    """One case: its state, parties and deadlines."""
    return CaseOut.of(_case_for(unit_of_work, case_id, officer, Action.VIEW_CASE))


@router.post("/cases/{case_id}/review", response_model=SentOut)
def review(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> SentOut:
    """Take an incoming request into review."""
    _case_for(unit_of_work, case_id, officer, Action.REVIEW_INCOMING)
    with unit_of_work() as uow:
        open_review(uow, case_id, officer.actor, _now())
    return SentOut(state="in-review")


@router.post("/cases/{case_id}/answer", response_model=dict[str, Any])
def answer(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, request: Request
) -> dict[str, Any]:
    """Answer a person inquiry from the registries, disclosing only the profile's fields."""
    _case_for(unit_of_work, case_id, officer, Action.DECIDE)
    setup = _setup(request)
    with unit_of_work() as uow:
        reply = answer_inquiry(
            uow, setup.node, SqlRegistries(uow.session), case_id,
            hit_key=hit_reference_key(setup.key_dir), actor=officer.actor, now=_now(),
        )  # fmt: skip
    return reply.model_dump(mode="json", exclude_none=True)


@router.post("/cases/{case_id}/refuse", response_model=SentOut)
def refuse_route(
    case_id: str, payload: RefusalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, request: Request,
) -> SentOut:  # fmt: skip
    """Refuse on one or more of the agreement's grounds; the refusal is a signed message."""
    _case_for(unit_of_work, case_id, officer, Action.DECIDE)
    with unit_of_work() as uow:
        message_id = refuse(
            uow, _setup(request).node, case_id, grounds=payload.grounds,
            explanation=payload.explanation, actor=officer.actor, now=_now(),
        )  # fmt: skip
    return SentOut(message_id=message_id, state="refused")


@router.post("/cases/{case_id}/withdraw", response_model=SentOut)
def withdraw_route(
    case_id: str, payload: WithdrawalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, request: Request,
) -> SentOut:  # fmt: skip
    """Withdraw one of our requests; the partner is told."""
    _case_for(unit_of_work, case_id, officer, Action.WITHDRAW_REQUEST)
    with unit_of_work() as uow:
        message_id = withdraw(uow, _setup(request).node, case_id, reason=payload.reason,
                              actor=officer.actor, now=_now())  # fmt: skip
    return SentOut(message_id=message_id, state="withdrawn")
