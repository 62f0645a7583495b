"""The officers' view of an authority's messages: what arrived and how it was filed, what is
leaving and how delivery goes, and releasing a parked message. Bodies are never listed.

Mounted by `casework.routes.router`, under its `/v1`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from migrex.casework.routes.dependencies import now, problem
from migrex.casework.schemas import InboxEntryOut, OutboxEntryOut
from migrex.exchange.delivery import Status
from migrex.exchange.queries import recent_inbox, sent_by
from migrex.exchange.service import retry_for_officer
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer

router = APIRouter(tags=["exchange"])

Limit = Annotated[int, Query(ge=1, le=500, description="the most recent N")]


class RetriedOut(BaseModel):
    message_id: str
    status: str


@router.get("/authorities/{authority}/inbox", response_model=list[InboxEntryOut])
def inbox(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_INBOX)],
    unit_of_work: UnitOfWorkFactoryDep,
    limit: Limit = 100,
) -> list[InboxEntryOut]:
    """Messages received for the authority, newest first, with how each was filed."""
    with unit_of_work() as uow:
        return [InboxEntryOut.of(row) for row in recent_inbox(uow, limit, recipient=authority)]


@router.get("/authorities/{authority}/outbox", response_model=list[OutboxEntryOut])
def outbox(
    authority: str,
    _officer: Annotated[Officer, requires(Action.VIEW_OUTBOX)],
    unit_of_work: UnitOfWorkFactoryDep,
    parked: Annotated[bool, Query(description="only messages parked after their last try")] = False,
    limit: Limit = 100,
) -> list[OutboxEntryOut]:
    """Messages the authority sends, newest first, with their delivery state."""
    with unit_of_work() as uow:
        rows = sent_by(uow, authority, limit, parked_only=parked)
        return [OutboxEntryOut.of(row) for row in rows]


@router.post(
    "/outbox/{message_id}/retry",
    response_model=RetriedOut,
    responses={404: problem("No such outgoing message"), 409: problem("The message is not parked")},
)
def retry_route(
    message_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> RetriedOut:
    """Put a parked message back in line for delivery (for the authority that sends it)."""
    with unit_of_work() as uow:
        retry_for_officer(uow, officer, message_id, now())
    return RetriedOut(message_id=message_id, status=Status.PENDING)
