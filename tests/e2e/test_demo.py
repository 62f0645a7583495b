"""`make demo`'s scenario, end to end, at the smallest synthetic scale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_demo_plays_the_whole_scenario(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "migrex", "demo", "--workspace", str(tmp_path / "ws"),
         "--persons", "10000", "--agreements", str(ROOT / "agreements")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    for expected in (
        "2,623", "2,134", "-18.6 %",  # the report's figures, recomputed from the registries
        "delivered and receipted",
        "partially-answered", "violation-notice", "case at am-police: refused",
        "legal-basis-vague", "holds Armenian citizenship: yes", "case at kz-mia: answered",
        "co-signs", "answered at am-mcs, answered at kz-mia",
        "compares them", "−18.6 %", "year-over-year.svg",
        "sends it to am-police", "sends it to kz-mia", "intact",
        "verification of the tampered copy: caught",
    ):  # fmt: skip
        assert expected in text, expected
