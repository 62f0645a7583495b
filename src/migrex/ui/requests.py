"""A new request, from a form the agreement generates: the officer chooses whom to ask and
the category, purpose and fields the agreement allows between the two authorities; screening
is shown before anything is sent; sending opens the case through the same use case as the
officers' API (`casework.service.open_request`), with the same permission checks.

The form asks about one person; the API takes requests about several.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from migrex.agreements import Agreement
from migrex.casework.request_keys import checked_key
from migrex.casework.requesting import Opening, askable_fields, openings, partners_of
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.casework.service import OpenRequest, open_request, screen_request
from migrex.errors import Problem
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthorised, Officer, may, require
from migrex.ui import names
from migrex.ui.forms import FormInvalid, form_fields, form_list
from migrex.ui.rendering import PageRoute, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Choice = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]*$")]
_IDENTIFIER = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# The parts of the form each opening type is built from (its body's shape). A type without
# an entry (a violation notice, with its list of violations) is sent through the API or CLI.
PERSONS, PERSON, QUESTION, SUBJECT, FIELDS, STATED = (
    "persons", "person", "question", "subject", "fields", "stated",
)  # fmt: skip
SECTIONS: dict[str, tuple[str, ...]] = {
    "person-inquiry": (STATED, PERSONS, FIELDS),
    "citizenship-verification-request": (STATED, PERSONS, FIELDS),
    "legal-status-consultation": (STATED, QUESTION, PERSON, FIELDS),
    "assistance-request": (STATED, QUESTION, PERSON, FIELDS),
    "statistical-information": (SUBJECT,),
    "legal-information": (SUBJECT,),
    "methodological-information": (SUBJECT,),
}
IDENTIFIERS = (
    "surname", "given_name", "patronymic", "surname_latin", "given_name_latin", "birth_date",
    "citizenship", "document_type", "document_number", "national_id",
)  # fmt: skip
CHOSEN = ("agreement", "sender", "recipient", "type")
TEXTS = ("purpose", "legal_basis", "urgency", "urgency_reason", "question", "subject", "summary")


def _now() -> datetime:
    return datetime.now(UTC)


def senders(officer: Officer, hosted: tuple[str, ...] | list[str]) -> list[str]:
    """The hosted authorities the officer may open requests for (as the API checks it)."""
    return sorted(a for a in officer.authorities if a in hosted
                  and may(officer, Action.CREATE_REQUEST, a)
                  and may(officer, Action.SEND_REQUEST, a))  # fmt: skip


@dataclass(frozen=True)
class Choices:
    """What is chosen so far, each among what the agreement offers; `None` until chosen."""

    senders: list[str]
    sender: str | None
    agreements: list[str]
    agreement: Agreement | None
    partners: list[str]
    recipient: str | None
    openings: list[Opening]
    opening: Opening | None
    purpose: str | None
    fields: list[str]

    @property
    def ready(self) -> bool:
        """Enough is chosen to fill in the request itself."""
        return self.opening is not None and (self.purpose is not None
                                             or not self.opening.purposes)  # fmt: skip


def _pick(chosen: str | None, offered: list[str]) -> str | None:
    """The chosen value when it is offered; the only one when there is one; else none."""
    if chosen in offered:
        return chosen
    return offered[0] if len(offered) == 1 else None


def choices(
    officer: Officer, agreements: dict[str, Agreement], hosted: list[str], *,
    sender: str | None, agreement: str | None, recipient: str | None, category: str | None,
    purpose: str | None,
) -> Choices:  # fmt: skip
    offered = senders(officer, hosted)
    if not offered:
        raise NotAuthorised(f"{officer.username} may not open requests for any authority")
    chosen_sender = _pick(sender, offered)
    ids = sorted(a for a, ag in agreements.items()
                 if chosen_sender is not None and chosen_sender in ag.authorities)  # fmt: skip
    chosen_id = _pick(agreement, ids)
    found = agreements[chosen_id] if chosen_id is not None else None
    partners = partners_of(found, chosen_sender) if found and chosen_sender else []
    chosen_recipient = _pick(recipient, partners)
    opened = [o for o in (openings(found, chosen_sender, chosen_recipient)
                          if found and chosen_sender and chosen_recipient else [])
              if o.type in SECTIONS]  # fmt: skip
    opening = next((o for o in opened if o.category.id == category), None)
    if opening is None and len(opened) == 1:
        opening = opened[0]
    purposes = [p.id for p in opening.purposes] if opening else []
    chosen_purpose = _pick(purpose, purposes)
    fields = askable_fields(found, chosen_purpose) if found and chosen_purpose else []
    return Choices(offered, chosen_sender, ids, found, partners, chosen_recipient, opened,
                   opening, chosen_purpose, fields)  # fmt: skip


@router.get("/ui/requests/new", summary="A new request: the form the agreement allows",
            response_class=HTMLResponse)  # fmt: skip
def new_request(
    request: Request, officer: CurrentOfficer, setup: CaseworkSetupDep, *,
    sender: Choice = None, agreement: Choice = None, recipient: Choice = None,
    category: Choice = None, purpose: Choice = None,
) -> HTMLResponse:  # fmt: skip
    node = setup.node
    chosen = choices(officer, dict(node.agreements), list(node.hosted), sender=sender,
                     agreement=agreement, recipient=recipient, category=category,
                     purpose=purpose)  # fmt: skip
    locale = locale_of(request)
    return officer_page(
        request, officer, "ui/new_request.html", chosen=chosen,
        sections=SECTIONS[chosen.opening.type] if chosen.opening else (),
        # The form's own key: sent twice (a double click on Send, the browser posting it
        # again), it opens one case (`casework.request_keys`).
        request_key=str(uuid.uuid4()),
        authority_name=lambda a: names.authority_name(node.agreements, a, locale),
    )  # fmt: skip


async def _command(request: Request, officer: Officer) -> OpenRequest:
    """The request the form describes, for an authority the officer may open requests for."""
    fields = await form_fields(request, CHOSEN, (*TEXTS, *IDENTIFIERS))
    wrong = [Problem(name, "is not an identifier") for name in CHOSEN
             if not _IDENTIFIER.match(fields[name])]  # fmt: skip
    if "purpose" in fields and not _IDENTIFIER.match(fields["purpose"]):
        wrong.append(Problem("purpose", "is not an identifier"))
    if wrong:
        raise FormInvalid("the form names something that is not an identifier", wrong)
    sections = SECTIONS.get(fields["type"])
    if sections is None:
        elsewhere = Problem("type", "send it through the API or the command line")
        raise FormInvalid("the console has no form for this type", [elsewhere])
    require(officer, Action.CREATE_REQUEST, fields["sender"])
    require(officer, Action.SEND_REQUEST, fields["sender"])
    asked = await form_list(request, "requested_field")
    body = _body(sections, fields, asked)
    return OpenRequest(fields["agreement"], fields["sender"], fields["recipient"], fields["type"],
                       body, officer.actor)  # fmt: skip


def _body(sections: tuple[str, ...], fields: dict[str, str], asked: list[str]) -> dict[str, Any]:
    """The message body the form's parts make: absent what was left blank (the body's own
    rules, and screening, judge the rest)."""
    body: dict[str, Any] = {}
    if "purpose" in fields:
        body["purpose"] = fields["purpose"]
    if STATED in sections:
        body |= {k: fields[k] for k in ("legal_basis", "urgency", "urgency_reason") if k in fields}
    if QUESTION in sections and "question" in fields:
        body["question"] = fields["question"]
    if SUBJECT in sections:
        body |= {k: fields[k] for k in ("subject", "summary") if k in fields}
    person = {k: fields[k] for k in IDENTIFIERS if k in fields}
    if PERSONS in sections:
        body["persons"] = [person]
    if PERSON in sections and person:
        body["person"] = person
    if FIELDS in sections and asked:
        body["requested_fields"] = asked
    return body


@router.post("/ui/requests/screen", summary="Screen the request against the agreement, "
             "sending nothing", response_class=HTMLResponse)  # fmt: skip
async def screen(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """What screening finds in the request as it stands: breaches stop it, flags warn."""
    command = await _command(request, officer)
    with unit_of_work() as uow:
        screened = screen_request(uow, setup.node, command, _now())
    return render(request, "ui/request_screening.html", screening=screened.screening)


@router.post("/ui/requests", summary="Send the request: its case opens", status_code=204)
async def send(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Screens the request again and sends it; the browser goes to its new case."""
    command = await _command(request, officer)
    key = (await form_fields(request, (), ("request_key",))).get("request_key")
    if key is not None:
        command = replace(command, request_key=checked_key(key, "request_key"))
    with unit_of_work() as uow:
        opened = open_request(uow, setup.node, command, _now())
    return Response(status_code=204, headers={"HX-Redirect": f"/ui/cases/{opened.case_id}"})
