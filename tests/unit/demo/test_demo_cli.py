"""`migrex demo` started where it cannot play its scenario says so, and makes nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from migrex.cli import app
from migrex.errors import EXIT_CODES

AGREEMENTS = Path(__file__).parents[3] / "agreements"


def test_the_demo_without_its_agreement_says_where_it_looked_and_makes_nothing(
    tmp_path: Path,
) -> None:
    others = tmp_path / "agreements"
    others.mkdir()
    # An agreement that is not the scenario's: Kazakhstan with Kyrgyzstan.
    kz_kg = next(p for p in AGREEMENTS.glob("*.toml") if "kg" in p.name)
    (others / kz_kg.name).write_text(kz_kg.read_text(encoding="utf-8"), encoding="utf-8")
    workspace = tmp_path / "workspace"
    for folder in (others, tmp_path / "missing"):
        result = CliRunner(env={"COLUMNS": "200"}).invoke(
            app, ["demo", "--workspace", str(workspace), "--agreements", str(folder)]
        )
        assert result.exit_code == EXIT_CODES["ConfigurationError"], result.output
        assert "no file in" in result.output and str(folder) in result.output
        assert "kz-am-2024" in result.output and "bug" not in result.output
        assert not workspace.exists()
