"""The officers' routes for deciding an incoming request: draft an answer or a refusal, see
exactly what would leave, narrow it, submit it, and approve it as a second officer; the
one-step answer and refusal, a citizenship answer, and asking for clarification."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from migrex.casework import drafts
from migrex.casework.clarification import ask_clarification
from migrex.casework.context import hit_reference_key
from migrex.casework.routes.dependencies import (
    CASE_PROBLEMS,
    CaseworkSetup,
    CaseworkSetupDep,
    authorised,
    now,
    sent,
)
from migrex.casework.schemas import (
    ApproveIn,
    ClarificationIn,
    NarrowIn,
    PreviewOut,
    RefusalIn,
    SentOut,
)
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactory, UnitOfWorkFactoryDep
from migrex.officers.model import Action, Officer
from migrex.officers.service import authenticate_password
from migrex.registry.sql import SqlRegistries

router = APIRouter(responses=CASE_PROBLEMS)


def _out(preview: drafts.Preview) -> PreviewOut:
    return PreviewOut.model_validate(asdict(preview))


@router.post("/cases/{case_id}/draft", response_model=PreviewOut)
def draft_answer_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """Draft the answer the registries give, and see exactly what would leave and what is
    withheld and why. Nothing is sent."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.draft_answer(
            uow, setup.node, SqlRegistries(uow.session), case_id,
            hit_key=hit_reference_key(setup.key_dir), actor=officer.actor, now=now(),
        )  # fmt: skip
    return _out(preview)


@router.post("/cases/{case_id}/draft/refusal", response_model=PreviewOut)
def draft_refusal_route(
    case_id: str, payload: RefusalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """Draft a refusal on the agreement's grounds (with their articles)."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.draft_refusal(uow, setup.node, case_id, grounds=payload.grounds,
                                       explanation=payload.explanation, actor=officer.actor,
                                       now=now())  # fmt: skip
    return _out(preview)


@router.get("/cases/{case_id}/draft", response_model=PreviewOut)
def show_draft(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """The case's open draft as it would leave."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        return _out(drafts.preview(uow, setup.node, case_id, reader=officer.actor, now=now()))


@router.post("/cases/{case_id}/draft/narrow", response_model=PreviewOut)
def narrow_route(
    case_id: str, payload: NarrowIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """Withhold more fields from the drafted answer (never add)."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.narrow(
            uow, setup.node, case_id, fields=payload.fields, persons=payload.persons,
            actor=officer.actor, now=now(),
        )  # fmt: skip
    return _out(preview)


@router.post("/cases/{case_id}/draft/submit", response_model=PreviewOut)
def submit_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """Send the draft, or hand it to a second officer where the agreement requires one."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        return _out(drafts.submit(uow, setup.node, case_id, actor=officer.actor, now=now()))


@router.post("/cases/{case_id}/draft/approve", response_model=PreviewOut)
def approve_route(
    case_id: str, payload: ApproveIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> PreviewOut:  # fmt: skip
    """Approve, as a second officer who signs in again, a draft awaiting approval; it leaves."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        authenticate_password(uow, officer.username, payload.password, now())
        return _out(drafts.approve(uow, setup.node, case_id, approver=officer.actor, now=now()))


@router.delete("/cases/{case_id}/draft", status_code=204)
def discard_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> None:
    """Discard the case's open draft."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        drafts.discard(uow, case_id, actor=officer.actor, now=now())


@router.post("/cases/{case_id}/answer", response_model=dict[str, Any])
def answer(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> dict[str, Any]:  # fmt: skip
    """Draft and submit in one step the answer to a person inquiry (only the profile's fields);
    where the agreement requires a second officer it waits for approval instead of leaving."""
    return _answer_in_one_step(case_id, officer, unit_of_work, setup, citizenship=False)


def _answer_in_one_step(
    case_id: str, officer: Officer, unit_of_work: UnitOfWorkFactory, setup: CaseworkSetup, *,
    citizenship: bool,
) -> dict[str, Any]:  # fmt: skip
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        drafts.draft_answer(uow, setup.node, SqlRegistries(uow.session), case_id,
                            hit_key=hit_reference_key(setup.key_dir), actor=officer.actor,
                            now=now(), citizenship=citizenship)  # fmt: skip
        return drafts.submit(uow, setup.node, case_id, actor=officer.actor, now=now()).body


@router.post("/cases/{case_id}/citizenship-answer", response_model=dict[str, Any])
def answer_citizenship_route(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> dict[str, Any]:  # fmt: skip
    """Answer a citizenship verification request from the own-citizens register (drafted and
    submitted in one step, as `answer`)."""
    return _answer_in_one_step(case_id, officer, unit_of_work, setup, citizenship=True)


@router.post("/cases/{case_id}/refuse", response_model=SentOut)
def refuse_route(
    case_id: str, payload: RefusalIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Refuse on one or more of the agreement's grounds, drafted and submitted in one step."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        drafts.draft_refusal(uow, setup.node, case_id, grounds=payload.grounds,
                             explanation=payload.explanation, actor=officer.actor,
                             now=now())  # fmt: skip
        done = drafts.submit(uow, setup.node, case_id, actor=officer.actor, now=now())
        return sent(uow, case_id, done.message_id)


@router.post("/cases/{case_id}/clarification", response_model=SentOut)
def ask_clarification_route(
    case_id: str, payload: ClarificationIn, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> SentOut:  # fmt: skip
    """Ask the requesting party to clarify an incoming request in review; the case waits."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        message_id = ask_clarification(uow, setup.node, case_id, question=payload.question,
                                       actor=officer.actor, now=now())  # fmt: skip
        return sent(uow, case_id, message_id)
