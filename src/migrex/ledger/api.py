"""The data-protection officer's routes: a person's disclosure report and the volume limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from migrex.ledger.service import Entry, report_on_subject
from migrex.ledger.subjects import document_identifier, national_id_identifier
from migrex.ledger.volume import authority_limits
from migrex.officers.api import PROBLEM_RESPONSES, UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer

router = APIRouter(prefix="/v1", tags=["data protection"], responses=PROBLEM_RESPONSES)


class EntryOut(BaseModel):
    at: datetime
    direction: str
    agreement_id: str
    partner_authority: str
    message_id: str | None
    message_type: str | None
    case_id: str | None
    purpose: str | None
    legal_basis: str | None
    fields: list[str]
    actor: str

    @classmethod
    def of(cls, entry: Entry) -> EntryOut:
        return cls(
            at=entry.at, direction=entry.direction, agreement_id=entry.agreement_id,
            partner_authority=entry.partner_authority, message_id=entry.message_id,
            message_type=entry.message_type, case_id=entry.case_id, purpose=entry.purpose,
            legal_basis=entry.legal_basis, fields=list(entry.fields), actor=entry.actor,
        )  # fmt: skip


class LimitOut(BaseModel):
    agreement_id: str
    partner_state: str
    direction: str
    persons: int
    limit: int
    period_days: int


@router.get("/authorities/{authority}/subject-report", response_model=list[EntryOut])
def subject_report_route(
    authority: str,
    request: Request,
    officer: Annotated[Officer, requires(Action.SUBJECT_REPORT)],
    unit_of_work: UnitOfWorkFactoryDep,
    *,
    document: Annotated[list[str], Query(max_length=40)] = [],  # noqa: B006
    national_id: Annotated[list[str], Query(max_length=40)] = [],  # noqa: B006
) -> list[EntryOut]:
    """What the authority sent, received and read about the person holding these identifiers."""
    identifiers = [document_identifier(d) for d in document if d.strip()] + [
        national_id_identifier(n) for n in national_id if n.strip()
    ]
    if not identifiers:
        return []
    key = request.app.state.casework.node.subject_key
    with unit_of_work() as uow:
        entries = report_on_subject(uow.session, key, identifiers, authority=authority,
                                    reader=officer.actor, at=datetime.now(UTC))  # fmt: skip
        uow.commit()
    return [EntryOut.of(e) for e in entries]


@router.get("/authorities/{authority}/limits", response_model=list[LimitOut])
def limits_route(
    authority: str,
    request: Request,
    _officer: Annotated[Officer, requires(Action.VIEW_DISCLOSURES)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> list[LimitOut]:
    """Persons requested each way per partner state in the current volume period."""
    node = request.app.state.casework.node
    with unit_of_work() as uow:
        uses = authority_limits(uow.session, node.agreements, authority, datetime.now(UTC))
    return [
        LimitOut(
            agreement_id=u.agreement_id,
            partner_state=u.partner_state,
            direction=u.direction,
            persons=u.persons,
            limit=u.limit,
            period_days=u.period.days,
        )
        for u in uses
    ]
