"""`migrex audit verify --with-partner` against a running partner node, over mutual TLS."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner
from witness_steps import leaves_of, rewrite_log

from migrex.audit import events
from migrex.audit import log as audit_log
from migrex.audit.tables import AuditCosignature, AuditPartnerHead
from migrex.bench.twonodes import TwoNodes, two_nodes
from migrex.cli import app

AGREEMENT_FILE = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[TwoNodes]:
    with two_nodes(tmp_path / "ws", AGREEMENT_FILE) as pair:
        yield pair


def count(pair: TwoNodes, state: str, table: type[Any]) -> int:
    with pair.nodes[state].unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(table)) or 0


def verify(pair: TwoNodes, *options: str) -> tuple[int, dict[str, Any]]:
    config = pair.workspace.node_config("KZ")
    result = CliRunner().invoke(app, ["--config", str(config), "audit", "verify", "--json",
                                      *options])  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.slow
def test_the_running_partner_is_asked_and_a_rewrite_is_caught(nodes: TwoNodes) -> None:
    # One entry in each log: from there the nodes witness each other on their own.
    for state, authority in (("KZ", "kz-mia"), ("AM", "am-police")):
        with nodes.nodes[state].unit_of_work() as uow:
            entry = events.decision(at=datetime.now(UTC), actor="officer:x", authority=authority,
                                    case_id="c-1", event="noted", purpose=None)  # fmt: skip
            audit_log.append_leaves(uow.session, [entry], datetime.now(UTC))
            uow.commit()
    deadline = time.monotonic() + 90
    while not (count(nodes, "KZ", AuditCosignature) and count(nodes, "AM", AuditPartnerHead)):
        assert time.monotonic() < deadline, "the nodes did not witness each other"
        time.sleep(0.5)

    code, report = verify(nodes, "--with-partner")
    assert code == 0 and report["ok"], report
    assert report["partner_heads"] >= 2  # the cosigned checkpoint and at least one receipt

    nodes.processes["KZ"].stop()
    leaves = leaves_of(nodes.nodes["KZ"])
    leaves[0] = dataclasses.replace(leaves[0], actor="somebody-else")
    rewrite_log(nodes.nodes["KZ"], leaves, resign=True)
    code, report = verify(nodes)
    assert code == 0 and report["ok"]  # alone, the rewritten log agrees with itself
    code, report = verify(nodes, "--with-partner")
    assert code == 10 and not report["ok"]
    assert {p["kind"] for p in report["problems"]} == {"fork"}
