"""No text of the data-protection officer's and the administrator's pages escapes
translation: the pseudo-locale check of `test_ui_pseudo_locale`, on these pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from test_ui_pseudo_locale import pseudo_translations, untranslated

from casework_scenes import INQUIRY, PERSON, incoming_in_review, officers_app
from casework_steps import context, now
from console_client import Browser, add_console_officer
from migrex.casework.service import OpenRequest, open_request
from migrex.exchange.delivery import Status
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Role
from migrex.ui import i18n, rendering
from nodes import Pair


@pytest.fixture
def app(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "dina", [(Role.DATA_PROTECTION_OFFICER, "am-mcs")])
    add_console_officer(pair.am, "ani", [(Role.ADMINISTRATOR, "am-mcs")])
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    yield officers_app(pair.am)
    rendering.environment.cache_clear()


def _parked(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                              "officer:arev")  # fmt: skip
        message_id = open_request(uow, context(pair.am), command, now()).message_id
        row = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()
        row.status = Status.PARKED
        uow.commit()


def test_the_dpo_and_administrator_pages_are_translated(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)
    _parked(pair)
    dina, ani = Browser(app), Browser(app)
    dina.sign_in("dina")
    ani.sign_in("ani")
    pages = {
        "ledger": dina.get("/ui/ledger"),
        "ledger, nothing": dina.get("/ui/ledger?direction=sent"),
        "subject report": dina.get("/ui/subject-report"),
        "subject report, found": dina.post("/ui/subject-report", htmx=True, form={
            "authority": "am-mcs", "document": PERSON["document_number"]}),
        "subject report, nothing": dina.post("/ui/subject-report", htmx=True,
                                             form={"national_id": "X1"}),
        "limits": dina.get("/ui/limits"),
        "retention": dina.get("/ui/retention"),
        "retention run": dina.post("/ui/retention/run", htmx=True),
        "officers": ani.get("/ui/officers"),
        "password set": ani.post("/ui/officers/dina/password", htmx=True,
                                 form={"password": "a long passphrase, set again"}),
        "token issued": ani.post("/ui/officers/dina/tokens", htmx=True,
                                 form={"name": "reports", "days": "7"}),
        "node": ani.get("/ui/node"),
    }  # fmt: skip
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text)
        assert "⟦" in response.text, f"{name}: the pseudo-locale is not in use"
        assert untranslated(response.text) == [], name
