"""`migrex linkage send|collect` as officers of the two parties run them, against a linkage
unit running as its own process: each acts as the officer whose token it is given, with the
roles the console's runs page asks for too (`linkage.run_steps`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework_scenes import token
from linkage_unit_steps import Linked, accepted_run, linked_nodes
from migrex.cli import app
from migrex.linkage.tables import CandidateRow
from migrex.node import Node
from migrex.officers.model import NotAuthorised, Role

runner = CliRunner()


@pytest.fixture
def linked(tmp_path: Path, database_url: str) -> Iterator[Linked]:
    yield from linked_nodes(tmp_path, database_url)


def _config(node: Node) -> str:
    return str(node.settings.data_dir.parent / "node.toml")


def _candidates(node: Node, case_id: str) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(CandidateRow)
                                  .where(CandidateRow.run_case_id == case_id)) or 0  # fmt: skip


def test_both_parties_send_and_collect_from_the_command_line(linked: Linked) -> None:
    case_id = accepted_run(linked)
    parties = {"KZ": (linked.pair.kz, "kz-mia"), "AM": (linked.pair.am, "am-mcs")}
    tokens = {state: token(node, "judge", [(Role.REVIEWER, authority)])
              for state, (node, authority) in parties.items()}  # fmt: skip
    clerk = token(linked.pair.am, "clerk", [(Role.OFFICER, "am-mcs")])
    refused = runner.invoke(app, ["--config", _config(linked.pair.am), "linkage", "send",
                                  case_id], env={"MIGREX_TOKEN": clerk})  # fmt: skip
    assert refused.exit_code == NotAuthorised.exit_code, refused.output
    for state, (node, _) in parties.items():
        sent = runner.invoke(app, ["--config", _config(node), "linkage", "send", case_id],
                             env={"MIGREX_TOKEN": tokens[state]})  # fmt: skip
        assert sent.exit_code == 0 and "whole at the unit" in sent.output, sent.output
    for state, (node, _) in parties.items():
        argv = ["--config", _config(node), "linkage", "collect", case_id, "--wait", "120"]
        collected = runner.invoke(app, argv, env={"MIGREX_TOKEN": tokens[state]})
        assert collected.exit_code == 0 and "candidates filed" in collected.output, collected.output
        assert _candidates(node, case_id) > 0
