"""The work queues in the console: counts on the front page, a queue's table with its
filters and pages (the table alone for htmx), claiming and releasing, and the bulk moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from casework_scenes import incoming_in_review, officers_app
from casework_steps import case
from console_client import Browser, add_console_officer
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "boris", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "susanna", [(Role.SUPERVISOR, "am-mcs")])
    add_console_officer(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    yield officers_app(pair.am)


def test_the_front_page_counts_each_queue(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)
    browser = Browser(app)
    browser.sign_in("anna")
    page = browser.get("/ui/", headers={"Accept-Language": "ru"})
    assert 'href="/ui/queues/incoming"' in page.text and "1 дело" in page.text
    auditor = Browser(app)
    auditor.sign_in("audra")
    assert "/ui/queues/" not in auditor.get("/ui/").text
    assert auditor.get("/ui/queues/incoming").status_code == 403


def test_claiming_from_the_queue(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    anna, boris = Browser(app), Browser(app)
    anna.sign_in("anna")
    boris.sign_in("boris")
    queue = anna.get("/ui/queues/incoming")
    assert case_id in queue.text and f'hx-post="/ui/cases/{case_id}/claim"' in queue.text
    claimed = anna.post(f"/ui/cases/{case_id}/claim", htmx=True)
    assert claimed.status_code == 204 and claimed.headers["HX-Refresh"] == "true"
    assert case(pair.am, case_id).assigned_to == "officer:anna"
    assert case_id in anna.get("/ui/queues/mine").text
    assert case_id not in boris.get("/ui/queues/incoming").text
    refused = boris.post(f"/ui/cases/{case_id}/claim", htmx=True)
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert anna.post(f"/ui/cases/{case_id}/release", htmx=True).status_code == 204
    assert case(pair.am, case_id).assigned_to is None


def test_a_supervisor_reassigns_several_cases_at_once(app: FastAPI, pair: Pair) -> None:
    first, second = incoming_in_review(pair), incoming_in_review(pair)
    susanna = Browser(app)
    susanna.sign_in("susanna")
    queue = susanna.get("/ui/queues/incoming")
    assert 'value="reassign"' in queue.text and 'value="boris"' in queue.text
    chosen = {"case": [first, second], "action": "reassign", "to": "boris"}
    done = susanna.post("/ui/queues/bulk", htmx=True, form=chosen)
    assert done.status_code == 204, done.text
    assert {case(pair.am, c).assigned_to for c in (first, second)} == {"officer:boris"}
    # Bulk is for claiming and reassigning only.
    other = susanna.post("/ui/queues/bulk", htmx=True, form={"case": [first], "action": "send"})
    assert other.status_code == 422


def test_the_table_is_filtered_and_paged_in_place(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    anna = Browser(app)
    anna.sign_in("anna")
    table = anna.get("/ui/queues/incoming?partner=kz-mia&sort=opened",
                     headers={"HX-Request": "true", "HX-Target": "queue-table"})  # fmt: skip
    assert case_id in table.text and "<html" not in table.text
    none = anna.get("/ui/queues/incoming?partner=am-police")
    assert case_id not in none.text
    assert anna.get("/ui/queues/nothing").status_code == 404
    assert anna.get("/ui/queues/incoming?sort=evil").status_code == 422
