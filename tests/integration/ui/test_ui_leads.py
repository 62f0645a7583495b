"""The analyst's leads in the console: the queue, the card (a recorded read) with its
server-drawn subgraph and its tables, and the two decisions through the forms; other roles
see neither, and the page holds no inline style or script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import officers_app
from channel_scenes import ANALYST_ROLES, AUTHORITY, import_am, stored_run, synthetic_registers
from console_client import Browser, add_console_officer
from migrex.casework.tables import CaseRow
from migrex.channels.tables import LeadRow
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


@pytest.fixture
def app(pair: Pair, registers: Path) -> Iterator[FastAPI]:
    import_am(pair.am, registers)
    add_console_officer(pair.am, "ani", ANALYST_ROLES)
    add_console_officer(pair.am, "rita", [(Role.REVIEWER, AUTHORITY)])
    yield officers_app(pair.am)


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    browser.sign_in(username)
    return browser


def _reads(pair: Pair, lead: str) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(DisclosureRow).where(
            DisclosureRow.message_id == f"lead:{lead}")) or 0  # fmt: skip


def test_the_queue_lists_leads_and_the_card_is_a_recorded_read(app: FastAPI, pair: Pair) -> None:
    stored = stored_run(pair.am)
    ani = _signed_in(app, "ani")
    home = ani.get("/ui/")
    assert 'href="/ui/leads"' in home.text
    queue = ani.get("/ui/leads")
    assert queue.status_code == 200
    assert all(f'href="/ui/leads/{lead}"' in queue.text for lead in stored.leads)
    lead = stored.leads[0]
    assert _reads(pair, lead) == 0  # the queue names no member
    card = ani.get(f"/ui/leads/{lead}")
    assert card.status_code == 200, card.text
    assert _reads(pair, lead) > 0
    page = card.text
    svg = re.search(r"<svg class=\"lead-graph\".*?</svg>", page, re.S)
    assert svg is not None and svg.group(0).count("<line") > 0 and "<circle" in svg.group(0)
    with pair.am.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
    assert svg.group(0).count("<circle") == row.members
    # The text equivalent: the edge table names each member and the register of each link.
    assert "Every link and where it was read" in page and "persons present" in page
    assert "Signals deliberately not used" in page and "citizenship" in page
    assert 'hx-post="/ui/leads/' + lead + '/open"' in page
    assert 'hx-post="/ui/leads/' + lead + '/dismiss"' in page
    # Strict CSP: no style attribute and no inline script on the page.
    assert " style=" not in page and "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_dismissing_from_the_card(app: FastAPI, pair: Pair) -> None:
    lead = stored_run(pair.am).leads[0]
    ani = _signed_in(app, "ani")
    ani.get(f"/ui/leads/{lead}")
    blank = ani.post(f"/ui/leads/{lead}/dismiss", htmx=True, form={"reason": " "})
    assert blank.status_code == 422
    done = ani.post(f"/ui/leads/{lead}/dismiss", htmx=True, form={"reason": "a school group"})
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/ui/leads/{lead}"
    with pair.am.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
    assert (row.state, row.reason, row.decided_by) == ("dismissed", "a school group", "officer:ani")
    again = ani.get(f"/ui/leads/{lead}")
    assert "a school group" in again.text and "/dismiss" not in again.text


def test_opening_from_the_card_lands_on_the_case(app: FastAPI, pair: Pair) -> None:
    lead = stored_run(pair.am).leads[0]
    ani = _signed_in(app, "ani")
    ani.get(f"/ui/leads/{lead}")
    sent = ani.post(f"/ui/leads/{lead}/open", htmx=True, form={"to": "kz-am-2024/kz-mia"})
    assert sent.status_code == 204, sent.text
    case_id = sent.headers["HX-Redirect"].removeprefix("/ui/cases/")
    with pair.am.unit_of_work() as uow:
        case = uow.session.get_one(CaseRow, case_id)
        row = uow.session.get_one(LeadRow, lead)
    assert (case.purpose, case.opened_by) == ("suppress-illegal-migration-channels", "officer:ani")
    assert (row.state, row.case_id) == ("opened", case_id)
    assert ani.get(f"/ui/cases/{case_id}").status_code == 200


def test_a_post_without_the_csrf_header_changes_nothing(app: FastAPI, pair: Pair) -> None:
    lead = stored_run(pair.am).leads[0]
    ani = _signed_in(app, "ani")
    forged = ani.post(f"/ui/leads/{lead}/dismiss", form={"reason": "forged"})
    assert forged.status_code in {303, 403}  # refused: to the sign-in page, or forbidden
    with pair.am.unit_of_work() as uow:
        assert uow.session.get_one(LeadRow, lead).state == "new"


def test_other_roles_see_no_lead(app: FastAPI, pair: Pair) -> None:
    lead = stored_run(pair.am).leads[0]
    rita = _signed_in(app, "rita")
    assert 'href="/ui/leads"' not in rita.get("/ui/").text
    assert rita.get("/ui/leads").status_code == 403
    assert rita.get(f"/ui/leads/{lead}").status_code == 403
    assert (
        rita.post(f"/ui/leads/{lead}/dismiss", htmx=True, form={"reason": "x"}).status_code == 403
    )
    assert _reads(pair, lead) == 0
    ani = _signed_in(app, "ani")
    assert ani.get("/ui/leads/R999999-L0001").status_code == 404
