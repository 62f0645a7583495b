"""Every console page in every language, in Chromium: no serious or critical WCAG 2.2 AA
violation found by axe-core, no Content-Security-Policy violation, no script error; and the
idle warning, which appears before the session ends and lets the officer stay."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from conftest import ConsolePair, open_inquiry
from migrex.ui.i18n import LOCALES

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "hy": "Հայերեն", "en": "English"}


def _choose(tab: Any, locale: str) -> None:
    tab.page.click(f"a[hreflang={locale}]")
    tab.page.wait_for_load_state()
    assert tab.page.get_attribute("html", "lang") == locale


@pytest.fixture(scope="module")
def inquiry(console_pair: ConsolePair) -> str:
    return open_inquiry(console_pair)


@pytest.mark.parametrize("locale", LOCALES)
def test_pages_are_accessible_and_keep_the_policy(
    console_pair: ConsolePair, tab_at: Any, locale: str, inquiry: str
) -> None:
    kz = console_pair["KZ"]
    tab = tab_at(kz.url)
    tab.go("/ui/sign-in")
    _choose(tab, locale)
    assert tab.audit(f"sign-in.{locale}") == []
    tab.page.fill("#username", "aigerim")
    tab.page.fill("#password", "not the password")
    tab.page.click("button[type=submit]")
    expect(tab.page.locator("[role=alert]")).to_be_visible()
    assert tab.audit(f"sign-in-refused.{locale}") == []
    tab.sign_in("aigerim")
    assert tab.page.get_attribute("html", "lang") == locale  # the choice is remembered
    assert tab.audit(f"my-work.{locale}") == []
    tab.go("/ui/queues/incoming")
    expect(tab.page.locator("#queue-table tbody tr").first).to_be_visible()
    assert tab.audit(f"queue-incoming.{locale}") == []
    tab.go(f"/ui/cases/{inquiry}")
    assert tab.audit(f"case.{locale}") == []
    # The person of the inquiry (HOVHANNISYAN in Latin letters) found by a Russian spelling.
    tab.go("/ui/search")
    tab.page.fill("#p-surname", "Оганесян")
    tab.page.click("#person-search-form button[type=submit]")
    expect(tab.page.locator("#persons-found")).to_contain_text(inquiry)
    expect(tab.page.locator("#p-surname")).to_have_value("")  # the name typed does not stay
    assert tab.audit(f"search-person.{locale}") == []
    assert tab.csp_violations == [] and tab.errors == []


@pytest.mark.parametrize("locale", LOCALES)
def test_the_auditor_verifies_the_log_in_the_browser(
    console_pair: ConsolePair, tab_at: Any, locale: str, inquiry: str
) -> None:
    tab = tab_at(console_pair["KZ"].url)
    tab.go("/ui/sign-in")
    _choose(tab, locale)
    tab.sign_in("dana")
    tab.page.click("a[href='/ui/audit']")
    tab.page.wait_for_url("**/ui/audit")
    assert tab.audit(f"audit.{locale}") == []
    tab.page.click("button[hx-post='/ui/audit/verify']")
    expect(tab.page.locator("#verdict")).to_have_attribute("data-ok", "true")
    assert tab.audit(f"audit-verified.{locale}") == []
    assert tab.csp_violations == [] and tab.errors == []


def test_signing_out_ends_the_session(console_pair: ConsolePair, tab_at: Any) -> None:
    tab = tab_at(console_pair["KZ"].url)
    tab.sign_in("aigerim")
    tab.page.click("header button:has-text('Sign out')")
    tab.page.wait_for_url("**/ui/sign-in?reason=signed-out")
    tab.go("/ui/")
    assert tab.page.url.endswith("/ui/sign-in")
    assert tab.csp_violations == [] and tab.errors == []


def test_the_idle_warning_comes_before_the_end_and_lets_the_officer_stay(
    console_pair: ConsolePair, tab_at: Any
) -> None:
    tab = tab_at(console_pair["KZ"].url)
    tab.page.clock.install()
    tab.sign_in("aigerim")
    warning = tab.page.locator("#idle-warning")
    expect(warning).to_be_hidden()
    # 15 minutes idle: the page ends the session at 14 and warns from 12.
    tab.page.clock.run_for("12:30")
    expect(warning).to_be_visible()
    assert tab.audit("idle-warning.en") == []
    with tab.page.expect_response("**/ui/session/extend") as extended:
        tab.page.click("#idle-extend")
    assert extended.value.status == 204
    expect(warning).to_be_hidden()
    tab.page.clock.run_for("13:00")
    expect(warning).to_be_visible()
    leaving: list[str] = []
    tab.page.on("request", lambda r: leaving.append(r.url) if "reason=idle" in r.url else None)
    # A minute past the end: the page leaves once, however many ticks pass before it has.
    tab.page.clock.run_for("02:00")
    tab.page.wait_for_url("**/ui/sign-in?reason=idle")
    assert len(leaving) == 1, leaving
    assert tab.csp_violations == [] and tab.errors == []


def test_the_policy_blocks_an_injected_script_and_the_test_sees_it(
    console_pair: ConsolePair, tab_at: Any
) -> None:
    """The collector the other tests rely on: an inline script put into a page is refused by
    the node's policy, and the refusal is reported."""
    tab = tab_at(console_pair["KZ"].url)
    tab.go("/ui/sign-in")
    ran = tab.page.evaluate("""() => {
        window.injected = false;
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.head.append(script);
        return window.injected;
    }""")
    tab.page.wait_for_timeout(200)
    assert ran is False
    assert any("script-src" in v for v in tab.csp_violations), tab.csp_violations


def test_claiming_from_the_queue_and_filtering_in_place(
    console_pair: ConsolePair, tab_at: Any
) -> None:
    case_id = open_inquiry(console_pair)
    tab = tab_at(console_pair["KZ"].url)
    tab.sign_in("daulet")
    tab.go("/ui/queues/incoming")
    row = tab.page.locator("#queue-table tr", has_text=case_id)
    row.get_by_role("button", name="Claim").click()
    tab.page.wait_for_load_state()
    expect(tab.page.locator("#queue-table")).not_to_contain_text(case_id)
    tab.go("/ui/queues/mine")
    expect(tab.page.locator("#queue-table")).to_contain_text(case_id)
    # A filter narrows the table in place (htmx), without reloading the page.
    tab.page.select_option("#f-partner", "am-police")
    expect(tab.page.locator("#queue-table")).not_to_contain_text(case_id)
    assert "partner=am-police" in tab.page.url
    assert tab.audit("queue-mine-filtered.en") == []
    assert tab.csp_violations == [] and tab.errors == []


def test_the_console_is_served_over_tls_the_node_authority_signed(
    console_pair: ConsolePair,
) -> None:
    """The browser above is told to accept the demo certificates; here the chain itself is
    checked against each node's own authority, host name included, and HSTS is sent."""
    for console in console_pair.nodes.values():
        trusted = ssl.create_default_context(cafile=str(console.ca))
        response = httpx.get(console.url + "/ui/sign-in", verify=trusted)
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.ConnectError):
            httpx.get(console.url + "/ui/sign-in", verify=ssl.create_default_context())
