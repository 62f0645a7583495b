"""Finding a case by its number (or its opening characters), by a message's id — ours or
the partner's reference — and by state, among the cases the officer's roles let them see.

Persons are not searched here: finding a person is the data-protection officer's subject
report, which is recorded in the ledger (G4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from migrex.casework.lifecycle import CaseState
from migrex.casework.queries import deadline_status, find_cases
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.ui import names
from migrex.ui.rendering import PageRoute, locale_of, officer_page

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
    }  # fmt: skip
    return officer_page(request, officer, "ui/search.html", **context)
