"""The vendored scripts are exactly the published files NOTICE names: a changed byte means a
changed dependency, which goes through NOTICE and this test, never in silence."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]

VENDORED = {
    "src/migrex/ui/static/htmx.min.js": (
        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
    ),
    "tests/browser/vendor/axe.min.js": (
        "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
    ),
}
LICENCES = {
    "src/migrex/ui/static/htmx.min.js": "src/migrex/ui/static/htmx.LICENSE",
    "tests/browser/vendor/axe.min.js": "tests/browser/vendor/axe.LICENSE",
}


@pytest.mark.parametrize("path", sorted(VENDORED))
def test_vendored_file_is_the_published_one(path: str) -> None:
    digest = hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
    assert digest == VENDORED[path]


@pytest.mark.parametrize("path", sorted(VENDORED))
def test_vendored_file_has_its_licence_and_notice_entry(path: str) -> None:
    assert (ROOT / LICENCES[path]).stat().st_size > 0
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    assert path in notice and VENDORED[path] in notice


def test_htmx_is_a_2_0_release() -> None:
    # htmx 2.0.x: the console's attributes (hx-headers, hx-history) are written for it.
    text = (ROOT / "src/migrex/ui/static/htmx.min.js").read_text(encoding="utf-8")
    assert 'version:"2.0.' in text
