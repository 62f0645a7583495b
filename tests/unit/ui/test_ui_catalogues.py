"""The console's four catalogues are complete: every message the templates and the console's
code mark for translation has a translation in Kazakh, Russian, Armenian and English (every
plural form the language's CLDR rule has), and no catalogue keeps a message nothing uses.

After changing a template, `MIGREX_WRITE_CATALOGUES=1 pytest tests/unit/ui/test_ui_catalogues.py`
adds the new messages (untranslated, so the test then fails until they are translated) and
drops the unused ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from console_catalogue import extracted
from migrex.ui import i18n


def _path(locale: str) -> Path:
    return i18n.CATALOGUES / locale / "LC_MESSAGES" / "messages.po"


def _read(locale: str) -> Catalog:
    with _path(locale).open("rb") as source:
        return read_po(source, locale=locale)


def _ids(catalogue: Catalog) -> set[object]:
    return {message.id for message in catalogue if message.id}


if os.environ.get("MIGREX_WRITE_CATALOGUES"):  # pragma: no cover - a maintenance step

    @pytest.mark.parametrize("locale", i18n.LOCALES)
    def test_write_catalogue(locale: str) -> None:
        template = extracted()
        path = _path(locale)
        catalogue = _read(locale) if path.exists() else Catalog(locale=locale)
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalogue, width=100, omit_header=False, sort_output=True,
                     include_lineno=False)  # fmt: skip


def test_there_are_messages_to_translate() -> None:
    assert len(_ids(extracted())) > 20


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_holds_exactly_the_messages_in_use(locale: str) -> None:
    assert _ids(_read(locale)) == _ids(extracted())


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_translates_every_message_in_every_plural_form(locale: str) -> None:
    catalogue = _read(locale)
    assert catalogue.num_plurals == len(i18n.plural_categories(locale))
    missing = []
    for message in catalogue:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            assert len(forms) == catalogue.num_plurals, message.id
        if message.fuzzy or not all(forms):
            missing.append(message.id)
    assert missing == []


def test_russian_has_three_plural_forms() -> None:
    translations = i18n.translations("ru")
    forms = {translations.ngettext("You hold %(count)s role.", "You hold %(count)s roles.", n)
             for n in (1, 3, 5)}  # fmt: skip
    assert len(forms) == 3
    assert i18n.plural_categories("ru") == {"one", "few", "many"}
