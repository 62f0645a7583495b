"""The case page: the case, its screening flags, its deadline and its timeline (state changes,
messages, and every read of its personal data), with the actions the officer's roles allow.

Nothing personal is on the page as it loads. The messages and a drafted decision are shown
when the officer asks for them, each through the use case that records the read in the
disclosure ledger and the audit log (G4, G5), exactly as the API's reads are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from migrex.casework import consultation, drafts
from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.context import hit_reference_key
from migrex.casework.lifecycle import CaseState, Direction, Event, allowed_events
from migrex.casework.queries import (
    case_history,
    case_messages,
    case_notes,
    deadline_status,
    open_draft_info,
)
from migrex.casework.reading import read_case_messages
from migrex.casework.routes.dependencies import CaseworkSetupDep, authorised
from migrex.casework.service import open_review, withdraw
from migrex.casework.tables import CaseRow
from migrex.errors import MigrexError
from migrex.exchange.queries import outgoing_of_case
from migrex.exchange.service import retry_for_officer
from migrex.ledger.queries import reads_of_case
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthenticated, Officer, may
from migrex.officers.service import authenticate_password
from migrex.registry.sql import SqlRegistries
from migrex.ui import names
from migrex.ui.forms import form_fields, form_list
from migrex.ui.rendering import PageRoute, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])


class FreshSignInFailed(MigrexError):
    type_slug = "fresh-sign-in-failed"
    title = "The approval needs the approver's own password"
    status = 403


@dataclass(frozen=True)
class Moment:
    """One line of the case's timeline."""

    at: datetime
    kind: str  # event | message | read
    actor: str
    what: str
    detail: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ui/cases/{case_id}", summary="A case", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    at = _now()
    with unit_of_work() as uow:
        case = authorised(uow, case_id, officer, Action.VIEW_CASE)
        timeline = _timeline(uow, case_id)
        notes = case_notes(uow, case_id)
        draft = open_draft_info(uow, case_id)
        agreement = setup.node.agreements[case.agreement_id]
        authority = case.our_authority
        context: dict[str, Any] = {
            "case": case, "notes": notes, "timeline": timeline, "draft": draft,
            "status": deadline_status(case.state, case.due_at, at),
            "partner": names.authority_name(setup.node.agreements, case.partner_authority,
                                            locale_of(request)),
            "category": names.categories(setup.node.agreements).get(case.category),
            "grounds": list(agreement.refusal_grounds.values()),
            "may_read": may(officer, Action.VIEW_PERSONAL_DATA, authority),
            "may_decide": may(officer, Action.DECIDE, authority),
            "may_review": may(officer, Action.REVIEW_INCOMING, authority),
            "holds": case.assigned_to == officer.actor,
            "citizenship": case.category == "citizenship-verification",
            "deliveries": outgoing_of_case(uow, case_id)
            if may(officer, Action.VIEW_OUTBOX, authority)
            or may(officer, Action.RETRY_DELIVERY, authority) else [],
            "may_retry": may(officer, Action.RETRY_DELIVERY, authority),
            **_steps(uow, officer, case),
        }  # fmt: skip
    return officer_page(request, officer, "ui/case.html", **context)


@router.post("/ui/outbox/{message_id}/retry", summary="Put a parked message back in line",
             status_code=204)  # fmt: skip
def retry_delivery(
    message_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    """The API's retry (`POST /v1/outbox/{id}/retry`), for the authority that sends it; the
    use case audits the attempt. The page is shown again with the message waiting."""
    with unit_of_work() as uow:
        retry_for_officer(uow, officer, message_id, _now())
    return Response(status_code=204, headers={"HX-Refresh": "true"})


def _steps(uow: Any, officer: Officer, case: CaseRow) -> dict[str, bool]:
    """The requesting side's steps and the consultation's that the officer may take on the
    case as it stands (the use cases check again when they run)."""
    moves = allowed_events(Direction(case.direction), CaseState(case.state))
    ours = case.direction == Direction.OUTGOING
    authority = case.our_authority
    consulting = consultation.is_open(case)
    return {
        "may_withdraw": ours and Event.WITHDRAW in moves
        and may(officer, Action.WITHDRAW_REQUEST, authority),
        "may_answer_clarification": ours and Event.CLARIFICATION_ANSWERED in moves
        and may(officer, Action.ANSWER_CLARIFICATION, authority),
        "may_consult": consulting and may(officer, Action.CONSULT, authority),
        "may_cosign": may(officer, Action.DECIDE, authority)
        and consultation.awaits_cosignature(uow, case),
    }  # fmt: skip


def _timeline(uow: Any, case_id: str) -> list[Moment]:
    moments = [
        Moment(e.at, "event", e.actor, e.event, {"from": e.from_state, "to": e.to_state})
        for e in case_history(uow, case_id)
    ]
    moments += [
        Moment(m.at, "message", m.actor, m.type, {"direction": m.direction, "id": m.message_id})
        for m in case_messages(uow, case_id)
    ]
    moments += [
        Moment(r.at, "read", r.actor, r.message_id or "",
               {"persons": r.persons, "fields": r.fields})
        for r in reads_of_case(uow, case_id)
    ]  # fmt: skip
    return sorted(moments, key=lambda m: m.at)


@router.get("/ui/cases/{case_id}/messages", summary="The case's messages in full (recorded)",
            response_class=HTMLResponse)  # fmt: skip
def messages(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """Every message of the case with its body; each read of personal data is recorded in the
    disclosure ledger and the audit log under the officer's name."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.VIEW_PERSONAL_DATA)
        views = read_case_messages(uow, setup.node, case_id, reader=officer.actor, now=_now())
    return render(request, "ui/case_messages.html", views=views)


@router.post("/ui/cases/{case_id}/review", summary="Take the request into review",
             status_code=204)  # fmt: skip
def review(case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep) -> Response:
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.REVIEW_INCOMING)
        open_review(uow, case_id, officer.actor, _now())
    return _refresh()


@router.post("/ui/cases/{case_id}/draft", summary="Draft the answer the registries give",
             response_class=HTMLResponse)  # fmt: skip
def draft_answer(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """The drafted answer as it would leave, field by field, and what is withheld and why."""
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.draft_answer(
            uow, setup.node, SqlRegistries(uow.session), case_id,
            hit_key=hit_reference_key(setup.key_dir), actor=officer.actor, now=_now(),
        )  # fmt: skip
    return _preview(request, officer, preview)


@router.post("/ui/cases/{case_id}/draft/refusal", summary="Draft a refusal on the agreement's "
             "grounds", response_class=HTMLResponse)  # fmt: skip
async def draft_refusal(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    fields = await form_fields(request, ("explanation",))
    grounds = await form_list(request, "ground", required=True)
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.draft_refusal(uow, setup.node, case_id, grounds=grounds,
                                       explanation=fields["explanation"],
                                       actor=officer.actor, now=_now())  # fmt: skip
    return _preview(request, officer, preview)


@router.get("/ui/cases/{case_id}/draft", summary="The open draft as it would leave (recorded)",
            response_class=HTMLResponse)  # fmt: skip
def show_draft(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.preview(uow, setup.node, case_id, reader=officer.actor, now=_now())
    return _preview(request, officer, preview)


@router.post("/ui/cases/{case_id}/draft/narrow", summary="Withhold more fields from the draft",
             response_class=HTMLResponse)  # fmt: skip
async def narrow(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    withheld = await form_list(request, "withhold", required=True)
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.narrow(uow, setup.node, case_id, fields=withheld, actor=officer.actor,
                                now=_now())  # fmt: skip
    return _preview(request, officer, preview)


@router.post("/ui/cases/{case_id}/draft/submit", summary="Send the draft, or hand it for "
             "approval", response_class=HTMLResponse)  # fmt: skip
def submit(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        preview = drafts.submit(uow, setup.node, case_id, actor=officer.actor, now=_now())
    return _preview(request, officer, preview)


@router.post("/ui/cases/{case_id}/draft/approve", summary="Approve the draft as a second "
             "officer, signing in again", response_class=HTMLResponse)  # fmt: skip
async def approve(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    fields = await form_fields(request, ("password",))
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        try:
            authenticate_password(uow, officer.username, fields["password"], _now())
        except NotAuthenticated as error:
            # Not a reason to end the session: the approval alone is refused.
            raise FreshSignInFailed("the password given for the approval is not right") from error
        preview = drafts.approve(uow, setup.node, case_id, approver=officer.actor, now=_now())
    return _preview(request, officer, preview)


@router.post("/ui/cases/{case_id}/clarification", summary="Ask the requesting party to clarify",
             status_code=204)  # fmt: skip
async def clarification(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    fields = await form_fields(request, ("question",))
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.DECIDE)
        ask_clarification(uow, setup.node, case_id, question=fields["question"],
                          actor=officer.actor, now=_now())  # fmt: skip
    return _refresh()


@router.post("/ui/cases/{case_id}/withdraw", summary="Withdraw one of our requests",
             status_code=204)  # fmt: skip
async def withdraw_request(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Withdraws the request; the partner is told, with the reason."""
    fields = await form_fields(request, ("reason",))
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.WITHDRAW_REQUEST)
        withdraw(uow, setup.node, case_id, reason=fields["reason"], actor=officer.actor,
                 now=_now())  # fmt: skip
    return _refresh()


@router.post("/ui/cases/{case_id}/clarification-answer", summary="Answer the partner's "
             "question about one of our requests", status_code=204)  # fmt: skip
async def clarification_answer(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Answers in words; the request as first sent stands (the API also takes amendments)."""
    fields = await form_fields(request, ("answer",))
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.ANSWER_CLARIFICATION)
        answer_clarification(uow, setup.node, case_id, answer={"answers": [fields["answer"]]},
                             actor=officer.actor, now=_now())  # fmt: skip
    return _refresh()


@router.post("/ui/cases/{case_id}/findings", summary="Add our finding to the consultation",
             status_code=204)  # fmt: skip
async def finding(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """A finding in words (the API also takes the fields it shares); the case does not move."""
    fields = await form_fields(request, ("finding",))
    with unit_of_work() as uow:
        authorised(uow, case_id, officer, Action.CONSULT)
        consultation.add_finding(uow, setup.node, case_id, finding=fields["finding"],
                                 fields=None, actor=officer.actor, now=_now())  # fmt: skip
    return _refresh()


@router.post("/ui/cases/{case_id}/outcome", summary="Propose the consultation's outcome, "
             "signed by our authority", status_code=204)  # fmt: skip
async def outcome(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    fields = await form_fields(request, ("outcome",))
    at = _now()
    with unit_of_work() as uow:
        case = authorised(uow, case_id, officer, Action.CONSULT)
        key = setup.keys().signing_key(case.our_authority, at)
        consultation.propose_outcome(uow, setup.node, case_id, outcome=fields["outcome"],
                                     signing_key=key, actor=officer.actor, now=at)  # fmt: skip
    return _refresh()


@router.post("/ui/cases/{case_id}/outcome/cosign", summary="Co-sign the partner's proposed "
             "outcome", status_code=204)  # fmt: skip
def cosign(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Co-signs once the partner's signature verifies; our case is answered."""
    at = _now()
    keys = setup.keys()
    with unit_of_work() as uow:
        case = authorised(uow, case_id, officer, Action.DECIDE)
        consultation.cosign_outcome(
            uow, setup.node, case_id, signing_key=keys.signing_key(case.our_authority, at),
            resolve_signing_key=keys.resolve_signing_key, actor=officer.actor, now=at,
        )  # fmt: skip
    return _refresh()


def _preview(request: Request, officer: Any, preview: drafts.Preview) -> HTMLResponse:
    leaving = sorted({name for person in preview.persons for name in person.leaving})
    return render(request, "ui/draft_preview.html", officer=officer, preview=preview,
                  leaving_fields=leaving)  # fmt: skip


def _refresh() -> Response:
    return Response(status_code=204, headers={"HX-Refresh": "true"})
