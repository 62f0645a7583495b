"""No text of the linkage runs page escapes translation: the pseudo-locale check of
`test_ui_pseudo_locale` on the page in each state a run passes through (none, ours proposed,
a partner's to review, to decide, accepted), on what each step answers, and on a refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from test_ui_pseudo_locale import pseudo_translations, untranslated

from casework_scenes import officers_app
from console_client import Browser, add_console_officer
from linkage_scenes import proposed_run
from migrex.officers.model import Role
from migrex.ui import i18n, rendering
from nodes import Pair

RUNS = "/ui/linkage/runs"


@pytest.fixture
def app(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "both", [(Role.OFFICER, "am-mcs"), (Role.REVIEWER, "am-mcs")])
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    yield officers_app(pair.am)
    rendering.environment.cache_clear()


def _kz_proposes(pair: Pair) -> tuple[str, str]:
    """Kazakhstan's proposal, filed at Armenia: its case id and run id."""
    proposed = proposed_run(pair, "KZ")
    return proposed.case_id, proposed.run_id


def test_the_runs_page_and_its_answers_are_translated(app: FastAPI, pair: Pair) -> None:
    both = Browser(app)
    both.sign_in("both")
    pages = {"none": both.get(RUNS)}
    pages["proposed"] = both.post(RUNS, htmx=True, form={
        "agreement": "kz-am-2024", "proposer": "am-mcs", "partner": "kz-mia",
        "period_start": "2025-01-01", "period_end": "2025-12-31",
    })  # fmt: skip
    pages["period refused"] = both.post(RUNS, htmx=True, form={"agreement": "kz-am-2024"})
    accepted_case, accepted_run = _kz_proposes(pair)
    refused_case, refused_run = _kz_proposes(pair)
    pages["to review"] = both.get(RUNS)
    for case_id in (accepted_case, refused_case):
        assert both.post(f"/ui/cases/{case_id}/review", htmx=True).status_code == 204
    pages["to decide"] = both.get(RUNS)
    pages["accepted"] = both.post(f"{RUNS}/{accepted_case}/accept", htmx=True,
                                  form={"run": accepted_run})  # fmt: skip
    ground = next(iter(pair.am.agreements["kz-am-2024"].refusal_grounds))
    pages["refused"] = both.post(f"{RUNS}/{refused_case}/refuse", htmx=True,
                                 form={"run": refused_run, "ground": ground,
                                       "explanation": "not this year"})  # fmt: skip
    pages["to send and collect"] = both.get(RUNS)
    for name, response in pages.items():
        assert response.status_code in (200, 422), (name, response.text)
        assert "⟦" in response.text, f"{name}: the pseudo-locale is not in use"
        assert untranslated(response.text) == [], name
    assert f"{RUNS}/{accepted_case}/send" in pages["to send and collect"].text


@pytest.mark.parametrize(
    "context",
    [
        {"step": "sent", "complete": True, "records": 3},
        {"step": "sent", "complete": False, "records": 1},
        {"step": "not-ready"},
        {"step": "collected", "candidates": 2, "unresolved": 1},
        {"step": "refused", "waits": True},
        {"step": "proposed", "flags": ["period-long"]},
    ],
)
def test_every_answer_of_a_step_is_translated(
    monkeypatch: pytest.MonkeyPatch, context: dict[str, object]
) -> None:
    """What sending and collecting answer, which need a linkage unit to reach in a page."""
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    try:
        template = rendering.environment("en").get_template("ui/linkage_run_done.html")
        html = template.render(run_id="R-1", case_id="C-1", **context)
    finally:
        rendering.environment.cache_clear()
    assert "⟦" in html and untranslated(html) == []
