"""The data-protection officer's pages: the disclosure ledger filtered and paged, the subject
report (the API's use case, which audits the read, G5), and the volume limits as the API
counts them; each refused to roles without the permission, and nothing typed given back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import PERSON, call, incoming_in_review, officers_app, token
from console_client import Browser, add_console_officer
from migrex.audit.tables import AuditLeafRow
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from migrex.retention.tables import RetentionKeyRow
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "dina", [(Role.DATA_PROTECTION_OFFICER, "am-mcs")])
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "paruyr", [(Role.DATA_PROTECTION_OFFICER, "am-police")])
    yield officers_app(pair.am)


def _leaves(pair: Pair) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(username).status_code == 303
    return browser


def test_the_ledger_lists_disclosures_with_filters_and_pages(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)  # kz-mia asked am-mcs about a person: "received"
    dina = _signed_in(app, "dina")
    home = dina.get("/ui/").text
    assert 'href="/ui/ledger"' in home and 'href="/ui/subject-report"' in home
    page = dina.get("/ui/ledger")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'href="/ui/cases/{case_id}"' in page.text
    assert "person-inquiry" in page.text
    assert PERSON["surname_latin"] not in page.text and PERSON["document_number"] not in page.text
    received = dina.get("/ui/ledger?direction=received&partner=kz-mia", htmx=True,
                        headers={"HX-Target": "ledger-table"})  # fmt: skip
    assert f'href="/ui/cases/{case_id}"' in received.text and "<h1>" not in received.text
    for narrowed in ("direction=sent", "partner=kz-mlsp", "purpose=nothing-like-it",
                     f"since={(datetime.now(UTC) + timedelta(days=2)).date()}",
                     f"until={(datetime.now(UTC) - timedelta(days=2)).date()}"):  # fmt: skip
        assert case_id not in dina.get(f"/ui/ledger?{narrowed}").text, narrowed
    today = datetime.now(UTC).date()
    assert case_id in dina.get(f"/ui/ledger?since={today}&until={today}").text
    # A filter outside what the page offers is a page saying so, not a 500.
    assert dina.get("/ui/ledger?direction=sideways").status_code == 422
    assert dina.get("/ui/ledger?page=0").status_code == 422


def test_the_ledger_pages_fifty_lines_at_a_time(app: FastAPI, pair: Pair) -> None:
    at = datetime.now(UTC)
    with pair.am.unit_of_work() as uow:
        uow.session.add_all(
            DisclosureRow(at=at - timedelta(minutes=i), direction="read", subject_hash=f"{i:064x}",
                          person=0, agreement_id="kz-am-2024", our_authority="am-mcs",
                          partner_authority="kz-mia", message_id=f"m-{i:04d}",
                          message_type="person-inquiry", case_id=None, purpose=None,
                          legal_basis=None, fields="surname_latin", actor="officer:anna")
            for i in range(60)
        )  # fmt: skip
        uow.commit()
    dina = _signed_in(app, "dina")
    first, second = dina.get("/ui/ledger").text, dina.get("/ui/ledger?page=2").text
    assert "m-0000" not in first  # message ids are not shown; the order is by time
    assert first.count("<tr>") == 51 and second.count("<tr>") == 11
    assert "page 1 of 2" in first and "page 2 of 2" in second


def test_the_subject_report_is_the_apis_and_is_audited(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    dina = _signed_in(app, "dina")
    form = dina.get("/ui/subject-report")
    assert form.status_code == 200 and 'hx-history="false"' in form.text
    before = _leaves(pair)
    shown = dina.post(
        "/ui/subject-report",
        htmx=True,
        form={"authority": "am-mcs", "document": PERSON["document_number"]},
    )
    assert shown.status_code == 200, shown.text
    assert "1 entry about the person" in shown.text and case_id in shown.text
    assert PERSON["document_number"] not in shown.text  # the identifier is not shown back
    assert _leaves(pair) == before + 1  # one audit entry per identifier, as on the API
    # The API's route gives the same entries.
    api = call(
        app,
        "GET",
        "/v1/authorities/am-mcs/subject-report?document=" + PERSON["document_number"],
        token(pair.am, "dpo-api", [(Role.DATA_PROTECTION_OFFICER, "am-mcs")]),
    )
    assert [e["case_id"] for e in api.json()] == [case_id]
    nobody = dina.post(
        "/ui/subject-report", htmx=True, form={"authority": "am-mcs", "national_id": "ZZ0000000"}
    )
    assert "The ledger holds nothing about this person." in nobody.text
    assert "ZZ0000000" not in nobody.text
    before = _leaves(pair)
    assert (
        dina.post("/ui/subject-report", htmx=True, form={"authority": "am-mcs"}).status_code == 422
    )
    assert _leaves(pair) == before  # refused: nothing recorded


def test_limits_count_as_the_api_does(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)
    dina = _signed_in(app, "dina")
    page = dina.get("/ui/limits")
    assert page.status_code == 200
    api = call(
        app,
        "GET",
        "/v1/authorities/am-mcs/limits",
        token(pair.am, "dpo-limits", [(Role.DATA_PROTECTION_OFFICER, "am-mcs")]),
    )
    [received] = [u for u in api.json() if u["direction"] == "received"]
    assert received["persons"] == 1
    assert f'<td translate="no">{received["limit"]}</td>' in page.text
    assert "We were asked" in page.text


@pytest.mark.parametrize(
    ("method", "url", "form"),
    [
        ("GET", "/ui/ledger", None),
        ("GET", "/ui/limits", None),
        ("GET", "/ui/subject-report", None),
        ("POST", "/ui/subject-report", {"authority": "am-mcs", "document": "AM1234567"}),
        ("GET", "/ui/retention", None),
        ("POST", "/ui/retention/run", None),
    ],
)
def test_other_roles_are_refused(
    app: FastAPI, pair: Pair, method: str, url: str, form: dict[str, str] | None
) -> None:
    anna = _signed_in(app, "anna")
    assert 'href="/ui/ledger"' not in anna.get("/ui/").text
    before = _leaves(pair)
    refused = anna.request(method, url, form=form, htmx=method == "POST")
    assert refused.status_code == 403, refused.text
    assert "AM1234567" not in refused.text
    assert _leaves(pair) == before


def test_a_dpo_of_another_authority_sees_only_its_own(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    paruyr = _signed_in(app, "paruyr")
    assert case_id not in paruyr.get("/ui/ledger").text
    assert paruyr.get("/ui/ledger?authority=am-mcs").status_code == 403
    refused = paruyr.post(
        "/ui/subject-report",
        htmx=True,
        form={"authority": "am-mcs", "document": PERSON["document_number"]},
    )
    assert refused.status_code == 403


def test_retention_is_scheduled_and_run_as_the_cli_runs_it(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)  # its personal data is sealed on arrival, kept for a while
    dina = _signed_in(app, "dina")
    page = dina.get("/ui/retention").text
    assert "1 record kept, soonest due first" in page and "Nothing has been erased yet." in page
    nothing = dina.post("/ui/retention/run", htmx=True)
    assert nothing.status_code == 200 and "0 records erased" in nothing.text
    with pair.am.unit_of_work() as uow:
        [kept] = uow.session.scalars(select(RetentionKeyRow)).all()
        kept.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        uow.commit()
    assert "Due now" in dina.get("/ui/retention").text
    before = _leaves(pair)
    erased = dina.post("/ui/retention/run", htmx=True)
    assert "1 record erased" in erased.text
    assert _leaves(pair) == before + 1  # the erasure is logged
    with pair.am.unit_of_work() as uow:
        [row] = uow.session.scalars(select(RetentionKeyRow)).all()
        assert row.wrapped_key is None and row.erased_at is not None
    assert "1 record erased" in dina.get("/ui/retention").text
    anna = _signed_in(app, "anna")
    assert anna.get("/ui/retention").status_code == 403
    assert anna.post("/ui/retention/run", htmx=True).status_code == 403
