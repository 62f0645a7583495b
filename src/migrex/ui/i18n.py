"""The console's languages: gettext catalogues, the officer's choice, and localised dates.

Each language is a catalogue `locale/<code>/LC_MESSAGES/messages.po`, read when the console
first renders a page (compiled in memory, so no generated `.mo` file is kept in the tree).
Plural forms are the CLDR rules Babel gives for the language: Russian has three. A template
marks what it shows of records (case numbers, names, dates) with `translate="no"`; every other
text goes through the catalogue, which the pseudo-locale test proves.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path
from typing import Final

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALES: Final = ("kk", "ru", "hy", "en")
DEFAULT: Final = "en"
# The name of each language in itself, for the language menu (never translated).
NATIVE_NAMES: Final = {"kk": "Қазақша", "ru": "Русский", "hy": "Հայերեն", "en": "English"}
COOKIE: Final = "migrex_lang"
CATALOGUES: Final = Path(__file__).parent / "locale"


@functools.cache
def translations(locale: str) -> Translations:
    """The compiled catalogue of `locale` (one of LOCALES)."""
    if locale not in LOCALES:
        raise ValueError(f"the console has no {locale!r} catalogue")
    path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalogue = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def chosen_locale(cookie: str | None, accept_language: str | None) -> str:
    """The officer's language: the one they chose (a cookie), else the browser's first
    preference the console has, else English."""
    if cookie in LOCALES:
        return cookie
    preferred = [part.split(";")[0].strip().replace("-", "_")
                 for part in (accept_language or "").split(",") if part.strip()]  # fmt: skip
    return negotiate_locale(preferred, LOCALES, sep="_") or DEFAULT


def long_date(value: datetime, locale: str) -> str:
    """A date as a reader of `locale` writes it out ("6 декабря 2026 г.")."""
    return format_date(value, format="long", locale=Locale.parse(locale))


def long_datetime(value: datetime, locale: str) -> str:
    return format_datetime(value, format="medium", locale=Locale.parse(locale), tzinfo=value.tzinfo)


def count(value: int, locale: str) -> str:
    """A whole number with the digit grouping of `locale` ("2 623" in Russian)."""
    return format_decimal(value, locale=Locale.parse(locale))


def iso_date(value: datetime) -> str:
    """Deadlines are ISO dates in every language: they are compared, not read aloud."""
    return value.date().isoformat()


def plural_categories(locale: str) -> frozenset[str]:
    """The CLDR plural categories whole numbers fall in, in `locale` (ru: one, few, many;
    the fourth, "other", is for fractions, which the console never counts)."""
    rule = Locale.parse(locale).plural_form
    return frozenset(rule(n) for n in range(1000))
