"""The work queues: the officer's front page with a count per queue, each queue as a table
that htmx filters, sorts and pages in place, claiming and releasing a case, and the bulk moves
(claim, reassign) — the only things the console does to several cases at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from migrex.casework.assignment import claim, reassign, release
from migrex.casework.lifecycle import CaseState
from migrex.casework.queries import (
    Queue,
    QueueFilter,
    assignable_officers,
    deadline_status,
    queue_counts,
    queue_page,
    visible_queues,
)
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.errors import NotFound
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthorised, Officer, may
from migrex.ui import names
from migrex.ui.forms import FormInvalid, form_fields, form_list
from migrex.ui.rendering import PageRoute, is_htmx, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Choice = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]*$")]
Sort = Literal["due", "opened", "state", "partner"]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ui/", summary="The officer's work: every queue and its count",
            response_class=HTMLResponse)  # fmt: skip
def home(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> HTMLResponse:
    with unit_of_work() as uow:
        counts = queue_counts(uow, officer, _now())
    return officer_page(request, officer, "ui/home.html", counts=counts,
                        grants=sorted(officer.grants))  # fmt: skip


@router.get("/ui/queues/{queue}", summary="One work queue", response_class=HTMLResponse)
def queue_view(
    request: Request, queue: str, *, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, agreement: Choice = None, partner: Choice = None,
    category: Choice = None, state: Choice = None, sort: Sort = "due",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:  # fmt: skip
    """The queue's table; an htmx request (the filters, the sort, the pages) gets the table
    alone."""
    chosen = _queue(queue, officer)
    filters = QueueFilter(agreement, partner, category, state)
    at = _now()
    table_alone = is_htmx(request) and request.headers.get("HX-Target") == "queue-table"
    with unit_of_work() as uow:
        shown = queue_page(uow, chosen, officer, at, filters=filters, sort=sort, page=page)
        # Every queue's count is for the whole page's tabs; the table alone shows none.
        counts = {} if table_alone else queue_counts(uow, officer, at)
        holders = assignable_officers(uow, officer)
    agreements = setup.node.agreements
    locale = locale_of(request)
    context: dict[str, Any] = {
        "queue": chosen, "shown": shown, "filters": filters, "sort": sort, "counts": counts,
        "holders": holders, "status": {c.id: deadline_status(c.state, c.due_at, at)
                                       for c in shown.lines},
        "partner_name": lambda a: names.authority_name(agreements, a, locale),
        "agreements": sorted(agreements), "partners": names.partners(agreements,
                                                                     setup.node.hosted),
        "categories": names.categories(agreements), "states": [s.value for s in CaseState],
        "may_claim": any(may(officer, Action.REVIEW_INCOMING, a) for a in officer.authorities),
        "may_assign": bool(holders),
    }  # fmt: skip
    if table_alone:
        return render(request, "ui/queue_table.html", officer=officer, **context)
    return officer_page(request, officer, "ui/queue.html", **context)


@router.post("/ui/cases/{case_id}/claim", summary="Claim a case", status_code=204)
def claim_case(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    with unit_of_work() as uow:
        claim(uow, [case_id], officer, _now())
    return _refresh()


@router.post("/ui/cases/{case_id}/release", summary="Release a case", status_code=204)
def release_case(
    case_id: str, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    with unit_of_work() as uow:
        release(uow, case_id, officer, _now())
    return _refresh()


@router.post("/ui/queues/bulk", summary="Claim or reassign the chosen cases", status_code=204)
async def bulk(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    """Claims the chosen cases, or (a supervisor) hands them to an officer: all or none."""
    fields = await form_fields(request, ("action",), ("to",))
    cases = await form_list(request, "case", required=True)
    with unit_of_work() as uow:
        if fields["action"] == "claim":
            claim(uow, cases, officer, _now())
        elif fields["action"] == "reassign" and "to" in fields:
            reassign(uow, cases, officer, fields["to"], _now())
        else:
            raise FormInvalid("choose claim, or reassign with the officer to hand the cases to")
    return _refresh()


def _queue(name: str, officer: Officer) -> Queue:
    try:
        queue = Queue(name)
    except ValueError as error:
        raise NotFound(f"no queue {name!r}") from error
    if queue not in visible_queues(officer):
        raise NotAuthorised(f"the officer's roles show no {queue} queue")
    return queue


def _refresh() -> Response:
    """The queue or case page again, as it now stands (htmx reloads it)."""
    return Response(status_code=204, headers={"HX-Refresh": "true"})
