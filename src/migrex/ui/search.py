"""Finding a case by its number (or its opening characters), by a message's id — ours or
the partner's reference — and by state, among the cases the officer's roles let them see;
and finding the cases a person appears in by their name, in any script
(`casework.person_search`). A name is sent in a POST, never in a URL, and every person shown
is recorded in the disclosure ledger as read (G4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from migrex.casework.lifecycle import CaseState
from migrex.casework.person_search import find_persons
from migrex.casework.queries import deadline_status, find_cases
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, Officer, may
from migrex.ui import names
from migrex.ui.forms import FormInvalid, form_fields
from migrex.ui.rendering import PageRoute, is_htmx, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Reference = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]


@router.get("/ui/search", summary="Find a case by its number, a message id or its state",
            response_class=HTMLResponse)  # fmt: skip
def search(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, *, reference: Reference = None, state: CaseState | None = None,
) -> HTMLResponse:  # fmt: skip
    asked = bool(reference or state)
    at = datetime.now(UTC)
    with unit_of_work() as uow:
        found = find_cases(uow, officer, reference=reference or None,
                           state=state.value if state else None) if asked else []  # fmt: skip
    agreements = setup.node.agreements
    locale = locale_of(request)
    context: dict[str, Any] = {
        "reference": reference or "", "state": state.value if state else "", "asked": asked,
        "found": found, "states": [s.value for s in CaseState],
        "status": {c.id: deadline_status(c.state, c.due_at, at) for c in found},
        "partner_name": lambda a: names.authority_name(agreements, a, locale),
        "categories": names.categories(agreements),
        "persons": None, "may_find_persons": _may_find_persons(officer),
    }  # fmt: skip
    return officer_page(request, officer, "ui/search.html", **context)


@router.post("/ui/search/persons", summary="Find the cases that name a person, in any script",
             response_class=HTMLResponse)  # fmt: skip
async def search_persons(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """The API's person search for the name the form gives; the use case records each person
    shown as read, in the ledger and the audit log."""
    fields = await form_fields(request, ("surname",), ("given_name",))
    if any(len(value) > MAX_NAME for value in fields.values()):
        raise FormInvalid(f"a name has at most {MAX_NAME} letters")
    with unit_of_work() as uow:
        found = find_persons(uow, setup.node, officer, surname=fields["surname"].strip(),
                             given_name=fields.get("given_name", "").strip() or None,
                             reader=officer.actor, now=datetime.now(UTC))  # fmt: skip
    agreements = setup.node.agreements
    locale = locale_of(request)
    context: dict[str, Any] = {
        "persons": found, "categories": names.categories(agreements),
        "partner_name": lambda a: names.authority_name(agreements, a, locale),
    }  # fmt: skip
    if is_htmx(request):
        return render(request, "ui/search_persons.html", officer=officer, **context)
    return officer_page(request, officer, "ui/search.html", reference="", state="", asked=False,
                        found=[], states=[s.value for s in CaseState], status={},
                        may_find_persons=True, **context)  # fmt: skip


MAX_NAME = 100


def _may_find_persons(officer: Officer) -> bool:
    return any(may(officer, Action.VIEW_PERSONAL_DATA, a) for a in officer.authorities)
