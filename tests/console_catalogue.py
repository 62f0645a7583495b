"""The messages the console's templates and code mark for translation, extracted as
`pybabel extract` would: what every catalogue must translate."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from migrex.ui import i18n

UI = Path(i18n.__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "true",
        "lstrip_blocks": "true",
    }
}


def extracted() -> Catalog:
    """Every message marked in the console's templates and code."""
    catalogue = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        UI, METHODS, OPTIONS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue
