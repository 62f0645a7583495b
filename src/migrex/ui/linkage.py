"""The officer's queue of linkage candidates: a run's pairs, resolved to our own records, by
band; the candidate's page with our own register's record (for an officer who may see that
authority's personal data, as a recorded read) and the officer's two decisions: ask the
run's partner through the ordinary citizenship-verification request, or dismiss it with a
reason. The decisions are the use cases the command line runs (`linkage.candidates`); the
request leaves through casework's own path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.linkage.candidate_rules import CandidateState
from migrex.linkage.candidates import dismiss_candidate, request_verification, show_candidate
from migrex.linkage.queries import candidates_of
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthorised, may
from migrex.ui import names
from migrex.ui.forms import form_fields
from migrex.ui.rendering import PageRoute, locale_of, officer_page

router = APIRouter(route_class=PageRoute, tags=["console"])

RunFilter = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ui/linkage", summary="The officer's queue of linkage candidates",
            response_class=HTMLResponse)  # fmt: skip
def candidates_queue(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, *, run: RunFilter = None,
    state: CandidateState | None = CandidateState.OPEN,
) -> HTMLResponse:  # fmt: skip
    ours = [a for a in setup.node.hosted if may(officer, Action.VIEW_CASE, a)]
    if not ours:
        raise NotAuthorised(f"{officer.username} may not view linkage candidates")
    with unit_of_work() as uow:
        lines = candidates_of(uow, ours, run=run, state=state)
    return officer_page(request, officer, "ui/linkage.html", lines=lines, state=state, run=run)


@router.get("/ui/linkage/{candidate_id}", summary="A linkage candidate (a recorded read)",
            response_class=HTMLResponse)  # fmt: skip
def candidate_page(
    request: Request, candidate_id: int, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """The candidate; showing our own record on it records a read under the officer's name."""
    with unit_of_work() as uow:
        view = show_candidate(uow, setup.node, officer, candidate_id, now=_now())
    authority = view.candidate.authority
    locale = locale_of(request)
    return officer_page(
        request, officer, "ui/linkage_candidate.html", view=view,
        may_request=may(officer, Action.CREATE_REQUEST, authority)
        and may(officer, Action.SEND_REQUEST, authority),
        may_dismiss=may(officer, Action.CREATE_REQUEST, authority),
        authority_name=lambda a: names.authority_name(setup.node.agreements, a, locale),
    )  # fmt: skip


@router.post("/ui/linkage/{candidate_id}/verify", status_code=204,
             summary="Ask the run's partner to verify the candidate's citizenship")  # fmt: skip
async def verify(
    request: Request, candidate_id: int, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Screens and sends the pre-filled request through casework's path; the browser goes to
    its case. The form names the pair it was shown, so a stale page asks about no other."""
    fields = await form_fields(request, ("pair",), ("legal_basis",))
    with unit_of_work() as uow:
        opened = request_verification(uow, setup.node, officer, candidate_id, now=_now(),
                                      legal_basis=fields.get("legal_basis"),
                                      pair_id=fields["pair"])  # fmt: skip
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/cases/{opened.case_id}"})


@router.post("/ui/linkage/{candidate_id}/dismiss", status_code=204,
             summary="Dismiss the linkage candidate, saying why")  # fmt: skip
async def dismiss(
    request: Request, candidate_id: int, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep,
) -> Response:  # fmt: skip
    fields = await form_fields(request, ("reason",))
    with unit_of_work() as uow:
        dismiss_candidate(uow, officer, candidate_id, reason=fields["reason"], now=_now())
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/linkage/{candidate_id}"})
