"""The case page: nothing personal until asked; every read of personal data recorded in the
ledger and the audit log (G4, G5) and shown in the timeline; a decision drafted, narrowed and
sent, or approved by a second officer who signs in again; a refusal on the agreement's
grounds; a question for clarification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import INQUIRY, officers_app
from casework_steps import context, deliver, now, state
from console_client import PASSWORD, Browser, add_console_officer
from factories import employment, person_present, write_csv
from migrex.audit.tables import AuditLeafRow
from migrex.casework.service import OpenRequest, open_request
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from nodes import Pair

ASKED = ["surname_latin", "permit_type", "employer_name", "permit_valid_to"]
SURNAME = INQUIRY["persons"][0]["surname_latin"]


def _registries(pair: Pair, tmp_path: Path) -> None:
    """Kazakhstan's registries hold the person Armenia asks about."""
    write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT,
              [person_present(1, document_number="AM1234567")])  # fmt: skip
    write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1)])
    with pair.kz.unit_of_work() as uow:
        files = [(Kind.PERSONS_PRESENT, tmp_path / "p.csv"), (Kind.EMPLOYMENT, tmp_path / "e.csv")]
        import_registries(uow, files, state="KZ", actor="t")


def _delivered(pair: Pair) -> str:
    """Armenia asks kz-mia about the person; the request has arrived."""
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry",
                              {**INQUIRY, "requested_fields": ASKED, "step": "full"},
                              "officer:anna")  # fmt: skip
        case_id = open_request(uow, context(pair.am), command, now()).case_id
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return case_id


@pytest.fixture
def app(pair: Pair, tmp_path: Path) -> Iterator[FastAPI]:
    _registries(pair, tmp_path)
    for name in ("bolat", "dana"):
        add_console_officer(pair.kz, name, [(Role.REVIEWER, "kz-mia")])
    add_console_officer(pair.kz, "erlan", [(Role.SUPERVISOR, "kz-mia")])
    yield officers_app(pair.kz)


def _records(pair: Pair) -> tuple[int, int]:
    with pair.kz.unit_of_work() as uow:
        reads = uow.session.scalar(select(func.count()).select_from(DisclosureRow)
                                   .where(DisclosureRow.direction == "read"))  # fmt: skip
        leaves = uow.session.scalar(select(func.count()).select_from(AuditLeafRow))
    return reads or 0, leaves or 0


def test_personal_data_is_shown_only_when_asked_and_each_read_is_recorded(
    app: FastAPI, pair: Pair, tmp_path: Path
) -> None:
    case_id = _delivered(pair)
    bolat = Browser(app)
    bolat.sign_in("bolat")
    before = _records(pair)
    page = bolat.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200 and SURNAME not in page.text
    assert 'hx-history="false"' in page.text
    assert _records(pair) == before  # the page itself shows nothing personal
    shown = bolat.get(f"/ui/cases/{case_id}/messages", htmx=True)
    assert shown.status_code == 200 and SURNAME in shown.text
    reads, leaves = _records(pair)
    assert reads > before[0] and leaves > before[1]
    timeline = bolat.get(f"/ui/cases/{case_id}").text
    assert "officer:bolat" in timeline and "surname_latin" in timeline  # the read, listed
    # A supervisor sees the case; a stranger to kz-mia does not.
    add_console_officer(pair.kz, "malik", [(Role.REVIEWER, "kz-mlsp")])
    stranger = Browser(app)
    stranger.sign_in("malik")
    assert stranger.get(f"/ui/cases/{case_id}").status_code == 403
    assert stranger.get(f"/ui/cases/{case_id}/messages", htmx=True).status_code == 403
    assert _records(pair)[0] == reads


def test_review_draft_narrow_and_send(app: FastAPI, pair: Pair, tmp_path: Path) -> None:
    case_id = _delivered(pair)
    bolat = Browser(app)
    bolat.sign_in("bolat")
    assert bolat.post(f"/ui/cases/{case_id}/review", htmx=True).status_code == 204
    assert state(pair.kz, case_id) == "in-review"
    reads = _records(pair)[0]
    drafted = bolat.post(f"/ui/cases/{case_id}/draft", htmx=True)
    assert drafted.status_code == 200 and "permit_type" in drafted.text
    assert _records(pair)[0] > reads  # showing the draft shows personal data: recorded
    narrowed = bolat.post(f"/ui/cases/{case_id}/draft/narrow", htmx=True,
                          form={"withhold": ["employer_name"]})  # fmt: skip
    assert narrowed.status_code == 200 and "withheld by the reviewer" in narrowed.text
    sent = bolat.post(f"/ui/cases/{case_id}/draft/submit", htmx=True)
    assert sent.status_code == 200 and "was sent" in sent.text
    assert state(pair.kz, case_id) == "partially-answered"  # a field was withheld


def test_a_second_officer_approves_after_signing_in_again(
    app: FastAPI, pair: Pair, tmp_path: Path
) -> None:
    node = context(pair.kz)
    agreement = node.agreements["kz-am-2024"]
    four_eyes = frozenset({"disclosure", "refusal"})
    protection = replace(agreement.data_protection, second_officer=four_eyes)
    strict = replace(agreement, data_protection=protection)
    app.state.casework = replace(app.state.casework, node=replace(
        node, agreements={**node.agreements, "kz-am-2024": strict}))  # fmt: skip
    case_id = _delivered(pair)
    bolat, dana = Browser(app), Browser(app)
    bolat.sign_in("bolat")
    dana.sign_in("dana")
    bolat.post(f"/ui/cases/{case_id}/review", htmx=True)
    bolat.post(f"/ui/cases/{case_id}/draft", htmx=True)
    waiting = bolat.post(f"/ui/cases/{case_id}/draft/submit", htmx=True)
    assert "awaits a second officer" in waiting.text
    own = bolat.post(f"/ui/cases/{case_id}/draft/approve", htmx=True, form={"password": "x"})
    assert own.status_code == 403
    assert "/ui/cases/" in dana.get("/ui/queues/approval").text
    wrong = dana.post(f"/ui/cases/{case_id}/draft/approve", htmx=True,
                      form={"password": "not it"})  # fmt: skip
    assert wrong.status_code == 403 and state(pair.kz, case_id) == "in-review"
    assert dana.get("/ui/").status_code == 200  # a wrong approval password ends no session
    approved = dana.post(f"/ui/cases/{case_id}/draft/approve", htmx=True,
                         form={"password": PASSWORD})  # fmt: skip
    assert approved.status_code == 200 and "was sent" in approved.text
    assert state(pair.kz, case_id) == "answered"


def test_refusal_on_the_agreements_grounds_and_a_clarification(
    app: FastAPI, pair: Pair, tmp_path: Path
) -> None:
    refused, asked = _delivered(pair), _delivered(pair)
    bolat = Browser(app)
    bolat.sign_in("bolat")
    for case_id in (refused, asked):
        bolat.post(f"/ui/cases/{case_id}/review", htmx=True)
    page = bolat.get(f"/ui/cases/{refused}")
    assert 'value="security"' in page.text and "Article 7" in page.text
    unknown = bolat.post(f"/ui/cases/{refused}/draft/refusal", htmx=True,
                         form={"ground": ["nonsense"], "explanation": "x"})  # fmt: skip
    assert unknown.status_code == 404
    drafted = bolat.post(f"/ui/cases/{refused}/draft/refusal", htmx=True,
                         form={"ground": ["security"], "explanation": "Not possible."})  # fmt: skip
    assert drafted.status_code == 200 and "A refusal" in drafted.text
    bolat.post(f"/ui/cases/{refused}/draft/submit", htmx=True)
    assert state(pair.kz, refused) == "refused"
    question = bolat.post(f"/ui/cases/{asked}/clarification", htmx=True,
                          form={"question": "Which employer?"})  # fmt: skip
    assert question.status_code == 204
    assert state(pair.kz, asked) == "clarification-requested"
