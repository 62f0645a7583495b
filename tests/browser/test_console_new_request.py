"""A new request in a real browser: Armenia's caseworker signs in, chooses the partner, the
category and the purpose the agreement allows, fills in the person and the fields to ask for,
sees the screening, sends, and lands on the new case — which reaches Kazakhstan's node. Once
with the mouse (every page audited by axe-core), once with the keyboard only."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from casework_scenes import PERSON, PRECISE
from conftest import ConsolePair, settled, wait_for_state
from migrex.casework.tables import CaseRow
from migrex.node import Node
from migrex.ui.i18n import LOCALES

CHOICE = "/ui/requests/new?recipient=kz-mia&category=persons-present&purpose=legal-status-of-stay"


def _fill_and_check(page: Page) -> None:
    """Fills in the request form with a person the partner can look up, and screens it."""
    form = page.locator("#request-form")
    form.get_by_label("Legal basis").fill(PRECISE)
    form.get_by_label("Surname in Latin letters").fill(PERSON["surname_latin"])
    form.get_by_label("Given name in Latin letters").fill(PERSON["given_name_latin"])
    form.get_by_label("Date of birth").fill(PERSON["birth_date"])
    form.get_by_label("Document number").fill(PERSON["document_number"])
    form.get_by_label("permit_type").check()
    form.get_by_role("button", name="Check against the agreement").click()


def _case_id(page: Page) -> str:
    return page.url.rsplit("/", 1)[-1]


def test_a_request_is_screened_sent_and_its_case_opened(
    console_pair: ConsolePair, tab_at: Any
) -> None:
    am = tab_at(console_pair["AM"].url)
    am.sign_in("anahit")
    am.page.get_by_role("link", name="New request").click()
    am.page.wait_for_url("**/ui/requests/new")
    am.page.select_option("#r-recipient", "kz-mia")
    am.page.get_by_role("button", name="Continue").click()
    am.page.select_option("#r-category", "persons-present")
    am.page.get_by_role("button", name="Continue").click()
    am.page.select_option("#r-purpose", "legal-status-of-stay")
    am.page.get_by_role("button", name="Continue").click()
    assert am.audit("request-form.en") == []

    _fill_and_check(am.page)
    screening = am.page.locator("#request-screening")
    expect(screening).to_contain_text("Screening found nothing to note.")
    assert am.audit("request-screening.en") == []

    screening.get_by_role("button", name="Send the request").click()
    am.page.wait_for_url("**/ui/cases/*")
    case_id = _case_id(am.page)
    expect(am.page.locator("h1")).to_contain_text(case_id)
    expect(am.page.locator(".summary")).to_contain_text("To a partner")
    assert am.audit("request-sent.en") == []
    assert am.csp_violations == [] and am.errors == []
    # The request travels over mutual TLS; Kazakhstan's node opens its own case for it.
    wait_for_state(console_pair["KZ"].node, case_id, ("delivered",))


def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Presses Tab until the element `selector` names has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_request_is_sent_with_the_keyboard_only(console_pair: ConsolePair, tab_at: Any) -> None:
    am = tab_at(console_pair["AM"].url)
    am.sign_in("anahit")
    page = am.go(CHOICE)
    _tab_to(page, "#r-legal-basis")
    page.keyboard.type(PRECISE)
    _tab_to(page, "#p-surname-latin")
    page.keyboard.type(PERSON["surname_latin"])
    _tab_to(page, "#p-given-name-latin")
    page.keyboard.type(PERSON["given_name_latin"])
    _tab_to(page, "#p-document-number")
    page.keyboard.type(PERSON["document_number"])
    _tab_to(page, "input[value=permit_type]")
    page.keyboard.press("Space")
    _tab_to(page, "#request-form button[type=submit]")
    page.keyboard.press("Enter")
    send = page.get_by_role("button", name="Send the request")
    expect(send).to_be_visible()
    # The button htmx swapped in answers a key only once htmx has processed it: on a loaded
    # machine Enter can come first, and nothing happens.
    settled(page)
    _tab_to(page, "#request-screening button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/cases/*")
    expect(page.locator("h1")).to_contain_text(_case_id(page))
    assert am.csp_violations == [] and am.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_the_request_pages_are_accessible_in_every_language(
    console_pair: ConsolePair, tab_at: Any, locale: str
) -> None:
    """The form, a screening that finds a breach (no legal basis: nothing may be sent), and
    the search, audited in each language."""
    am = tab_at(console_pair["AM"].url)
    am.go(f"/ui/language/{locale}?next=/ui/sign-in")
    am.sign_in("anahit")
    page = am.go(CHOICE)
    assert page.get_attribute("html", "lang") == locale
    assert am.audit(f"request-form.{locale}") == []
    page.fill("#p-document-number", PERSON["document_number"])
    page.click("#request-form button[type=submit]")
    screening = page.locator("#request-screening")
    expect(screening.locator("[role=alert]")).to_be_visible()
    expect(screening.locator(".flag-breach").first).to_be_visible()
    assert screening.locator("button").count() == 0  # a breach cannot be sent
    assert am.audit(f"request-breach.{locale}") == []
    am.go("/ui/search?state=sent")
    assert am.audit(f"search.{locale}") == []
    assert am.csp_violations == [] and am.errors == []


def _sent_by(node: Node, actor: str) -> int:
    with node.unit_of_work() as uow:
        query = select(func.count()).select_from(CaseRow).where(CaseRow.opened_by == actor)
        return uow.session.scalar(query) or 0


def test_a_double_click_on_send_opens_one_case(console_pair: ConsolePair, tab_at: Any) -> None:
    """htmx posts the form once per click: without the form's own key the second click
    opened a second case and sent the partner the same request again."""
    am = tab_at(console_pair["AM"].url)
    am.sign_in("anahit")
    page = am.go(CHOICE)
    _fill_and_check(page)
    screening = page.locator("#request-screening")
    expect(screening).to_contain_text("Screening found nothing to note.")
    settled(page)
    node = console_pair["AM"].node
    before = _sent_by(node, "officer:anahit")
    screening.get_by_role("button", name="Send the request").dblclick()
    page.wait_for_url("**/ui/cases/*")
    # The second post may still be on its way when the first lands on the case: both are
    # answered within the second.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.2)
        assert _sent_by(node, "officer:anahit") == before + 1
    assert am.csp_violations == [] and am.errors == []
