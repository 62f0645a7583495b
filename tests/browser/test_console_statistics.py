"""The statistician's pages in Chromium: the releases from the menu, one release with its
chart and its blank cells marked, sent to the partner with a click; in every language, no
serious or critical WCAG 2.2 AA violation found by axe-core and no Content-Security-Policy
violation (the chart is inline SVG without a style attribute)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import ConsolePair
from migrex.stats.release import Release
from migrex.stats.service import PARTNER
from stats_scenes import AGREEMENT, OWN_DATASET, PARTNER_DATASET, stored_release

PAGE = f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2024"


@pytest.fixture(scope="module")
def released(console_pair: ConsolePair, tmp_path_factory: pytest.TempPathFactory) -> Release:
    """Armenia's own release of 2023 and 2024, and Kazakhstan's of 2024 received."""
    folder = tmp_path_factory.mktemp("populations")
    am = console_pair["AM"].node
    stored_release(am, folder, OWN_DATASET, 2023, seed=2023)
    stored_release(am, folder, PARTNER_DATASET, 2024, origin=PARTNER)
    return stored_release(am, folder, OWN_DATASET, 2024)


def test_the_statistician_opens_a_release_sees_its_chart_and_blanks_and_sends_it(
    console_pair: ConsolePair, tab_at: Any, released: Release
) -> None:
    tab = tab_at(console_pair["AM"].url)
    tab.sign_in("sona")
    tab.page.click("nav a[href='/ui/statistics']")
    tab.page.wait_for_url("**/ui/statistics")
    expect(tab.page.locator("#received-releases")).to_contain_text("2,623")
    assert tab.audit("statistics.en") == []
    tab.page.click(f"#own-releases a[href^='{PAGE}']")
    tab.page.wait_for_url(f"**{PAGE}?version=1")
    chart = tab.page.locator("svg[aria-labelledby^=breakdown]")
    expect(chart).to_be_visible()
    region = released.dimension_ids.index("region")
    shown = [o for o in released.observations
             if [n for n, code in enumerate(o.key) if code != "_T"] == [region]]  # fmt: skip
    blanks = [o for o in shown if o.value is None]
    assert blanks and len(blanks) < len(shown)
    expect(chart.locator("rect.chart-blank")).to_have_count(len(blanks))
    expect(chart.locator("rect.chart-bar")).to_have_count(len(shown) - len(blanks))
    blank = tab.page.locator(f"#breakdown td[data-key='{blanks[0].key[region]}']")
    expect(blank).to_have_attribute("data-status", "C")
    expect(blank).to_contain_text("⊘")
    years = tab.page.locator("svg[aria-labelledby^=year]")
    expect(years.locator("rect.chart-bar, rect.chart-blank")).to_have_count(2)  # 2023, 2024
    assert tab.audit("statistics-release.en") == []
    tab.page.select_option("#recipient", "kz-mlsp")
    tab.page.click("button:has-text('Send version 1')")
    expect(tab.page.locator("#send-result [role=status]")).to_contain_text("queued")
    assert tab.audit("statistics-sent.en") == []
    assert tab.csp_violations == [] and tab.errors == []


def test_the_release_page_keeps_the_rules_in_every_language(
    console_pair: ConsolePair, tab_at: Any, released: Release
) -> None:
    tab = tab_at(console_pair["AM"].url)
    tab.sign_in("sona")
    for locale in ("ru", "kk", "hy"):
        tab.go(PAGE + "?by=age")
        tab.page.click(f"a[hreflang={locale}]")
        tab.page.wait_for_load_state()
        assert tab.page.get_attribute("html", "lang") == locale
        expect(tab.page.locator("svg[aria-labelledby^=breakdown]")).to_be_visible()
        assert tab.audit(f"statistics-release.{locale}") == []
    assert tab.csp_violations == [] and tab.errors == []
