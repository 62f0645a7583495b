"""The data-protection officer's and the administrator's pages in Chromium: a DPO finds the
disclosure of an inquiry in the ledger, asks for a person's subject report and sees the
limits; an administrator sees the officers and the node's delivery. Each page in each
language has no serious or critical WCAG 2.2 AA violation (axe-core), no Content-Security-
Policy violation and no script error."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from casework_scenes import PERSON
from conftest import ConsolePair, open_inquiry
from console_client import add_console_officer
from migrex.officers.model import Role
from migrex.ui.i18n import LOCALES


@pytest.fixture(scope="module")
def inquiry(console_pair: ConsolePair) -> str:
    """An inquiry Kazakhstan received (a "received" line in kz-mia's ledger), and the
    officers of this module."""
    kz = console_pair["KZ"].node
    add_console_officer(kz, "dinara", [(Role.DATA_PROTECTION_OFFICER, "kz-mia")])
    add_console_officer(kz, "nurlan", [(Role.ADMINISTRATOR, "kz-mia")])
    return open_inquiry(console_pair)


def _choose(tab: Any, locale: str) -> None:
    tab.page.click(f"a[hreflang={locale}]")
    tab.page.wait_for_load_state()
    assert tab.page.get_attribute("html", "lang") == locale


@pytest.mark.parametrize("locale", LOCALES)
def test_a_dpo_finds_the_disclosure_in_the_ledger(
    console_pair: ConsolePair, tab_at: Any, locale: str, inquiry: str
) -> None:
    tab = tab_at(console_pair["KZ"].url)
    tab.sign_in("dinara")
    _choose(tab, locale)
    tab.page.click("nav a[href='/ui/ledger']")
    tab.page.wait_for_url("**/ui/ledger")
    expect(tab.page.locator(f"#ledger-table a[href='/ui/cases/{inquiry}']").first).to_be_visible()
    assert tab.audit(f"ledger.{locale}") == []
    tab.page.select_option("#l-direction", "sent")  # htmx narrows the table in place
    expect(tab.page.locator(f"#ledger-table a[href='/ui/cases/{inquiry}']")).to_have_count(0)
    tab.go("/ui/subject-report")
    tab.page.fill("#r-document", PERSON["document_number"])
    tab.page.click("#subject-form button[type=submit]")
    expect(tab.page.locator("#subject-report table tbody tr").first).to_be_visible()
    assert PERSON["document_number"] not in tab.page.inner_text("#subject-report")
    expect(tab.page.locator("#r-document")).to_have_value("")  # what was typed is gone
    assert tab.audit(f"subject-report.{locale}") == []
    tab.go("/ui/limits")
    assert tab.audit(f"limits.{locale}") == []
    tab.go("/ui/retention")
    assert tab.audit(f"retention.{locale}") == []
    assert tab.csp_violations == [] and tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_an_administrator_sees_officers_and_the_node(
    console_pair: ConsolePair, tab_at: Any, locale: str, inquiry: str
) -> None:
    tab = tab_at(console_pair["KZ"].url)
    tab.sign_in("nurlan")
    _choose(tab, locale)
    tab.go("/ui/officers")
    expect(tab.page.get_by_role("cell", name="dinara", exact=True).first).to_be_visible()
    assert tab.audit(f"officers.{locale}") == []
    tab.go("/ui/node")
    assert tab.audit(f"node.{locale}") == []
    assert tab.csp_violations == [] and tab.errors == []
