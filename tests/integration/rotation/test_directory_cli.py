"""`migrex pki rotate` and `migrex directory show|propose|sign|install` against two nodes'
configurations: the hand-carried way, and what `show` reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from migrex.cli import app as cli_app
from migrex.exchange.tables import OutboxMessage
from migrex.node import Node
from nodes import Pair

AGREEMENT = "kz-am-2024"
runner = CliRunner(env={"COLUMNS": "200"})


def _cli(node: Node, *argv: str) -> Any:
    config = node.settings.data_dir.parent / "node.toml"
    return runner.invoke(cli_app, ["--config", str(config), *argv])


def _show(node: Node) -> dict[str, Any]:
    result = _cli(node, "directory", "show", "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_a_rotation_carried_by_hand(pair: Pair, tmp_path: Path) -> None:
    old = pair.kz_trust.keystore.current_signing("kz-mia")
    rotated = _cli(pair.kz, "pki", "rotate", "--authority", "kz-mia")
    assert rotated.exit_code == 0, rotated.output
    assert "version 2 proposed" in rotated.output and "sent to am-" in rotated.output
    with pair.kz.unit_of_work() as uow:
        assert uow.session.scalars(select(OutboxMessage.type)).all() == ["directory-update"]
    shown = _show(pair.kz)
    assert shown["agreements"][0]["proposed_version"] == 2
    states = {(k["authority"], k["kid"]): k["state"] for k in shown["keys"]}
    assert states[("kz-mia", old.kid)] == "active"
    assert sorted(s for (a, _), s in states.items() if a == "kz-mia") == [
        "active", "active", "pending", "pending"
    ]  # fmt: skip

    # The same version, carried by hand instead.
    proposal, signed = tmp_path / "proposal.json", tmp_path / "signed.json"
    again = _cli(pair.kz, "directory", "propose", "--agreement", AGREEMENT, "--no-send",
                 "--out", str(proposal))  # fmt: skip
    assert again.exit_code == 0, again.output
    countersigned = _cli(pair.am, "directory", "sign", str(proposal), "--out", str(signed))
    assert countersigned.exit_code == 0, countersigned.output
    assert _cli(pair.am, "directory", "install", str(signed)).exit_code == 0
    # Signing one's own proposal, or one already signed, is refused.
    assert (
        _cli(pair.kz, "directory", "sign", str(proposal), "--out", str(tmp_path / "x")).exit_code
        == 27
    )
    assert (
        _cli(pair.am, "directory", "sign", str(signed), "--out", str(tmp_path / "x")).exit_code
        == 27
    )

    installed = _cli(pair.kz, "directory", "install", str(signed))
    assert installed.exit_code == 0, installed.output
    assert len([line for line in installed.output.splitlines() if line.endswith(" activated")]) == 2
    shown = _show(pair.kz)
    assert shown["agreements"][0]["version"] == 2
    # ... and the version listing the old keys with their end is proposed at once.
    assert shown["agreements"][0]["proposed_version"] == 3
    states = {(k["authority"], k["kid"]): k["state"] for k in shown["keys"]}
    assert states[("kz-mia", old.kid)] == "verification only"
    assert pair.kz_trust.keystore.current_signing("kz-mia").kid != old.kid
    # Installing it again changes nothing, and says so; a second rotation may now start.
    again = _cli(pair.kz, "directory", "install", str(signed))
    assert again.exit_code == 0, again.output
    assert "version 2 was installed already: nothing changed" in again.output
    assert _show(pair.kz)["agreements"][0]["version"] == 2

    # An older version carried by mistake is refused, and the installed one stays.
    history = pair.kz.settings.data_dir.parent / "directory" / "history" / AGREEMENT
    older = _cli(pair.kz, "directory", "install", str(history / "00000001.json"))
    assert older.exit_code == 27, older.output
    assert "version 1 of kz-am-2024 is not the installed one" in older.output
    assert "(version 2 is installed): nothing installed" in older.output
    assert _show(pair.kz)["agreements"][0]["version"] == 2


def test_a_rotation_while_one_waits_is_refused(pair: Pair) -> None:
    assert _cli(pair.am, "pki", "rotate", "--authority", "am-mcs").exit_code == 0
    again = _cli(pair.am, "pki", "rotate", "--authority", "am-mcs")
    assert again.exit_code == 26, again.output
    assert "Traceback" not in again.output
