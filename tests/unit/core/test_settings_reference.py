"""docs/settings.md is generated from the Settings object: every setting is there, with its
environment variable, default and meaning, and the file is kept in step."""

from __future__ import annotations

import os
from pathlib import Path

from migrex.settings import Settings, settings_reference

REFERENCE = Path(__file__).parents[3] / "docs" / "settings.md"


def test_every_setting_says_what_it_is_for() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undescribed == []


def test_the_reference_is_up_to_date() -> None:
    written = settings_reference()
    if os.environ.get("MIGREX_WRITE_DOCS"):
        REFERENCE.write_text(written, encoding="utf-8")
    assert REFERENCE.read_text(encoding="utf-8") == written, (
        f"{REFERENCE} is out of date: MIGREX_WRITE_DOCS=1 pytest tests/unit/core/"
        "test_settings_reference.py"
    )
    for name in Settings.model_fields:
        assert f"| `{name}` | `MIGREX_{name.upper()}` |" in written
