"""Cases in a given state at Armenia's node (am-mcs), reached through the use cases and the
in-process exchange, for the tests of the officers' API and CLI; and officers to act on them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from casework_steps import context, deliver, now
from migrex.casework.clarification import ask_clarification
from migrex.casework.consultation import propose_outcome
from migrex.casework.routes import consultation_keys_of
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.web.officers_app import create_officer_app
from nodes import Pair

AGREEMENT = "kz-am-2024"
PRECISE = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"
PERSON = {"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM", "birth_date": "1985-03-14",
          "citizenship": "ARM", "document_number": "AM1234567"}  # fmt: skip
INQUIRY: dict[str, Any] = {
    "purpose": "legal-status-of-stay", "legal_basis": PRECISE, "persons": [PERSON],
    "requested_fields": ["surname_latin", "permit_type"],
}  # fmt: skip
CITIZENSHIP: dict[str, Any] = {
    "purpose": "combat-dual-citizenship",
    "legal_basis": "Constitutional Law of Kazakhstan on Citizenship, Article 21",
    "persons": [{"surname_latin": "ALIBEKOV", "given_name_latin": "NURLAN",
                 "birth_date": "1990-01-01"}],
}  # fmt: skip
CONSULTATION: dict[str, Any] = {
    "purpose": "legal-status-of-stay", "legal_basis": PRECISE,
    "question": "Does the work permit still cover the person's new employer?",
    "person": PERSON, "requested_fields": ["permit_type", "permit_valid_to"],
}  # fmt: skip
OUTCOME = "The stay is lawful until the work permit ends on 2026-03-31."
# A new request in the console: what the form's choices name, and the form as filled in.
REQUEST_CHOICE = "recipient=kz-mia&category=persons-present&purpose=legal-status-of-stay"
REQUEST_FORM = {
    "agreement": "kz-am-2024", "sender": "am-mcs", "recipient": "kz-mia",
    "type": "person-inquiry", "purpose": "legal-status-of-stay", "legal_basis": PRECISE,
    "urgency": "normal", "surname_latin": PERSON["surname_latin"],
    "given_name_latin": PERSON["given_name_latin"], "birth_date": PERSON["birth_date"],
    "document_number": PERSON["document_number"],
    "requested_field": ["permit_type", "employer_name"],
}  # fmt: skip


def officers_app(node: Node) -> FastAPI:
    """The node's officers' API, with the node's keys for co-signing wired as the app factory
    wires them (harmless if it already does)."""
    app = create_officer_app(node)
    keys = consultation_keys_of(node)
    app.state.casework = replace(app.state.casework, consultation_keys=keys)
    return app


def call(
    app: FastAPI, method: str, url: str, token: str | None, body: Any = None
) -> httpx.Response:
    """One request to the app, in-process, with the officer's token when given."""

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await client.request(method, url, json=body, headers=headers)

    return asyncio.run(run())


def token(node: Node, username: str, roles: list[tuple[Role, str]]) -> str:
    """A new officer of `node` holding `roles`, and an API token for them."""
    with node.unit_of_work() as uow:
        add_officer(uow, username=username, display_name=username.title(), roles=roles,
                    password=None, actor="test",
                    hosted_authorities=node.settings.authorities)  # fmt: skip
    with node.unit_of_work() as uow:
        return issue_token(uow, username=username, name="api", ttl=timedelta(days=1),
                           actor="test").token  # fmt: skip


def _open(node: Node, sender: str, recipient: str, type_: str, body: dict[str, Any]) -> str:
    with node.unit_of_work() as uow:
        command = OpenRequest(AGREEMENT, sender, recipient, type_, body, "officer:test")
        return open_request(uow, context(node), command, now()).case_id


def incoming_in_review(pair: Pair, type_: str = "person-inquiry", body: Any = None) -> str:
    """Kazakhstan asks am-mcs; the request arrives and an Armenian reviewer takes it up."""
    case_id = _open(pair.kz, "kz-mia", "am-mcs", type_, body or INQUIRY)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        open_review(uow, case_id, "officer:anna", now())
    return case_id


def awaiting_clarification(pair: Pair) -> str:
    """am-mcs asks Kazakhstan, whose reviewer asks back: Armenia's case awaits its answer."""
    case_id = _open(pair.am, "am-mcs", "kz-mia", "person-inquiry", INQUIRY)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        ask_clarification(uow, context(pair.kz), case_id, question="Which employer?",
                          actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    return case_id


def consultation_proposed(pair: Pair) -> str:
    """am-mcs opens a consultation; Kazakhstan proposes a signed outcome, which arrives."""
    case_id = _open(pair.am, "am-mcs", "kz-mia", "legal-status-consultation", CONSULTATION)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        propose_outcome(uow, context(pair.kz), case_id, outcome=OUTCOME,
                        signing_key=pair.kz_trust.signing_key("kz-mia", now()),
                        actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    return case_id
