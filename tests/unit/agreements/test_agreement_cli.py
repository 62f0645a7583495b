"""`migrex agreement validate|show`, mounted the way the root CLI mounts it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from migrex.agreements.cli import app
from migrex.errors import AgreementInvalid

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = AGREEMENTS / "kz-am-2024.toml"
KZ_KG = AGREEMENTS / "kz-kg-example.toml"

root = typer.Typer()
root.add_typer(app, name="agreement")
# Wide enough that Rich keeps every table cell on one line, so lines can be inspected.
runner = CliRunner(env={"COLUMNS": "400"})


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    text = KZ_AM.read_text(encoding="utf-8")
    good = 'receivers = ["kz-mia", "am-police", "am-mcs"]'
    assert text.count(good) == 1
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(good, good.replace("am-police", "am-polize")), encoding="utf-8")
    return path


def test_validate_passes_the_shipped_files() -> None:
    result = runner.invoke(root, ["agreement", "validate", str(KZ_AM), str(KZ_KG)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        f"OK {KZ_AM}: kz-am-2024 version 1.0.0",
        f"OK {KZ_KG}: kz-kg-example version 0.1.0 (hypothetical example)",
    ]
    assert result.stderr == ""


def test_validate_names_the_broken_key(broken_copy: Path) -> None:
    result = runner.invoke(root, ["agreement", "validate", str(KZ_AM), str(broken_copy)])
    assert result.exit_code == AgreementInvalid.exit_code
    assert f"OK {KZ_AM}" in result.stdout
    assert "categories.violations.receivers[1]: unknown authority 'am-polize'" in result.stderr
    assert str(broken_copy) in result.stderr


def test_validate_reports_a_toml_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "kz-am-2024"\nversion = \n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == AgreementInvalid.exit_code
    assert "line 2, column 11: TOML syntax" in result.stderr


def test_validate_rejects_two_files_with_one_id() -> None:
    result = runner.invoke(app, ["validate", str(KZ_AM), str(KZ_AM)])
    assert result.exit_code == AgreementInvalid.exit_code
    assert f"{KZ_AM}:id: agreement id 'kz-am-2024' is also used by {KZ_AM}" in result.stderr


def test_validate_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere.toml")])
    assert result.exit_code == AgreementInvalid.exit_code
    assert "cannot read the file" in result.stderr


def test_show_displays_every_section_and_marks_configuration() -> None:
    result = runner.invoke(root, ["agreement", "show", str(KZ_AM)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "kz-mia",
        "kz-mlsp",
        "am-police",
        "am-mcs",
        "Ministry of Labour and Social Protection of the Population of the Republic of Kazakhstan",
        "Қазақстан Республикасының Ішкі істер министрлігі",
        "Հայաստանի Հանրապետության ոստիկանություն",
        "Yerevan",
        "Mazhilis",
        "combat-dual-citizenship",
        "citizenship-check",
        "national-legislation",
        "Article 11",
        "2,623",
        "2,134",
    ):
        assert text in out, text
    lines = out.splitlines()

    def line_with(*parts: str) -> str:
        return next(row for row in lines if all(p in row for p in parts))

    assert "(config)" in line_with("persons-present", "30 days")  # the deadlines row
    assert "(config)" in line_with("statistics disclosure threshold")
    assert "(config)" in line_with("retention of received personal data")
    assert "(config)" in line_with("security", "Article 7")
    assert "(config)" not in line_with("governing article")
    assert "(config)" not in line_with("requests only over protected channels")
    assert "(config)" not in line_with("am-citizens-working-in-kz-2024")
    assert "HYPOTHETICAL" not in out


def test_show_flags_a_hypothetical_agreement() -> None:
    result = runner.invoke(app, ["show", str(KZ_KG)])
    assert result.exit_code == 0, result.output
    assert "HYPOTHETICAL EXAMPLE, not a real agreement" in result.stdout
    assert "kg-migration" in result.stdout


def test_show_refuses_a_broken_file(broken_copy: Path) -> None:
    result = runner.invoke(app, ["show", str(broken_copy)])
    assert result.exit_code == AgreementInvalid.exit_code
    assert "categories.violations.receivers[1]" in result.stderr
    assert result.stdout == ""


def test_without_arguments_it_prints_help() -> None:
    result = runner.invoke(app, [])
    assert "validate" in result.output
    assert "show" in result.output
