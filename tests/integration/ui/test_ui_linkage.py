"""The officer's queue of linkage candidates in the console: the queue by run and band (no
personal data), the candidate's page with our own record only for an officer who may see
that authority's personal data (a recorded read), and the two decisions through the forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import officers_app
from console_client import Browser, add_console_officer
from linkage_scenes import KZ_PERSON, run_with_candidates
from migrex.casework.tables import CaseRow
from migrex.ledger.tables import DisclosureRow
from migrex.linkage.tables import CandidateRow
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair, tmp_path: Path) -> Iterator[FastAPI]:
    run_with_candidates(pair, tmp_path)
    add_console_officer(pair.kz, "dana", [(Role.OFFICER, "kz-mia")])
    add_console_officer(pair.kz, "erlan", [(Role.ANALYST, "kz-mia")])
    add_console_officer(pair.kz, "aud", [(Role.AUDITOR, "kz-mia")])
    yield officers_app(pair.kz)


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    browser.sign_in(username)
    return browser


def _candidate(pair: Pair, pair_id: str) -> CandidateRow:
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(select(CandidateRow).where(CandidateRow.pair_id == pair_id)).one()
        uow.session.expunge(row)
        return row


def _reads(pair: Pair, candidate_id: int) -> int:
    with pair.kz.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(DisclosureRow).where(
            DisclosureRow.message_id == f"linkage-candidate:{candidate_id}")) or 0  # fmt: skip


def test_the_queue_lists_candidates_by_band_and_names_no_one(app: FastAPI, pair: Pair) -> None:
    dana = _signed_in(app, "dana")
    assert 'href="/ui/linkage"' in dana.get("/ui/").text
    queue = dana.get("/ui/linkage")
    assert queue.status_code == 200, queue.text
    strong, possible = _candidate(pair, "P-0001"), _candidate(pair, "P-0002")
    page = queue.text
    assert page.index(f'href="/ui/linkage/{strong.id}"') < page.index(
        f'href="/ui/linkage/{possible.id}"'
    )
    assert "Strong" in page and "Possible" in page and strong.run_id in page
    assert KZ_PERSON["national_id"] not in page and "ALIBEKOV" not in page
    assert _reads(pair, strong.id) == 0
    assert " style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_the_record_is_shown_only_to_who_may_see_it_and_recorded(app: FastAPI, pair: Pair) -> None:
    strong = _candidate(pair, "P-0001")
    erlan = _signed_in(app, "erlan")  # an analyst: cases, but no personal data
    page = erlan.get(f"/ui/linkage/{strong.id}")
    assert page.status_code == 200, page.text
    assert "ALIBEKOV" not in page.text and "You may not see personal data" in page.text
    assert 'hx-post="/ui/linkage/' + str(strong.id) + '/verify"' not in page.text
    assert _reads(pair, strong.id) == 0
    dana = _signed_in(app, "dana")
    page = dana.get(f"/ui/linkage/{strong.id}")
    assert "ALIBEKOV" in page.text and KZ_PERSON["national_id"] in page.text
    assert _reads(pair, strong.id) == 1
    assert 'hx-post="/ui/linkage/' + str(strong.id) + '/verify"' in page.text
    assert 'hx-post="/ui/linkage/' + str(strong.id) + '/dismiss"' in page.text
    aud = _signed_in(app, "aud")
    assert aud.get("/ui/linkage").status_code == 403
    assert aud.get(f"/ui/linkage/{strong.id}").status_code == 403
    assert 'href="/ui/linkage"' not in aud.get("/ui/").text
    assert dana.get("/ui/linkage/999999").status_code == 404


def test_requesting_verification_opens_the_case_quoting_the_pair(app: FastAPI, pair: Pair) -> None:
    strong = _candidate(pair, "P-0001")
    dana = _signed_in(app, "dana")
    stale = dana.post(f"/ui/linkage/{strong.id}/verify", htmx=True, form={"pair": "P-0002"})
    assert stale.status_code == 422
    assert _candidate(pair, "P-0001").state == "open"
    sent = dana.post(f"/ui/linkage/{strong.id}/verify", htmx=True, form={"pair": "P-0001"})
    assert sent.status_code == 204, sent.text
    case_id = sent.headers["HX-Redirect"].removeprefix("/ui/cases/")
    with pair.kz.unit_of_work() as uow:
        case = uow.session.get_one(CaseRow, case_id)
    assert (case.category, case.partner_authority, case.opened_by) == (
        "citizenship-verification",
        "am-mcs",
        "officer:dana",
    )
    asked = _candidate(pair, "P-0001")
    assert (asked.state, asked.request_case_id) == ("requested", case_id)
    again = dana.get(f"/ui/linkage/{strong.id}")
    assert "Verification requested" in again.text and "/verify" not in again.text
    assert dana.get(f"/ui/cases/{case_id}").status_code == 200


def test_dismissing_says_why(app: FastAPI, pair: Pair) -> None:
    possible = _candidate(pair, "P-0002")
    dana = _signed_in(app, "dana")
    blank = dana.post(f"/ui/linkage/{possible.id}/dismiss", htmx=True, form={"reason": " "})
    assert blank.status_code == 422
    erlan = _signed_in(app, "erlan")  # an analyst may ask the partner, so may decide not to
    done = erlan.post(f"/ui/linkage/{possible.id}/dismiss", htmx=True, form={"reason": "x"})
    assert done.status_code == 204
    dismissed = _candidate(pair, "P-0002")
    assert (dismissed.state, dismissed.reason, dismissed.decided_by) == (
        "dismissed",
        "x",
        "officer:erlan",
    )
    twice = dana.post(f"/ui/linkage/{possible.id}/dismiss", htmx=True, form={"reason": "y"})
    assert twice.status_code == 409
    queue = dana.get("/ui/linkage?state=dismissed")
    assert f'href="/ui/linkage/{possible.id}"' in queue.text
