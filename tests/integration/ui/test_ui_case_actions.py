"""The requesting side's steps and a consultation's on the case page: withdrawing a request,
answering the partner's question, adding a finding, proposing and co-signing an outcome; and
a citizenship verification answered from the register. Each is offered only to an officer
whose roles allow it, in a state that takes it, and runs the API's use case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from casework_scenes import (
    CITIZENSHIP,
    INQUIRY,
    awaiting_clarification,
    consultation_proposed,
    incoming_in_review,
    officers_app,
)
from casework_steps import context, now, state
from console_client import Browser, add_console_officer
from migrex.casework.queries import case_messages
from migrex.casework.service import OpenRequest, open_request
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anahit", [(Role.OFFICER, "am-mcs")])
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    yield officers_app(pair.am)


def _sent(pair: Pair, case_id: str) -> list[str]:
    with pair.am.unit_of_work() as uow:
        return [m.type for m in case_messages(uow, case_id) if m.direction == "sent"]


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    browser.sign_in(username)
    return browser


def test_withdrawing_our_request(app: FastAPI, pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                              "officer:anahit")  # fmt: skip
        case_id = open_request(uow, context(pair.am), command, now()).case_id
    anahit, anna = _signed_in(app, "anahit"), _signed_in(app, "anna")
    assert "Withdraw the request" in anahit.get(f"/ui/cases/{case_id}").text
    assert "Withdraw the request" not in anna.get(f"/ui/cases/{case_id}").text
    refused = anna.post(f"/ui/cases/{case_id}/withdraw", htmx=True, form={"reason": "No need."})
    assert refused.status_code == 403 and state(pair.am, case_id) == "sent"
    empty = anahit.post(f"/ui/cases/{case_id}/withdraw", htmx=True, form={"reason": " "})
    assert empty.status_code == 422 and state(pair.am, case_id) == "sent"
    done = anahit.post(f"/ui/cases/{case_id}/withdraw", htmx=True, form={"reason": "No need."})
    assert done.status_code == 204 and done.headers["HX-Refresh"] == "true"
    assert state(pair.am, case_id) == "withdrawn" and _sent(pair, case_id)[-1] == "withdrawal"
    page = anahit.get(f"/ui/cases/{case_id}").text
    assert "Withdraw the request" not in page  # a closed case takes no step
    again = anahit.post(f"/ui/cases/{case_id}/withdraw", htmx=True, form={"reason": "Again."})
    assert again.status_code == 409


def test_answering_the_partners_question(app: FastAPI, pair: Pair) -> None:
    case_id = awaiting_clarification(pair)
    anahit = _signed_in(app, "anahit")
    assert "Answer the partner" in anahit.get(f"/ui/cases/{case_id}").text
    answered = anahit.post(f"/ui/cases/{case_id}/clarification-answer", htmx=True,
                           form={"answer": "Tours LLC, Yerevan."})  # fmt: skip
    assert answered.status_code == 204
    assert state(pair.am, case_id) == "delivered"
    assert _sent(pair, case_id)[-1] == "clarification-answer"


def test_a_consultation_finding_outcome_and_cosignature(app: FastAPI, pair: Pair) -> None:
    case_id = consultation_proposed(pair)
    anahit, anna = _signed_in(app, "anahit"), _signed_in(app, "anna")
    page = anna.get(f"/ui/cases/{case_id}").text
    assert "Co-sign the proposed outcome" in page and "Add a finding" in page
    assert "Co-sign the proposed outcome" not in anahit.get(f"/ui/cases/{case_id}").text
    assert anahit.post(f"/ui/cases/{case_id}/outcome/cosign", htmx=True).status_code == 403
    found = anahit.post(f"/ui/cases/{case_id}/findings", htmx=True,
                        form={"finding": "The employer is registered in Almaty."})  # fmt: skip
    assert found.status_code == 204 and _sent(pair, case_id)[-1] == "consultation-finding"
    proposed = anahit.post(f"/ui/cases/{case_id}/outcome", htmx=True,
                           form={"outcome": "The stay is lawful."})  # fmt: skip
    assert proposed.status_code == 204 and _sent(pair, case_id)[-1] == "consultation-outcome"
    cosigned = anna.post(f"/ui/cases/{case_id}/outcome/cosign", htmx=True)
    assert cosigned.status_code == 204, cosigned.text
    assert state(pair.am, case_id) == "answered"
    page = anna.get(f"/ui/cases/{case_id}").text
    assert "Co-sign the proposed outcome" not in page and "Add a finding" not in page


def test_a_citizenship_verification_is_answered_from_the_register(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair, "citizenship-verification-request", CITIZENSHIP)
    anna = _signed_in(app, "anna")
    page = anna.get(f"/ui/cases/{case_id}").text
    assert "Draft the citizenship answer from the citizens register" in page
    drafted = anna.post(f"/ui/cases/{case_id}/draft", htmx=True)
    assert drafted.status_code == 200 and "What would leave" in drafted.text
    sent = anna.post(f"/ui/cases/{case_id}/draft/submit", htmx=True)
    assert sent.status_code == 200 and "was sent" in sent.text
    assert state(pair.am, case_id) == "answered"
    assert _sent(pair, case_id)[-1] == "citizenship-verification-reply"
