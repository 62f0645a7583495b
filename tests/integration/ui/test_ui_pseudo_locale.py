"""No text of the console escapes translation: with a pseudo-locale, in which every message
of the catalogue reads ⟦like this⟧, every text a page shows (and every label a screen reader
reads) is wrapped, except what the templates mark `translate="no"` (records: case numbers,
names, dates; and the languages' own names)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from fastapi import FastAPI
from sqlalchemy import select

from casework_scenes import REQUEST_CHOICE as CHOSEN
from casework_scenes import REQUEST_FORM as FORM
from casework_scenes import (
    awaiting_clarification,
    consultation_proposed,
    incoming_in_review,
    officers_app,
)
from console_catalogue import extracted
from console_client import Browser, add_console_officer
from migrex.casework.tables import CaseMessageRow
from migrex.officers.model import Role
from migrex.ui import i18n, rendering
from nodes import Pair

# Attributes a person reads or hears.
READ_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder", "aria-description")
# Text that is the same in every language: the product's name and punctuation.
NEUTRAL = re.compile(r"^[\s\W\d]*$|^[\s\W]*migrex[\s\W]*$")
VOID = {"meta", "link", "input", "br", "img", "hr", "source", "area", "base", "col", "wbr"}


def pseudo_translations() -> Translations:
    catalogue = Catalog(locale="en")
    for message in extracted():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            catalogue.add(message.id, (f"⟦{singular}⟧", f"⟦{plural}⟧"))
        else:
            catalogue.add(message.id, f"⟦{message.id}⟧")
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


class Untranslated(HTMLParser):
    """Collects every shown text and read attribute outside `translate="no"` that is not
    wholly made of pseudo-translated pieces."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, inside translate="no")
        self.found: list[str] = []

    @property
    def exempt(self) -> bool:
        return any(no for _tag, no in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        no = attributes.get("translate") == "no"
        for name in READ_ATTRIBUTES:
            value = attributes.get(name)
            if value and not (no or self.exempt):
                self._check(f"{tag}[{name}]", value)
        if tag not in VOID:
            self.stack.append((tag, no))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] in ("script", "style"):
            return
        if not self.exempt:
            self._check("text", data)

    def _check(self, where: str, text: str) -> None:
        # Innermost first: a message may hold another (a translated name in a sentence).
        rest, before = text, None
        while rest != before:
            before, rest = rest, re.sub(r"⟦[^⟦⟧]*⟧", "", rest)
        if not NEUTRAL.match(rest):
            self.found.append(f"{where}: {text.strip()!r}")


def untranslated(html: str) -> list[str]:
    parser = Untranslated()
    parser.feed(html)
    return parser.found


@pytest.fixture
def app(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs"), (Role.OFFICER, "am-mcs")])
    add_console_officer(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    yield officers_app(pair.am)
    rendering.environment.cache_clear()


def test_the_checker_finds_a_plain_string() -> None:
    assert untranslated("<p>⟦Sign in⟧</p><p>Sign out</p>") == ["text: 'Sign out'"]
    assert untranslated('<p translate="no">ID-42 <b>Anna</b></p><p>⟦x⟧ 12</p>') == []
    assert untranslated('<button aria-label="Close">⟦x⟧</button>') == [
        "button[aria-label]: 'Close'"
    ]


def test_every_page_is_translated(app: FastAPI, pair: Pair) -> None:
    browser = Browser(app)
    pages = {
        "sign-in": browser.get("/ui/sign-in"),
        "sign-in, idle": browser.get("/ui/sign-in?reason=idle"),
        "sign-in, signed out": browser.get("/ui/sign-in?reason=signed-out"),
        "sign-in, refused": browser.sign_in("anna", "wrong password"),
        "not found": browser.get("/ui/language/xx"),
    }
    browser.sign_in("anna")
    case_id = incoming_in_review(pair)
    pages |= {
        "my work": browser.get("/ui/"),
        "incoming": browser.get("/ui/queues/incoming"),
        "claim refused": browser.post("/ui/cases/nothing/claim", htmx=True),
    }
    browser.post(f"/ui/cases/{case_id}/claim", htmx=True)
    pages |= {"mine": browser.get("/ui/queues/mine"), "empty": browser.get("/ui/queues/overdue")}
    pages |= {
        "messages": browser.get(f"/ui/cases/{case_id}/messages", htmx=True),
        "draft": browser.post(f"/ui/cases/{case_id}/draft", htmx=True),
        "case": browser.get(f"/ui/cases/{case_id}"),
        "new request": browser.get(f"/ui/requests/new?{CHOSEN}"),
        "new request, choosing": browser.get("/ui/requests/new"),
        "screening": browser.post("/ui/requests/screen", htmx=True,
                                  form=FORM | {"legal_basis": "law", "urgency": "urgent"}),
        "screening, breach": browser.post("/ui/requests/screen", htmx=True,
                                          form=FORM | {"requested_field": ["violations"]}),
        "search": browser.get(f"/ui/search?reference={case_id[:8]}"),
        "search, nothing": browser.get("/ui/search?state=expired"),
        "person found": browser.post("/ui/search/persons", htmx=True,
                                     form={"surname": "Оганесян"}),
        "nobody found": browser.post("/ui/search/persons", htmx=True,
                                     form={"surname": "Петросян"}),
        "our request, asked": browser.get(f"/ui/cases/{awaiting_clarification(pair)}"),
        "consultation": browser.get(f"/ui/cases/{consultation_proposed(pair)}"),
    }  # fmt: skip
    auditor = Browser(app)
    auditor.sign_in("audra")
    with pair.am.unit_of_work() as uow:
        message_id = uow.session.scalar(
            select(CaseMessageRow.message_id).where(CaseMessageRow.case_id == case_id)
        )  # fmt: skip
    pages |= {
        "audit log": auditor.get("/ui/audit"),
        "audit verified": auditor.post("/ui/audit/verify", htmx=True),
        "audit proof": auditor.post("/ui/audit/prove", form={"message_id": message_id},
                                    htmx=True),
    }  # fmt: skip
    for name, response in pages.items():
        assert "⟦" in response.text, f"{name}: the pseudo-locale is not in use"
        assert untranslated(response.text) == [], name
