"""`migrex linkage propose|accept|runs` as officers of the two nodes run them: each acts as the
officer whose token it is given, with the API's permission table."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from casework_scenes import token
from casework_steps import deliver, state
from migrex.casework.lifecycle import CaseState
from migrex.casework.tables import CaseRow
from migrex.cli import app
from migrex.node import Node
from migrex.officers.model import NotAuthorised, Role
from nodes import Pair

runner = CliRunner()


def config(node: Node) -> str:
    return str(node.settings.data_dir.parent / "node.toml")


def test_propose_review_accept_and_list_from_the_command_line(pair: Pair) -> None:
    anna = token(pair.am, "anna", [(Role.OFFICER, "am-mcs")])
    bolat = token(pair.kz, "bolat", [(Role.REVIEWER, "kz-mia")])
    proposed = runner.invoke(app, [
        "--config", config(pair.am), "linkage", "propose", "--agreement", "kz-am-2024",
        "--from", "am-mcs", "--to", "kz-mia", "--period", "2025-01-01:2025-12-31",
        "--field", "surname", "--field", "given_name", "--field", "birth_date",
    ], env={"MIGREX_TOKEN": anna})  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    with pair.am.unit_of_work() as uow:
        [case] = uow.session.scalars(select(CaseRow)).all()
    assert case.opened_by == "officer:anna" and case.category == "record-linkage"
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    kz = ["--config", config(pair.kz)]
    # An auditor of the requested authority may not decide on the run.
    auditor = token(pair.kz, "auditor", [(Role.AUDITOR, "kz-mia")])
    refused = runner.invoke(app, [*kz, "linkage", "accept", case.id],
                            env={"MIGREX_TOKEN": auditor})  # fmt: skip
    assert refused.exit_code == NotAuthorised.exit_code, refused.output
    reviewed = runner.invoke(app, [*kz, "case", "review", case.id], env={"MIGREX_TOKEN": bolat})
    assert reviewed.exit_code == 0, reviewed.output
    accepted = runner.invoke(app, [*kz, "linkage", "accept", case.id],
                             env={"MIGREX_TOKEN": bolat})  # fmt: skip
    assert accepted.exit_code == 0 and "accepted" in accepted.output, accepted.output
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case.id) == CaseState.ANSWERED
    listed = runner.invoke(app, ["--config", config(pair.am), "linkage", "runs", "--json"],
                           env={"MIGREX_TOKEN": anna})  # fmt: skip
    assert listed.exit_code == 0, listed.output
    [run] = json.loads(listed.output)
    assert (run["case"], run["state"], run["direction"]) == (case.id, "answered", "outgoing")
    assert run["fields"] == ["surname", "given_name", "birth_date"]
    assert set(run["key_ids"]) == {"am-mcs", "kz-mia"}
