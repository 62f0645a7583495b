"""The officers' casework API: each role reaches exactly the routes it should, answers are
RFC 9457 problems when it may not, and a permitted request really opens a case."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.web.officers_app import create_officer_app
from nodes import Pair

INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
                 "citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin", "permit_type"],
}  # fmt: skip

# Written out, not derived from the permission table: changing who may do what must change
# this test too.
ALLOWED: dict[str, set[Role]] = {
    "open": {Role.OFFICER},
    "list": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER},
    "overdue": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR},
    "show": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER},
    "withdraw": {Role.OFFICER},
    "subject-report": {Role.DATA_PROTECTION_OFFICER},
    "limits": {Role.DATA_PROTECTION_OFFICER},
}


def call(
    app: FastAPI, method: str, url: str, token: str | None, body: Any = None
) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await client.request(method, url, json=body, headers=headers)

    return asyncio.run(run())


@pytest.fixture
def app_and_tokens(pair: Pair) -> tuple[FastAPI, dict[Role, str]]:
    tokens = {}
    for role in Role:
        with pair.am.unit_of_work() as uow:
            add_officer(
                uow, username=f"{role.value}-am", display_name=role.name.title(),
                roles=[(role, "am-mcs")], password=None, actor="test",
                hosted_authorities=pair.am.settings.authorities,
            )  # fmt: skip
        with pair.am.unit_of_work() as uow:
            tokens[role] = issue_token(
                uow, username=f"{role.value}-am", name="api", ttl=timedelta(days=1), actor="test"
            ).token
    return create_officer_app(pair.am), tokens


def open_case(app: FastAPI, token: str) -> httpx.Response:
    body = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
            "body": INQUIRY}  # fmt: skip
    return call(app, "POST", "/v1/authorities/am-mcs/requests", token, body)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_casework_routes(
    app_and_tokens: tuple[FastAPI, dict[Role, str]], role: Role
) -> None:
    app, tokens = app_and_tokens
    case_id = open_case(app, tokens[Role.OFFICER]).json()["case_id"]
    answers = {
        "open": open_case(app, tokens[role]),
        "list": call(app, "GET", "/v1/authorities/am-mcs/cases", tokens[role]),
        "overdue": call(app, "GET", "/v1/authorities/am-mcs/overdue", tokens[role]),
        "show": call(app, "GET", f"/v1/cases/{case_id}", tokens[role]),
        "withdraw": call(app, "POST", f"/v1/cases/{case_id}/withdraw", tokens[role],
                         {"reason": "sent in error"}),
        "subject-report": call(app, "GET", "/v1/authorities/am-mcs/subject-report"
                               "?document=AM1234567", tokens[role]),
        "limits": call(app, "GET", "/v1/authorities/am-mcs/limits", tokens[role]),
    }  # fmt: skip
    for route, response in answers.items():
        if role in ALLOWED[route]:
            assert response.status_code in (200, 201), (route, response.text)
        else:
            assert response.status_code == 403, (route, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_the_data_protection_officer_sees_what_was_sent_about_a_person(
    app_and_tokens: tuple[FastAPI, dict[Role, str]],
) -> None:
    app, tokens = app_and_tokens
    case_id = open_case(app, tokens[Role.OFFICER]).json()["case_id"]
    url = "/v1/authorities/am-mcs/subject-report?document=AM1234567"
    [entry] = call(app, "GET", url, tokens[Role.DATA_PROTECTION_OFFICER]).json()
    assert (entry["direction"], entry["case_id"]) == ("sent", case_id)
    assert entry["partner_authority"] == "kz-mia" and entry["purpose"] == "legal-status-of-stay"
    assert entry["actor"] == "officer-am" or entry["actor"].endswith("officer-am")
    limits = call(app, "GET", "/v1/authorities/am-mcs/limits", tokens[Role.DATA_PROTECTION_OFFICER])
    limits = limits.json()
    sent = next(u for u in limits if u["direction"] == "sent")
    assert (sent["partner_state"], sent["persons"], sent["limit"]) == ("KZ", 1, 2000)


def test_no_token_is_401_and_bad_input_is_a_problem(
    app_and_tokens: tuple[FastAPI, dict[Role, str]],
) -> None:
    app, tokens = app_and_tokens
    anonymous = call(app, "GET", "/v1/authorities/am-mcs/cases", None)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    garbage = call(app, "POST", "/v1/authorities/am-mcs/requests", tokens[Role.OFFICER],
                   {"agreement_id": "kz-am-2024"})  # fmt: skip
    assert garbage.status_code == 422
    assert garbage.json()["problems"]
    outside = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
               "body": {**INQUIRY, "requested_fields": ["sex", "registration_address"],
                        "purpose": "assistance"}}  # fmt: skip
    refused = call(app, "POST", "/v1/authorities/am-mcs/requests", tokens[Role.OFFICER], outside)
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:migrex:problem:not-permitted"
    listed = call(app, "GET", "/v1/authorities/am-mcs/cases", tokens[Role.OFFICER]).json()
    assert listed == []  # the refused request left nothing behind
