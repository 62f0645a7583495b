"""The officers' routes for the steps inside a case: clarification both ways, answering a
citizenship verification, and a joint consultation's findings and co-signed outcome.

Each route loads the case, checks the officer's permission for the case's authority, and runs
one use case. Mounted by `casework.api.router`, under its `/v1`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from migrex.casework.api_deps import CASE_PROBLEMS, CaseworkSetupDep, case_for, now, sent
from migrex.casework.citizenship import answer_citizenship
from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.consultation import add_finding, cosign_outcome, propose_outcome
from migrex.casework.schemas import (
    ClarificationAnswerIn,
    ClarificationIn,
    FindingIn,
    OutcomeIn,
    SentOut,
)
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action
from migrex.registry.sql import SqlRegistries

router = APIRouter(responses=CASE_PROBLEMS)


@router.post("/cases/{case_id}/clarification", response_model=SentOut)
def ask_clarification_route(
    case_id: str, payload: ClarificationIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Ask the requesting party to clarify an incoming request in review; the case waits."""
    case_for(unit_of_work, case_id, officer, Action.DECIDE)
    with unit_of_work() as uow:
        message_id = ask_clarification(uow, setup.node, case_id, question=payload.question,
                                       actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/clarification-answer", response_model=SentOut)
def answer_clarification_route(
    case_id: str, payload: ClarificationAnswerIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Answer the partner's questions about one of our requests; an amended request is screened
    again and not sent if it would breach the agreement."""
    case_for(unit_of_work, case_id, officer, Action.ANSWER_CLARIFICATION)
    with unit_of_work() as uow:
        message_id = answer_clarification(uow, setup.node, case_id, answer=payload.answer,
                                          actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/citizenship-answer", response_model=dict[str, Any])
def answer_citizenship_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> dict[str, Any]:  # fmt: skip
    """Answer a citizenship verification request from the own-citizens register."""
    case_for(unit_of_work, case_id, officer, Action.DECIDE)
    with unit_of_work() as uow:
        reply = answer_citizenship(uow, setup.node, SqlRegistries(uow.session), case_id,
                                   actor=officer.actor, now=now())  # fmt: skip
    return reply.model_dump(mode="json", exclude_none=True)


@router.post("/cases/{case_id}/findings", response_model=SentOut)
def add_finding_route(
    case_id: str, payload: FindingIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Add our finding to an open consultation; the case does not move."""
    case_for(unit_of_work, case_id, officer, Action.CONSULT)
    with unit_of_work() as uow:
        message_id = add_finding(uow, setup.node, case_id, finding=payload.finding,
                                 fields=payload.fields, actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/outcome", response_model=SentOut)
def propose_outcome_route(
    case_id: str, payload: OutcomeIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Propose the consultation's outcome to the partner, signed with our authority's key."""
    case = case_for(unit_of_work, case_id, officer, Action.CONSULT)
    at = now()
    key = setup.keys().signing_key(case.our_authority, at)
    with unit_of_work() as uow:
        message_id = propose_outcome(uow, setup.node, case_id, outcome=payload.outcome,
                                     signing_key=key, actor=officer.actor, now=at)  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/outcome/cosign", response_model=SentOut)
def cosign_outcome_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Co-sign the partner's proposed outcome once its signature verifies; our case is
    answered and the outcome goes back signed by both."""
    case = case_for(unit_of_work, case_id, officer, Action.DECIDE)
    at = now()
    keys = setup.keys()
    with unit_of_work() as uow:
        message_id = cosign_outcome(
            uow, setup.node, case_id, signing_key=keys.signing_key(case.our_authority, at),
            resolve_signing_key=keys.resolve_signing_key, actor=officer.actor, now=at,
        )  # fmt: skip
        return sent(uow, case_id, message_id)
