"""The officers' casework API: each role reaches exactly the routes it should, answers are
RFC 9457 problems when it may not, and a permitted request really opens a case."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from casework_scenes import (
    CITIZENSHIP,
    awaiting_clarification,
    call,
    consultation_proposed,
    incoming_in_review,
    officers_app,
    token,
)
from migrex.exchange.delivery import Status
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Role
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
    # The analyst opens requests (a channel lead's, as any other) and sees the cases' facts.
    "open": {Role.OFFICER, Role.ANALYST},
    "list": {
        Role.OFFICER,
        Role.REVIEWER,
        Role.SUPERVISOR,
        Role.DATA_PROTECTION_OFFICER,
        Role.ANALYST,
    },
    "overdue": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR},
    "reminders": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR},
    "show": {
        Role.OFFICER,
        Role.REVIEWER,
        Role.SUPERVISOR,
        Role.DATA_PROTECTION_OFFICER,
        Role.ANALYST,
    },
    "messages": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR},
    "withdraw": {Role.OFFICER},
    "inbox": {Role.OFFICER, Role.REVIEWER, Role.SUPERVISOR},
    "outbox": {Role.OFFICER, Role.SUPERVISOR},
    "retry": {Role.SUPERVISOR},
    "clarification": {Role.REVIEWER},
    "clarification-answer": {Role.OFFICER},
    "citizenship-answer": {Role.REVIEWER},
    "findings": {Role.OFFICER, Role.REVIEWER},
    "outcome": {Role.OFFICER, Role.REVIEWER},
    "cosign": {Role.REVIEWER},
    "subject-report": {Role.DATA_PROTECTION_OFFICER},
    "limits": {Role.DATA_PROTECTION_OFFICER},
}


@pytest.fixture
def app_and_tokens(pair: Pair) -> tuple[FastAPI, dict[Role, str]]:
    tokens = {role: token(pair.am, f"{role.value}-am", [(role, "am-mcs")]) for role in Role}
    return officers_app(pair.am), tokens


def open_case(app: FastAPI, token: str) -> httpx.Response:
    body = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
            "body": INQUIRY}  # fmt: skip
    return call(app, "POST", "/v1/authorities/am-mcs/requests", token, body)


def park(pair: Pair, message_id: str) -> None:
    with pair.am.unit_of_work() as uow:
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.message_id == message_id)
            .values(status=Status.PARKED)
        )  # fmt: skip
        uow.commit()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_casework_routes(
    pair: Pair, app_and_tokens: tuple[FastAPI, dict[Role, str]], role: Role
) -> None:
    app, tokens = app_and_tokens
    # A case in the state each step needs, so that a permitted call really succeeds.
    in_review = incoming_in_review(pair)
    verification = incoming_in_review(pair, "citizenship-verification-request", CITIZENSHIP)
    asked = awaiting_clarification(pair)
    consultation = consultation_proposed(pair)
    opened = open_case(app, tokens[Role.OFFICER]).json()
    case_id = opened["case_id"]
    park(pair, opened["message_id"])
    t = tokens[role]
    answers = {
        "open": open_case(app, t),
        "list": call(app, "GET", "/v1/authorities/am-mcs/cases", t),
        "overdue": call(app, "GET", "/v1/authorities/am-mcs/overdue", t),
        "reminders": call(app, "GET", "/v1/authorities/am-mcs/reminders", t),
        "show": call(app, "GET", f"/v1/cases/{case_id}", t),
        "messages": call(app, "GET", f"/v1/cases/{case_id}/messages", t),
        "inbox": call(app, "GET", "/v1/authorities/am-mcs/inbox", t),
        "outbox": call(app, "GET", "/v1/authorities/am-mcs/outbox?parked=true", t),
        "retry": call(app, "POST", f"/v1/outbox/{opened['message_id']}/retry", t),
        "withdraw": call(app, "POST", f"/v1/cases/{case_id}/withdraw", t,
                         {"reason": "sent in error"}),
        "clarification": call(app, "POST", f"/v1/cases/{in_review}/clarification", t,
                              {"question": "Which employer?"}),
        "clarification-answer": call(app, "POST", f"/v1/cases/{asked}/clarification-answer", t,
                                     {"answer": {"answers": ["Armenia Tours LLC"]}}),
        "citizenship-answer": call(app, "POST", f"/v1/cases/{verification}/citizenship-answer", t),
        "findings": call(app, "POST", f"/v1/cases/{consultation}/findings", t,
                         {"finding": "The new employer registered the person."}),
        "outcome": call(app, "POST", f"/v1/cases/{consultation}/outcome", t,
                        {"outcome": "The stay is lawful."}),
        "cosign": call(app, "POST", f"/v1/cases/{consultation}/outcome/cosign", t),
        "subject-report": call(app, "GET", "/v1/authorities/am-mcs/subject-report"
                               "?document=AM1234567", t),
        "limits": call(app, "GET", "/v1/authorities/am-mcs/limits", t),
    }  # fmt: skip
    assert set(answers) == set(ALLOWED)
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
