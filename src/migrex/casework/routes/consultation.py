"""The officers' routes for the requesting side's steps inside a case: answering the
partner's clarification, and a joint consultation's findings and co-signed outcome.

Each route loads the case, checks the officer's permission for the case's authority, and runs
one use case. Mounted by `casework.routes.router`, under its `/v1`.
"""

from __future__ import annotations

from fastapi import APIRouter

from migrex.casework.clarification import answer_clarification
from migrex.casework.consultation import add_finding, cosign_outcome, propose_outcome
from migrex.casework.routes.dependencies import (
    CASE_PROBLEMS,
    CaseworkSetupDep,
    authorised,
    now,
    sent,
)
from migrex.casework.schemas import (
    ClarificationAnswerIn,
    FindingIn,
    OutcomeIn,
    SentOut,
)
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action

router = APIRouter(responses=CASE_PROBLEMS)


@router.post("/cases/{case_id}/clarification-answer", response_model=SentOut)
def answer_clarification_route(
    case_id: str, payload: ClarificationAnswerIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Answer the partner's questions about one of our requests; an amended request is screened
    again and not sent if it would breach the agreement."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.ANSWER_CLARIFICATION)
        message_id = answer_clarification(uow, setup.node, case_id, answer=payload.answer,
                                          actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/findings", response_model=SentOut)
def add_finding_route(
    case_id: str, payload: FindingIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Add our finding to an open consultation; the case does not move."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.CONSULT)
        message_id = add_finding(uow, setup.node, case_id, finding=payload.finding,
                                 fields=payload.fields, actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)


@router.post("/cases/{case_id}/outcome", response_model=SentOut)
def propose_outcome_route(
    case_id: str, payload: OutcomeIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Propose the consultation's outcome to the partner, signed with our authority's key."""
    at = now()
    with unit_of_work() as uow:
        case = authorised(uow, case_id, officer, Action.CONSULT)
        key = setup.keys().signing_key(case.our_authority, at)
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
    at = now()
    keys = setup.keys()
    with unit_of_work() as uow:
        case = authorised(uow, case_id, officer, Action.DECIDE)
        message_id = cosign_outcome(
            uow, setup.node, case_id, signing_key=keys.signing_key(case.our_authority, at),
            resolve_signing_key=keys.resolve_signing_key, actor=officer.actor, now=at,
        )  # fmt: skip
        return sent(uow, case_id, message_id)
