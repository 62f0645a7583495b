"""The analysts' leads on the officers' API: the queue, a card, and the two decisions.

Each route runs the use case `migrex channels` and the console run (`channels.service`,
`channels.queries`), as the officer of the bearer token: showing a card is a recorded read
(a ledger row and an audit leaf per member), a dismissal states its reason, and opening a
lead sends its pre-filled minimal request through casework's gate. An officer without the
analyst's role for any hosted authority is refused before any lead is looked up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from migrex.casework.routes.dependencies import CaseworkSetup, CaseworkSetupDep, problem
from migrex.channels import model
from migrex.channels.queries import leads_of
from migrex.channels.service import card_json, dismiss_lead, open_lead, show_lead
from migrex.officers.api import PROBLEM_RESPONSES, CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, Officer, authorities_for

router = APIRouter(
    prefix="/v1/leads",
    tags=["channels"],
    responses={**PROBLEM_RESPONSES, 404: problem("No such lead"),
               409: problem("The lead has been decided already")},
)  # fmt: skip


class LeadOut(BaseModel):
    """A lead as the queue lists it: no member."""

    id: str
    run_id: int
    authority: str
    found_at: datetime
    rank: int
    members: int
    violators: int
    score: float
    state: str
    partner_data: bool
    case_id: str | None


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=model.MAX_REASON)


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=200, description="AGREEMENT/AUTHORITY, e.g. kz-am-2024/am-mcs")


class DecidedOut(BaseModel):
    lead: str
    state: str
    case_id: str | None = None
    message_id: str | None = None
    flags: list[str] = Field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _analyst(officer: Officer, setup: CaseworkSetup, action: Action) -> None:
    """NotAuthorised (403) unless the officer may take `action` for a hosted authority."""
    authorities_for(officer, action, list(setup.node.hosted), None)


@router.get("", response_model=list[LeadOut])
def list_leads(
    officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
    authority: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[model.LeadState | None, Query()] = None,
) -> list[LeadOut]:  # fmt: skip
    """The kept leads of the authorities the analyst works for, newest run first and best
    first within it: rank, size, score and state, never a member."""
    ours = authorities_for(officer, Action.VIEW_LEADS, list(setup.node.hosted), authority)
    with unit_of_work() as uow:
        lines = leads_of(uow, ours, state=state.value if state else None)
    return [LeadOut.model_validate(line, from_attributes=True) for line in lines]


@router.get("/{lead_id}")
def show(
    lead_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, to: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:  # fmt: skip
    """The lead's card, as `migrex channels show --json` prints it, with its pre-filled
    request to `to` (the first partner it may go to when not given). Recorded as a read of
    each member's data."""
    _analyst(officer, setup, Action.VIEW_LEADS)
    with unit_of_work() as uow:
        view = show_lead(uow, setup.node, officer, lead_id, now=_now(), target=to)
    return card_json(view)


@router.post("/{lead_id}/dismiss", response_model=DecidedOut)
def dismiss(
    lead_id: str, payload: DismissIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> DecidedOut:  # fmt: skip
    """Dismiss the lead, saying why; nothing leaves the node."""
    _analyst(officer, setup, Action.DECIDE_LEAD)
    with unit_of_work() as uow:
        dismiss_lead(uow, officer, lead_id, reason=payload.reason, now=_now())
    return DecidedOut(lead=lead_id, state=model.LeadState.DISMISSED)


@router.post("/{lead_id}/open", response_model=DecidedOut)
def open_as_request(
    lead_id: str, payload: OpenIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> DecidedOut:  # fmt: skip
    """Open the lead as its pre-filled minimal request to `to`: screened and sent through
    casework's gate, the lead marked opened with its case."""
    _analyst(officer, setup, Action.DECIDE_LEAD)
    with unit_of_work() as uow:
        opened = open_lead(uow, setup.node, officer, lead_id, target=payload.to, now=_now())
    return DecidedOut(lead=lead_id, state=model.LeadState.OPENED, case_id=opened.case_id,
                      message_id=opened.message_id, flags=list(opened.flags))  # fmt: skip
