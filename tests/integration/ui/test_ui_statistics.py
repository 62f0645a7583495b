"""The statistician's pages: the agreement's releases, ours and received; one version with its
tables, chart and the year before, every blank shown as the one confidential code; sending a
version to a partner through the use case `migrex stats send` runs, audited; refused to roles
without the statistics rights."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from test_ui_pseudo_locale import pseudo_translations, untranslated

from casework_scenes import officers_app
from console_client import Browser, add_console_officer
from migrex.audit.tables import AuditLeafRow
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Role
from migrex.stats.comparison import compare
from migrex.stats.cube import TOTAL
from migrex.stats.release import Release
from migrex.stats.service import PARTNER
from migrex.ui import i18n, rendering
from nodes import Pair
from stats_scenes import AGREEMENT, OWN_DATASET, PARTNER_DATASET, stored_release

PAGE = f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2024"
CELL = re.compile(r'<td data-key="([^"]+)" data-status="([A-Z])">(.*?)</td>', re.S)


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "sona", [(Role.STATISTICIAN, "am-mcs")])
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    yield officers_app(pair.am)


@pytest.fixture
def released(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Release]:
    """Ours for 2023 and 2024 (2024 released twice: a revision), and the partner's 2024."""
    folder = tmp_path_factory.getbasetemp() / "stats-populations"
    folder.mkdir(exist_ok=True)
    return {
        "2023": stored_release(pair.am, folder, OWN_DATASET, 2023, seed=2023),
        "2024 v1": stored_release(pair.am, folder, OWN_DATASET, 2024, seed=2024),
        "2024": stored_release(pair.am, folder, OWN_DATASET, 2024, seed=2025),
        "partner": stored_release(pair.am, folder, PARTNER_DATASET, 2024, origin=PARTNER),
    }


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(username).status_code == 303
    return browser


def _cells(html: str) -> dict[str, tuple[str, str]]:
    return {key: (status, shown) for key, status, shown in CELL.findall(html)}


def test_the_statistician_finds_the_releases_from_the_menu(
    app: FastAPI, released: dict[str, Release]
) -> None:
    sona = _signed_in(app, "sona")
    home = sona.get("/ui/")
    assert 'href="/ui/statistics"' in home.text
    listed = sona.get("/ui/statistics")
    assert listed.status_code == 200, listed.text
    own, received = listed.text.split('id="received-releases"')
    for version in (1, 2):
        assert f"/{OWN_DATASET}/2024?version={version}" in own
    assert f"/{OWN_DATASET}/2023?version=1" in own
    assert "Revised" in own and PARTNER_DATASET not in own
    assert f"/{PARTNER_DATASET}/2024?version=1" in received
    assert "2,623" in received  # the partner's published total


def test_roles_without_statistics_rights_see_neither_the_entry_nor_the_pages(
    app: FastAPI, released: dict[str, Release]
) -> None:
    audra = _signed_in(app, "audra")
    assert 'href="/ui/statistics"' not in audra.get("/ui/").text
    for url in ("/ui/statistics", PAGE):
        refused = audra.get(url)
        assert refused.status_code == 403, refused.text


def test_a_release_shows_every_blank_as_confidential_and_nothing_of_its_value(
    app: FastAPI, released: dict[str, Release]
) -> None:
    page = _signed_in(app, "sona").get(PAGE)
    assert page.status_code == 200, page.text
    release = released["2024"]
    cells = _cells(page.text.split('id="tables-title"')[1])
    assert len(cells) == len(release.observations)
    for observation in release.observations:
        status, shown = cells[".".join(observation.key)]
        if observation.value is None:
            assert status == "C", observation
            assert "⊘" in shown and not re.search(r"\d", shown), shown
        else:
            assert status == "F" and f"{observation.value:,}" in shown, (observation, shown)
    assert release.primary_count > 0  # the store keeps "A" ...
    assert not re.search(r'data-status="[AD]"', page.text)  # ... which no page shows
    assert "Version</dt><dd>2 of 2" in page.text.replace("\n", "")


def test_the_chart_draws_published_cells_as_bars_and_blanks_as_bands(
    app: FastAPI, released: dict[str, Release]
) -> None:
    sona = _signed_in(app, "sona")
    release = released["2024"]
    for dimension in ("region", "age"):
        page = sona.get(f"{PAGE}?by={dimension}")
        assert page.status_code == 200, page.text
        svg = page.text.split("<svg")[1].split("</svg>")[0]
        assert 'role="img"' in svg and "style=" not in svg and "<style" not in svg
        drawn = 0
        position = release.dimension_ids.index(dimension)
        for observation in release.observations:
            free = [n for n, code in enumerate(observation.key) if code != TOTAL]
            if free != [position]:
                continue
            code = observation.key[position]
            blank = observation.value is None
            assert (f'id="breakdown-blank-{code}"' in svg) == blank, code
            assert (f'id="breakdown-bar-{code}"' in svg) == (not blank), code
            drawn += 1
        assert drawn > 1
        table = page.text.split('id="breakdown"')[1].split("</table>")[0]
        assert table.count("<tr>") == drawn + 1  # the chart's figures, as a table


def test_the_year_before_is_compared_where_it_is_stored(
    app: FastAPI, released: dict[str, Release]
) -> None:
    sona = _signed_in(app, "sona")
    page = sona.get(PAGE + "?version=1")
    comparison = page.text.split('id="comparison"')[1].split("</table>")[0]
    before, after = released["2023"], released["2024 v1"]
    total = before.grand_total_key
    change = compare(before.value(total), after.value(total))
    assert change.percent is not None  # both totals are published in these populations
    row = comparison.split("</tr>")[1]  # the grand total's, after the heading's
    assert f"{change.previous:,}" in row and f"{change.current:,}" in row
    assert change.label() in row
    regions = [o for o in after.observations if o.key[0] != TOTAL
               and all(code == TOTAL for code in o.key[1:])]  # fmt: skip
    assert comparison.count("<tr>") == 1 + 1 + len(regions)
    years = page.text.split('id="years"')[1].split("</table>")[0]
    latest = released["2024"].value(total)
    for period, value in ((2023, before.value(total)), (2024, latest)):
        row = years.split(f'<th scope="row" translate="no">{period}</th>')[1].split("</tr>")[0]
        assert (f"{value:,}" in row) if value is not None else "⊘" in row, (period, row)
        assert (f'id="year-bar-{period}"' in page.text) == (value is not None)
    first = sona.get(f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2023")
    assert 'id="comparison"' not in first.text
    assert "nothing to compare with" in first.text


def _sent(pair: Pair) -> list[OutboxMessage]:
    with pair.am.unit_of_work() as uow:
        rows = list(uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.type == "statistical-information")
        ))  # fmt: skip
        uow.session.expunge_all()
        return rows


def _decisions(pair: Pair) -> list[dict[str, object]]:
    with pair.am.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).where(AuditLeafRow.kind == "decision"))
        return [json.loads(d) for d in data]


def test_the_statistician_sends_a_version_to_the_partner_audited(
    app: FastAPI, pair: Pair, released: dict[str, Release]
) -> None:
    sona = _signed_in(app, "sona")
    page = sona.get(PAGE + "?version=1")
    assert f'hx-post="{PAGE}/send"' in page.text
    sent = sona.post(f"{PAGE}/send", htmx=True, form={"recipient": "kz-mlsp", "version": "1"})
    assert sent.status_code == 200, sent.text
    [message] = _sent(pair)
    assert (message.sender, message.recipient) == ("am-mcs", "kz-mlsp")
    assert json.loads(message.body)["release"]["version"] == 1
    assert message.message_id in sent.text
    assert any(
        leaf["actor"] == "officer:sona"
        and str(leaf["reference"]).endswith(f"release-{OWN_DATASET}-2024-v1:sent-to:kz-mlsp")
        for leaf in _decisions(pair)
    )
    listed = sona.get("/ui/statistics").text.split('id="received-releases"')[0]
    assert "Waiting to be sent" in listed
    assert message.message_id in sona.get(PAGE + "?version=1").text


def test_sending_is_refused_without_the_release_right_or_for_a_partner_release(
    app: FastAPI, pair: Pair, released: dict[str, Release]
) -> None:
    anna = _signed_in(app, "anna")
    page = anna.get(PAGE)
    assert page.status_code == 200 and "/send" not in page.text  # reads, may not send
    refused = anna.post(f"{PAGE}/send", htmx=True, form={"recipient": "kz-mlsp"})
    assert refused.status_code == 403, refused.text
    sona = _signed_in(app, "sona")
    partner = f"/ui/statistics/{AGREEMENT}/{PARTNER_DATASET}/2024"
    assert "/send" not in sona.get(partner).text
    again = sona.post(f"{partner}/send", htmx=True, form={"recipient": "kz-mia"})
    assert again.status_code == 403, again.text
    inside = sona.post(f"{PAGE}/send", htmx=True, form={"recipient": "am-police"})
    assert inside.status_code >= 400, inside.text  # not a partner: the gate refuses
    assert _sent(pair) == []


def test_what_the_pages_do_not_have_is_a_page_saying_so(
    app: FastAPI, released: dict[str, Release]
) -> None:
    sona = _signed_in(app, "sona")
    assert sona.get(f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2019").status_code == 404
    assert sona.get(f"/ui/statistics/{AGREEMENT}/no-such/2024").status_code == 404
    assert sona.get(f"/ui/statistics/no-such/{OWN_DATASET}/2024").status_code == 404
    assert sona.get(f"{PAGE}?version=9").status_code == 404
    bad = sona.get(f"{PAGE}?by=colour")
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


def test_no_text_of_the_statistics_pages_escapes_translation(
    app: FastAPI, released: dict[str, Release], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pseudo-locale check of `test_ui_pseudo_locale`, on these pages: codes and titles
    the agreement gives in English are marked as such, every other text is translated."""
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    try:
        sona = _signed_in(app, "sona")
        pages = {
            "list": sona.get("/ui/statistics"),
            "release": sona.get(PAGE),
            "release, by age": sona.get(PAGE + "?version=1&by=age"),
            "first period": sona.get(f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2023"),
            "partner's": sona.get(f"/ui/statistics/{AGREEMENT}/{PARTNER_DATASET}/2024"),
            "sent": sona.post(f"{PAGE}/send", htmx=True, form={"recipient": "kz-mlsp"}),
        }
        for name, response in pages.items():
            assert response.status_code == 200, (name, response.text)
            assert "⟦" in response.text, f"{name}: the pseudo-locale is not in use"
            assert untranslated(response.text) == [], name
    finally:
        rendering.environment.cache_clear()
