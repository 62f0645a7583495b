"""`migrex linkage candidates|verify|dismiss` as Kazakhstan's officer runs them: the queue as
JSON, a verification request quoting the pair, a dismissal with a reason; each acts as the
officer whose token it is given."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from casework_scenes import token
from linkage_scenes import KZ_PERSON, run_with_candidates
from migrex.casework.tables import CaseRow
from migrex.cli import app
from migrex.linkage.candidate_rules import CandidateNotFound
from migrex.node import Node
from migrex.officers.model import NotAuthorised, Role
from nodes import Pair

runner = CliRunner()


def linkage(node: Node, holder: str, *argv: str) -> Result:
    config = str(node.settings.data_dir.parent / "node.toml")
    return runner.invoke(app, ["--config", config, "linkage", *argv],
                         env={"MIGREX_TOKEN": holder, "COLUMNS": "200"})  # fmt: skip


def test_the_queue_a_request_and_a_dismissal_from_the_command_line(
    pair: Pair, tmp_path: Path
) -> None:
    run = run_with_candidates(pair, tmp_path)
    dana = token(pair.kz, "dana", [(Role.OFFICER, "kz-mia")])
    listed = linkage(pair.kz, dana, "candidates", "--json")
    assert listed.exit_code == 0, listed.output
    lines = json.loads(listed.output)
    assert [(c["pair"], c["band"], c["state"]) for c in lines] == [
        ("P-0001", "strong", "open"),
        ("P-0002", "possible", "open"),
    ]
    assert {c["run_case"] for c in lines} == {run}
    assert KZ_PERSON["national_id"] not in listed.output

    auditor = token(pair.kz, "aud", [(Role.AUDITOR, "kz-mia")])
    refused = linkage(pair.kz, auditor, "verify", "P-0001")
    assert refused.exit_code == NotAuthorised.exit_code, refused.output
    missing = linkage(pair.kz, dana, "verify", "P-9999")
    assert missing.exit_code == CandidateNotFound.exit_code, missing.output

    asked = linkage(pair.kz, dana, "verify", "P-0001", "--run", run)
    assert asked.exit_code == 0, asked.output
    case_id = asked.output.split("case ", 1)[1].split()[0]
    with pair.kz.unit_of_work() as uow:
        case = uow.session.get_one(CaseRow, case_id)
    assert (case.category, case.opened_by) == ("citizenship-verification", "officer:dana")

    dismissed = linkage(pair.kz, dana, "dismiss", "P-0002", "--reason", "another birth place")
    assert dismissed.exit_code == 0, dismissed.output
    now_listed = json.loads(linkage(pair.kz, dana, "candidates", "--json").output)
    assert [(c["pair"], c["state"], c["case"]) for c in now_listed] == [
        ("P-0001", "requested", case_id),
        ("P-0002", "dismissed", None),
    ]
    only_open = json.loads(linkage(pair.kz, dana, "candidates", "--state", "open", "--json").output)
    assert only_open == []
