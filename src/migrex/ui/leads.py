"""The analyst's channel leads: the queue (rank, size, score, state) and the lead card, with
its subgraph drawn on the server, each edge's source, the score broken down, the lawful
explanations to rule out, the signals never read, and the pre-filled request with the
analyst's two decisions: open it as a case, or dismiss it with a reason.

Showing a card is a read of personal data (it names member records): the use case records
it in the ledger and the audit log (G4, G5). The decisions are the use cases the command
line runs (`channels.service`); the request leaves through casework's own path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.channels.queries import leads_of
from migrex.channels.service import dismiss_lead, open_lead, show_lead
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthorised, may
from migrex.ui import names
from migrex.ui.forms import form_fields
from migrex.ui.lead_graph import layout
from migrex.ui.rendering import PageRoute, locale_of, officer_page

router = APIRouter(route_class=PageRoute, tags=["console"])

Target = Annotated[str | None, Query(max_length=140, pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")]
State = Literal["new", "opened", "dismissed"]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ui/leads", summary="The analyst's queue of channel leads",
            response_class=HTMLResponse)  # fmt: skip
def leads_queue(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, state: State | None = None,
) -> HTMLResponse:  # fmt: skip
    ours = [a for a in setup.node.hosted if may(officer, Action.VIEW_LEADS, a)]
    if not ours:
        raise NotAuthorised(f"{officer.username} may not view channel leads")
    with unit_of_work() as uow:
        lines = leads_of(uow, ours, state=state)
    return officer_page(request, officer, "ui/leads.html", lines=lines, state=state)


@router.get("/ui/leads/{lead_id}", summary="A lead's card (a recorded read)",
            response_class=HTMLResponse)  # fmt: skip
def lead_card(
    request: Request, lead_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep, *, to: Target = None,
) -> HTMLResponse:  # fmt: skip
    """The card; showing it records a read of each member under the analyst's name."""
    with unit_of_work() as uow:
        view = show_lead(uow, setup.node, officer, lead_id, now=_now(), target=to)
    drawing = layout(
        [(m.record_id, m.violator) for m in view.members],
        [(e.position, e.kind, e.label or e.key) for e in view.entities],
        [(e.record_id, e.position) for e in view.edges],
    )
    locale = locale_of(request)
    authority = view.run.authority
    return officer_page(
        request, officer, "ui/leads_card.html", view=view, drawing=drawing,
        entities={e.position: e for e in view.entities},
        may_decide=may(officer, Action.DECIDE_LEAD, authority)
        and may(officer, Action.CREATE_REQUEST, authority)
        and may(officer, Action.SEND_REQUEST, authority),
        may_dismiss=may(officer, Action.DECIDE_LEAD, authority),
        authority_name=lambda a: names.authority_name(setup.node.agreements, a, locale),
    )  # fmt: skip


@router.post("/ui/leads/{lead_id}/dismiss", summary="Dismiss the lead, saying why",
             status_code=204)  # fmt: skip
async def dismiss(
    request: Request, lead_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    fields = await form_fields(request, ("reason",))
    with unit_of_work() as uow:
        dismiss_lead(uow, officer, lead_id, reason=fields["reason"], now=_now())
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/leads/{lead_id}"})


@router.post("/ui/leads/{lead_id}/open", summary="Open the lead as its pre-filled request",
             status_code=204)  # fmt: skip
async def open_as_case(
    request: Request, lead_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Screens and sends the request through casework's path; the browser goes to its case."""
    fields = await form_fields(request, ("to",))
    with unit_of_work() as uow:
        opened = open_lead(uow, setup.node, officer, lead_id, target=fields["to"], now=_now())
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/cases/{opened.case_id}"})
