"""The data-protection officer's pages: the disclosure ledger with its filters, the subject
report for a person, the agreements' volume limits with their use, and the retention schedule
with its erasures.

The ledger's lines name messages, partners, purposes and field names, never a person; the
subject report is the API's use case (`ledger.service.report_on_subject`), which records
the read about the person in the audit log in the same transaction (G5). The identifiers a
report is asked for travel in a form, never in the address, and are not shown back (G8).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.ledger.queries import DisclosureFilter, disclosure_choices, disclosures
from migrex.ledger.service import report_on_subject
from migrex.ledger.subjects import document_identifier, national_id_identifier
from migrex.ledger.volume import authority_limits
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer, authorities_for
from migrex.retention.queries import kept_records
from migrex.retention.run import run_retention
from migrex.ui import names
from migrex.ui.forms import FormInvalid, form_fields, form_list
from migrex.ui.rendering import PageRoute, is_htmx, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Choice = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]*$")]
Way = Literal["sent", "received", "read"]
MAX_IDENTIFIERS = 40  # as many as the API's report takes
RETENTION_SHOWN = 100


def _now() -> datetime:
    return datetime.now(UTC)


def _authorities(
    officer: Officer, action: Action, hosted: Sequence[str], chosen: str | None
) -> tuple[str, list[str]]:
    """The authority a page is for (the one chosen, else the first the officer may act for)
    and every one they may choose; NotAuthorised where they may not."""
    every = authorities_for(officer, action, list(hosted), None)
    return authorities_for(officer, action, list(hosted), chosen or None)[0], every


@router.get("/ui/ledger", summary="The disclosure ledger, filtered and paged",
            response_class=HTMLResponse)  # fmt: skip
def ledger(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, *, authority: Choice = None, partner: Choice = None,
    purpose: Choice = None, direction: Way | None = None, since: date | None = None,
    until: date | None = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:  # fmt: skip
    """What the authority sent, received and read, one line per message; an htmx request
    (the filters, the pages) gets the table alone."""
    chosen, every = _authorities(officer, Action.VIEW_DISCLOSURES, setup.node.hosted, authority)
    filters = DisclosureFilter(
        partner or None, purpose or None, direction,
        datetime.combine(since, time(), UTC) if since else None,
        datetime.combine(until, time(), UTC) + timedelta(days=1) if until else None,
    )  # fmt: skip
    with unit_of_work() as uow:
        shown = disclosures(uow, chosen, filters, page=page)
        partners, purposes = disclosure_choices(uow, chosen)
    agreements = setup.node.agreements
    locale = locale_of(request)
    context: dict[str, Any] = {
        "authority": chosen, "authorities": every, "shown": shown,
        "chosen": {"partner": partner or "", "purpose": purpose or "",
                   "direction": direction or "", "since": since.isoformat() if since else "",
                   "until": until.isoformat() if until else ""},
        "partners": partners, "purposes": purposes,
        "name": lambda a: names.authority_name(agreements, a, locale),
    }  # fmt: skip
    if is_htmx(request) and request.headers.get("HX-Target") == "ledger-table":
        return render(request, "ui/ledger_table.html", officer=officer, **context)
    return officer_page(request, officer, "ui/ledger.html", **context)


@router.get("/ui/subject-report", summary="The subject report's form",
            response_class=HTMLResponse)  # fmt: skip
def subject_report_form(
    request: Request, officer: CurrentOfficer, setup: CaseworkSetupDep
) -> HTMLResponse:
    _chosen, every = _authorities(officer, Action.SUBJECT_REPORT, setup.node.hosted, None)
    return officer_page(request, officer, "ui/subject_report.html", authorities=every,
                        entries=None)  # fmt: skip


@router.post("/ui/subject-report", summary="What the ledger holds about one person",
             response_class=HTMLResponse)  # fmt: skip
async def subject_report(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """The API's subject report, for the identifiers the form gives; the use case records
    the read in the audit log, one entry per identifier, as the API's route does."""
    fields = await form_fields(request, (), ("authority",))
    identifiers = [document_identifier(d) for d in await form_list(request, "document")] + [
        national_id_identifier(n) for n in await form_list(request, "national_id")
    ]
    if not identifiers:
        raise FormInvalid("give a document number or a national id of the person")
    if len(identifiers) > MAX_IDENTIFIERS:
        raise FormInvalid(f"give at most {MAX_IDENTIFIERS} identifiers")
    chosen, every = _authorities(officer, Action.SUBJECT_REPORT, setup.node.hosted,
                                 fields.get("authority"))  # fmt: skip
    with unit_of_work() as uow:
        entries = report_on_subject(uow.session, setup.node.subject_key, identifiers,
                                    authority=chosen, reader=officer.actor, at=_now())  # fmt: skip
        uow.commit()
    agreements = setup.node.agreements
    locale = locale_of(request)
    context: dict[str, Any] = {
        "authorities": every, "authority": chosen, "entries": entries,
        "asked": len(identifiers), "name": lambda a: names.authority_name(agreements, a, locale),
    }  # fmt: skip
    if is_htmx(request):
        return render(request, "ui/subject_report_result.html", officer=officer, **context)
    return officer_page(request, officer, "ui/subject_report.html", **context)


@router.get("/ui/limits", summary="The agreements' volume limits and their use",
            response_class=HTMLResponse)  # fmt: skip
def limits(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, *, authority: Choice = None,
) -> HTMLResponse:  # fmt: skip
    """Persons requested each way per partner state in the current period, as the API's
    and the CLI's limits report count them."""
    chosen, every = _authorities(officer, Action.VIEW_DISCLOSURES, setup.node.hosted, authority)
    with unit_of_work() as uow:
        uses = authority_limits(uow.session, setup.node.agreements, chosen, _now())
    return officer_page(request, officer, "ui/limits.html", authority=chosen, authorities=every,
                        uses=uses)  # fmt: skip


@router.get("/ui/retention", summary="The retention schedule and the erasures",
            response_class=HTMLResponse)  # fmt: skip
def retention(
    request: Request, officer: Annotated[Officer, requires(Action.RUN_RETENTION)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> HTMLResponse:  # fmt: skip
    """Records kept, soonest due first, and those erased (`migrex retention list`)."""
    with unit_of_work() as uow:
        kept = kept_records(uow, erased=False, limit=RETENTION_SHOWN)
        erased = kept_records(uow, erased=True, limit=RETENTION_SHOWN)
    return officer_page(request, officer, "ui/retention.html", kept=kept, erased=erased,
                        now=_now())  # fmt: skip


@router.post("/ui/retention/run", summary="Erase what is due now", response_class=HTMLResponse)
def retention_run(
    request: Request, officer: Annotated[Officer, requires(Action.RUN_RETENTION)],
    unit_of_work: UnitOfWorkFactoryDep,
) -> HTMLResponse:  # fmt: skip
    """The retention run (`migrex retention run`): the keys of what is due are destroyed and
    each erasure is logged, in one transaction."""
    with unit_of_work() as uow:
        done = run_retention(uow, _now())
    return render(request, "ui/retention_done.html", erased=len(done))
