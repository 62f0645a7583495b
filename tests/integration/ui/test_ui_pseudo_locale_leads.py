"""No text of the analyst's lead pages escapes translation: the pseudo-locale check of
`test_ui_pseudo_locale`, on the queue, a card, a dismissed card and a refused dismissal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from test_ui_pseudo_locale import pseudo_translations, untranslated

from casework_scenes import officers_app
from channel_scenes import ANALYST_ROLES, import_am, stored_run, synthetic_registers
from console_client import Browser, add_console_officer
from migrex.ui import i18n, rendering
from nodes import Pair


@pytest.fixture
def app(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    import_am(pair.am, synthetic_registers(Path(tmp_path_factory.getbasetemp())))
    add_console_officer(pair.am, "ani", ANALYST_ROLES)
    pseudo = pseudo_translations()
    monkeypatch.setattr(i18n, "translations", lambda _locale: pseudo)
    rendering.environment.cache_clear()
    yield officers_app(pair.am)
    rendering.environment.cache_clear()


def test_the_lead_pages_are_translated(app: FastAPI, pair: Pair) -> None:
    first, second = stored_run(pair.am).leads[:2]
    ani = Browser(app)
    ani.sign_in("ani")
    pages = {
        "queue": ani.get("/ui/leads"),
        "queue, empty": ani.get("/ui/leads?state=opened"),
        "card": ani.get(f"/ui/leads/{first}"),
        "dismissal refused": ani.post(f"/ui/leads/{first}/dismiss", htmx=True,
                                      form={"reason": " "}),
    }  # fmt: skip
    ani.post(f"/ui/leads/{second}/dismiss", htmx=True, form={"reason": "checked"})
    pages["card, dismissed"] = ani.get(f"/ui/leads/{second}")
    for name, response in pages.items():
        assert "⟦" in response.text, f"{name}: the pseudo-locale is not in use"
        assert untranslated(response.text) == [], name
