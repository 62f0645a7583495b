"""`migrex channels` over the node's registers, as the named analyst: run keeps the leads,
list shows them without members, show prints a card of record ids, open and dismiss decide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from casework_scenes import token
from channel_scenes import ANALYST_ROLES, import_am, synthetic_registers
from migrex.cli import app
from nodes import Pair


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


def _cli(pair: Pair, analyst: str, *argv: str) -> Any:
    config = str(pair.am.settings.data_dir.parent / "node.toml")
    env = {"COLUMNS": "200", "MIGREX_TOKEN": analyst}
    return CliRunner(env=env).invoke(app, ["--config", config, "channels", *argv])


def test_the_analyst_runs_lists_shows_and_decides(pair: Pair, registers: Path) -> None:
    import_am(pair.am, registers)
    analyst = token(pair.am, "ani", ANALYST_ROLES)
    ran = _cli(pair, analyst, "run", "--json")
    assert ran.exit_code == 0, ran.output
    stored = json.loads(ran.stdout.strip().splitlines()[-1])
    assert stored["persons"] == 2_500 and stored["leads"][0] == f"R{stored['run']}-L0001"
    listed = json.loads(_cli(pair, analyst, "list", "--json").stdout)
    assert [line["id"] for line in listed] == stored["leads"]
    assert all("record_id" not in json.dumps(line) for line in listed)
    first, second = stored["leads"][:2]
    shown = _cli(pair, analyst, "show", first, "--json")
    assert shown.exit_code == 0, shown.output
    card = json.loads(shown.stdout)
    assert card["members"] and card["edges"] and card["request_to"] == "kz-am-2024/kz-mia"
    assert len(card["request_members"]) == sum(m["violator"] for m in card["members"])
    opened = _cli(pair, analyst, "open", first, "--to", "kz-am-2024/kz-mia")
    assert opened.exit_code == 0 and f"lead {first} opened as case" in opened.output
    dismissed = _cli(pair, analyst, "dismiss", second, "--reason", "a school group")
    assert dismissed.exit_code == 0, dismissed.output
    states = {line["id"]: line["state"] for line in
              json.loads(_cli(pair, analyst, "list", "--json").stdout)}  # fmt: skip
    assert (states[first], states[second]) == ("opened", "dismissed")
    again = _cli(pair, analyst, "dismiss", first, "--reason", "changed my mind")
    assert again.exit_code != 0 and "Traceback" not in again.output
