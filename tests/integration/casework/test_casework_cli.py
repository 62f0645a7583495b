"""`migrex case` as an officer runs it against a node file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from casework_scenes import consultation_proposed
from casework_steps import state
from migrex.casework.lifecycle import CaseState
from migrex.cli import app
from migrex.errors import NotFound
from migrex.exchange.service import NotPermitted
from nodes import Pair

runner = CliRunner()
INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin", "permit_type"],
}


def config(pair: Pair) -> str:
    return str(pair.am.settings.data_dir.parent / "node.toml")


def test_open_from_a_file_then_list(pair: Pair, tmp_path: Path) -> None:
    body = tmp_path / "inquiry.json"
    body.write_text(json.dumps(INQUIRY), encoding="utf-8")
    args = ["--config", config(pair), "case", "open", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--type", "person-inquiry",
            "--body", f"@{body}"]  # fmt: skip
    opened = runner.invoke(app, args)
    assert opened.exit_code == 0, opened.output
    assert "opened" in opened.output
    listed = runner.invoke(app, ["--config", config(pair), "case", "list"])
    assert listed.exit_code == 0 and "person" in listed.output


def test_a_breach_exits_with_its_code(pair: Pair) -> None:
    bad = {**INQUIRY, "requested_fields": ["sex"], "purpose": "assistance"}
    args = ["--config", config(pair), "case", "open", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--type", "person-inquiry",
            "--body", json.dumps(bad)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == NotPermitted.exit_code
    assert "breaches the agreement" in result.output


def test_deciding_an_unknown_case_is_not_found(pair: Pair) -> None:
    for command in (["clarify", "nope", "--question", "why?"], ["verify-citizenship", "nope"],
                    ["refuse", "nope", "--ground", "security", "--explanation", "x"],
                    ["add-finding", "nope", "--finding", "x"], ["cosign-outcome", "nope"],
                    ["propose-outcome", "nope", "--outcome", "x"]):  # fmt: skip
        result = runner.invoke(app, ["--config", config(pair), "case", *command])
        assert result.exit_code == NotFound.exit_code, (command, result.output)
        assert "no case nope" in result.output


def test_a_consultation_from_the_command_line(pair: Pair) -> None:
    case_id = consultation_proposed(pair)
    case = ["--config", config(pair), "case"]
    finding = runner.invoke(app, [*case, "add-finding", case_id, "--finding", "Registered.",
                                  "--fields", '{"permit_type": "work"}'])  # fmt: skip
    assert finding.exit_code == 0, finding.output
    assert "finding" in finding.output and "queued" in finding.output
    not_json = runner.invoke(app, [*case, "add-finding", case_id, "--finding", "x",
                                   "--fields", "permit_type=work"])  # fmt: skip
    assert not_json.exit_code == 2 and "not JSON" in not_json.output
    proposed = runner.invoke(app, [*case, "propose-outcome", case_id, "--outcome", "Lawful."])
    assert proposed.exit_code == 0, proposed.output
    cosigned = runner.invoke(app, [*case, "cosign-outcome", case_id])
    assert cosigned.exit_code == 0, cosigned.output
    assert state(pair.am, case_id) == CaseState.ANSWERED
