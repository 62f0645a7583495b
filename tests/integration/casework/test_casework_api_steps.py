"""The steps inside a case through both nodes' officers' APIs: a clarification asked and
answered, a consultation's finding and co-signed outcome, a citizenship verification answered;
and what each step answers when the body, the case or its state is wrong."""

from __future__ import annotations

from typing import Any

from casework_scenes import (
    CITIZENSHIP,
    INQUIRY,
    PRECISE,
    call,
    consultation_proposed,
    incoming_in_review,
    officers_app,
    token,
)
from casework_steps import deliver, state
from migrex.casework.lifecycle import CaseState
from migrex.officers.model import Role
from nodes import Pair

VAGUE = {**INQUIRY, "legal_basis": "the agreement"}


def problem_type(response: Any) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    kind: str = response.json()["type"]
    return kind.removeprefix("urn:migrex:problem:")


def test_a_clarification_round_trip_through_the_api(pair: Pair) -> None:
    kz_app, am_app = officers_app(pair.kz), officers_app(pair.am)
    kz_officer = token(pair.kz, "bolat", [(Role.OFFICER, "kz-mia")])
    am_reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    request = {"agreement_id": "kz-am-2024", "recipient": "am-mcs", "type": "person-inquiry",
               "body": VAGUE}  # fmt: skip
    opened = call(kz_app, "POST", "/v1/authorities/kz-mia/requests", kz_officer, request)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    review = call(am_app, "POST", f"/v1/cases/{case_id}/review", am_reviewer)
    assert review.status_code == 200, review.text

    question = {"question": "Which law and article is the request made under?"}
    asked = call(am_app, "POST", f"/v1/cases/{case_id}/clarification", am_reviewer, question)
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == CaseState.CLARIFICATION_REQUESTED
    assert asked.json()["message_id"]
    again = call(am_app, "POST", f"/v1/cases/{case_id}/clarification", am_reviewer, question)
    assert (again.status_code, problem_type(again)) == (409, "illegal-transition")
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.CLARIFICATION_REQUESTED

    url = f"/v1/cases/{case_id}/clarification-answer"
    empty = call(kz_app, "POST", url, kz_officer, {"answer": {"answers": []}})
    assert (empty.status_code, problem_type(empty)) == (422, "message-invalid")
    missing = call(kz_app, "POST", url, kz_officer, {})
    assert (missing.status_code, problem_type(missing)) == (422, "request-invalid")
    answer = {"answer": {"answers": ["See the legal basis."], "legal_basis": PRECISE}}
    answered = call(kz_app, "POST", url, kz_officer, answer)
    assert answered.status_code == 200, answered.text
    assert answered.json()["state"] == CaseState.DELIVERED
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == CaseState.IN_REVIEW


def test_asking_is_refused_for_a_bad_question_an_unknown_case_or_the_wrong_side(
    pair: Pair,
) -> None:
    app = officers_app(pair.am)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    officer = token(pair.am, "aram", [(Role.OFFICER, "am-mcs")])
    case_id = incoming_in_review(pair, body=VAGUE)
    url = f"/v1/cases/{case_id}/clarification"
    blank = call(app, "POST", url, reviewer, {"question": "   "})
    assert (blank.status_code, problem_type(blank)) == (422, "request-invalid")
    unknown = call(app, "POST", "/v1/cases/nope/clarification", reviewer, {"question": "why?"})
    assert (unknown.status_code, problem_type(unknown)) == (404, "not-found")
    # The requested side's officer may neither ask nor answer for the requesting side.
    assert call(app, "POST", url, officer, {"question": "why?"}).status_code == 403
    answer = {"answer": {"answers": ["no"]}}
    reviewer_answers = call(app, "POST", f"{url}-answer", reviewer, answer)
    assert reviewer_answers.status_code == 403
    # An officer allowed to answer, on an incoming case: the requesting side answers, not us.
    wrong_side = call(app, "POST", f"{url}-answer", officer, answer)
    assert (wrong_side.status_code, problem_type(wrong_side)) == (409, "illegal-transition")
    assert state(pair.am, case_id) == CaseState.IN_REVIEW


def test_a_consultation_finding_and_co_signed_outcome_through_the_api(pair: Pair) -> None:
    app = officers_app(pair.am)
    officer = token(pair.am, "aram", [(Role.OFFICER, "am-mcs")])
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    case_id = consultation_proposed(pair)
    finding = {"finding": "The new employer registered the person on 2025-09-01.",
               "fields": {"permit_type": "work"}}  # fmt: skip
    added = call(app, "POST", f"/v1/cases/{case_id}/findings", officer, finding)
    assert added.status_code == 200, added.text
    assert added.json()["state"] == CaseState.DELIVERED  # a finding does not move the case
    bad = call(app, "POST", f"/v1/cases/{case_id}/findings", officer,
               {"finding": "x", "fields": {"shoe_size": 44}})  # fmt: skip
    assert (bad.status_code, problem_type(bad)) == (422, "message-invalid")

    cosigned = call(app, "POST", f"/v1/cases/{case_id}/outcome/cosign", reviewer)
    assert cosigned.status_code == 200, cosigned.text
    assert cosigned.json()["state"] == CaseState.ANSWERED
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.ANSWERED
    closed = call(app, "POST", f"/v1/cases/{case_id}/outcome", officer, {"outcome": "Later."})
    assert (closed.status_code, problem_type(closed)) == (409, "illegal-transition")


def test_an_outcome_is_proposed_signed_and_only_a_consultation_has_one(pair: Pair) -> None:
    app = officers_app(pair.am)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    consultation = consultation_proposed(pair)
    proposed = call(app, "POST", f"/v1/cases/{consultation}/outcome", reviewer,
                    {"outcome": "The stay is lawful."})  # fmt: skip
    assert proposed.status_code == 200, proposed.text
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)  # Kazakhstan verifies it on filing
    assert state(pair.kz, consultation) == CaseState.IN_REVIEW
    inquiry = incoming_in_review(pair)
    for url, body in ((f"/v1/cases/{inquiry}/outcome", {"outcome": "No."}),
                      (f"/v1/cases/{inquiry}/outcome/cosign", None)):  # fmt: skip
        refused = call(app, "POST", url, reviewer, body)
        assert (refused.status_code, problem_type(refused)) == (409, "illegal-transition")


def test_a_citizenship_verification_is_answered_through_the_api(pair: Pair) -> None:
    app = officers_app(pair.am)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    case_id = incoming_in_review(pair, "citizenship-verification-request", CITIZENSHIP)
    answered = call(app, "POST", f"/v1/cases/{case_id}/citizenship-answer", reviewer)
    assert answered.status_code == 200, answered.text
    [finding] = answered.json()["results"]
    assert finding["holds"] == "no"  # the Armenian register here holds nobody
    assert state(pair.am, case_id) == CaseState.ANSWERED
    inquiry = incoming_in_review(pair)
    wrong = call(app, "POST", f"/v1/cases/{inquiry}/citizenship-answer", reviewer)
    assert (wrong.status_code, problem_type(wrong)) == (422, "message-invalid")
