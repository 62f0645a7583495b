"""A new request in the console: the form offers only what the agreement allows between the
two authorities (categories, purposes, the purpose's profile fields); screening is shown
before anything is sent; sending opens the case through the API's use case and lands on it;
a breach sends nothing; an officer who may not ask for data sees no form and sends nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import PERSON, officers_app
from casework_scenes import REQUEST_CHOICE as CHOSEN
from casework_scenes import REQUEST_FORM as FORM
from casework_steps import case
from console_client import Browser, add_console_officer
from migrex.casework.tables import CaseRow
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anahit", [(Role.OFFICER, "am-mcs")])
    add_console_officer(pair.am, "boris", [(Role.REVIEWER, "am-mcs")])
    yield officers_app(pair.am)


def _cases(pair: Pair) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(CaseRow)) or 0


def _options(page: str, select: str) -> list[str]:
    found = re.search(rf'<select id="{select}" name="\w+">(.*?)</select>', page, re.S)
    assert found is not None, select
    return [v for v in re.findall(r'<option value="([^"]*)"', found.group(1)) if v]


def test_the_form_offers_only_what_the_agreement_allows(app: FastAPI, pair: Pair) -> None:
    anahit = Browser(app)
    anahit.sign_in("anahit")
    first = anahit.get("/ui/requests/new")
    assert first.status_code == 200 and 'href="/ui/requests/new"' in first.text
    assert _options(first.text, "r-sender") == ["am-mcs"]
    assert set(_options(first.text, "r-recipient")) == {"kz-mia", "kz-mlsp"}
    to_mia = anahit.get("/ui/requests/new?recipient=kz-mia").text
    to_mlsp = anahit.get("/ui/requests/new?recipient=kz-mlsp").text
    # Only kz-mia receives citizenship verifications; violation notices have no form here.
    assert "citizenship-verification" in _options(to_mia, "r-category")
    assert "citizenship-verification" not in _options(to_mlsp, "r-category")
    assert "violations" not in _options(to_mia, "r-category")
    purposes = _options(anahit.get("/ui/requests/new?recipient=kz-mia&category=persons-present")
                        .text, "r-purpose")  # fmt: skip
    assert set(purposes) == {"combat-dual-citizenship", "suppress-illegal-migration-channels",
                             "legal-status-of-stay"}  # fmt: skip
    form = anahit.get(f"/ui/requests/new?{CHOSEN}").text
    asked = set(re.findall(r'name="requested_field" value="([a-z_]+)"', form))
    assert "employer_name" in asked and "violations" not in asked  # the legal-status profile
    assert 'id="request-form"' in form and 'hx-history="false"' in form


def test_screening_is_shown_and_sending_opens_the_case(app: FastAPI, pair: Pair) -> None:
    anahit = Browser(app)
    anahit.sign_in("anahit")
    anahit.get(f"/ui/requests/new?{CHOSEN}")
    before = _cases(pair)
    vague = anahit.post("/ui/requests/screen", htmx=True, form=FORM | {"legal_basis": "law"})
    assert vague.status_code == 200 and "The legal basis is vague" in vague.text
    assert 'hx-post="/ui/requests"' in vague.text  # a flag warns; it does not stop
    assert PERSON["surname_latin"] not in vague.text
    assert _cases(pair) == before  # screening sends nothing
    sent = anahit.post("/ui/requests", htmx=True, form=FORM)
    assert sent.status_code == 204, sent.text
    case_id = sent.headers["HX-Redirect"].removeprefix("/ui/cases/")
    opened = case(pair.am, case_id)
    assert (opened.direction, opened.state, opened.partner_authority) == (
        "outgoing", "sent", "kz-mia")  # fmt: skip
    assert opened.opened_by == "officer:anahit" and opened.purpose == "legal-status-of-stay"
    page = anahit.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200 and case_id in page.text


def test_a_breach_is_shown_and_nothing_is_sent(app: FastAPI, pair: Pair) -> None:
    anahit = Browser(app)
    anahit.sign_in("anahit")
    anahit.get(f"/ui/requests/new?{CHOSEN}")
    before = _cases(pair)
    outside = FORM | {"requested_field": ["permit_type", "violations"]}
    shown = anahit.post("/ui/requests/screen", htmx=True, form=outside)
    assert shown.status_code == 200 and "Breach of the agreement" in shown.text
    assert "data profile does not grant" in shown.text
    assert 'hx-post="/ui/requests"' not in shown.text  # no way to send it from here
    refused = anahit.post("/ui/requests", htmx=True, form=outside)
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert _cases(pair) == before
    other = anahit.post("/ui/requests", htmx=True, form=FORM | {"sender": "kz-mia"})
    assert other.status_code == 403 and _cases(pair) == before


def test_an_officer_who_may_not_ask_gets_no_form(app: FastAPI, pair: Pair) -> None:
    boris = Browser(app)
    boris.sign_in("boris")
    assert 'href="/ui/requests/new"' not in boris.get("/ui/").text
    assert boris.get("/ui/requests/new").status_code == 403
    before = _cases(pair)
    assert boris.post("/ui/requests/screen", htmx=True, form=FORM).status_code == 403
    assert boris.post("/ui/requests", htmx=True, form=FORM).status_code == 403
    assert _cases(pair) == before
