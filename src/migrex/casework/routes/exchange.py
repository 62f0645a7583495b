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
from migrex.errors import Conflict, NotFound
from migrex.exchange.delivery import Status
from migrex.exchange.queries import outgoing, recent_inbox, sent_by
from migrex.exchange.service import retry
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer, require

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
        message = outgoing(uow, message_id)
    if message is None:
        raise NotFound(f"no outgoing message {message_id}")
    require(officer, Action.RETRY_DELIVERY, message.sender)
    with unit_of_work() as uow:
        if retry(uow, [message_id], now(), actor=officer.actor) == 0:
            raise Conflict(f"message {message_id} is not parked; it is {message.status}")
    return RetriedOut(message_id=message_id, status=Status.PENDING)
