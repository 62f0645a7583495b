"""Cases near and past their deadline, as the officers' API and `migrex case` list them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from casework_scenes import INQUIRY, call, officers_app, token
from casework_steps import context, now
from migrex.casework.reminders import ReminderRule, reminder_cases
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseRow
from migrex.cli import app as cli
from migrex.officers.model import Role
from nodes import Pair

DAY = timedelta(days=1)
runner = CliRunner(env={"COLUMNS": "300"})


def case_with_clock(
    pair: Pair, *, opened_ago: timedelta, due_in: timedelta, authority: str = "am-mcs"
) -> str:
    """An open outgoing case of Armenia's, opened and due at the given times from now."""
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "t")
        case_id = open_request(uow, context(pair.am), command, now()).case_id
    with pair.am.unit_of_work() as uow:
        uow.session.execute(
            update(CaseRow).where(CaseRow.id == case_id)
            .values(opened_at=now() - opened_ago, due_at=now() + due_in, our_authority=authority)
        )  # fmt: skip
        uow.commit()
    return case_id


@pytest.fixture
def clocks(pair: Pair) -> dict[str, str]:
    return {
        "near": case_with_clock(pair, opened_ago=28 * DAY, due_in=2 * DAY),
        "far": case_with_clock(pair, opened_ago=DAY, due_in=20 * DAY),
        "late": case_with_clock(pair, opened_ago=31 * DAY, due_in=-DAY),
        "police": case_with_clock(pair, opened_ago=28 * DAY, due_in=DAY, authority="am-police"),
    }


def test_reminders_are_for_open_cases_near_their_deadline(
    pair: Pair, clocks: dict[str, str]
) -> None:
    def listed(rule: ReminderRule, authority: str | None = None) -> list[str]:
        with pair.am.unit_of_work() as uow:
            return [c.id for c in reminder_cases(uow, now(), rule, authority=authority)]

    assert listed(ReminderRule()) == [clocks["police"], clocks["near"]]
    assert listed(ReminderRule(), "am-mcs") == [clocks["near"]]
    assert listed(ReminderRule(within=30 * DAY), "am-mcs") == [clocks["near"], clocks["far"]]


def test_the_api_lists_reminders_with_the_time_left(pair: Pair, clocks: dict[str, str]) -> None:
    app = officers_app(pair.am)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    url = "/v1/authorities/am-mcs/reminders"
    [near] = call(app, "GET", url, reviewer).json()
    assert near["id"] == clocks["near"]
    assert near["time_left"].startswith(("P1DT23H", "P2D"))  # ISO 8601, a little under two days
    wider = call(app, "GET", f"{url}?within_days=30", reviewer).json()
    assert [c["id"] for c in wider] == [clocks["near"], clocks["far"]]
    assert call(app, "GET", f"{url}?within_days=0", reviewer).status_code == 422
    [late] = call(app, "GET", "/v1/authorities/am-mcs/overdue", reviewer).json()
    assert late["id"] == clocks["late"]


def test_the_cli_lists_reminders_and_overdue_cases(pair: Pair, clocks: dict[str, str]) -> None:
    config = ["--config", str(pair.am.settings.data_dir.parent / "node.toml"), "case"]
    officer = token(
        pair.am, "supervisor", [(Role.SUPERVISOR, "am-mcs"), (Role.SUPERVISOR, "am-police")]
    )
    runner = CliRunner(env={"COLUMNS": "300", "MIGREX_TOKEN": officer})
    reminders = runner.invoke(cli, [*config, "reminders", "--authority", "am-mcs"])
    assert reminders.exit_code == 0, reminders.output
    assert clocks["near"] in reminders.output
    assert "1d 23h" in reminders.output and "kz-mia" in reminders.output
    assert clocks["far"] not in reminders.output and clocks["police"] not in reminders.output
    wider = runner.invoke(cli, [*config, "reminders", "--within-days", "30"])
    assert all(clocks[c] in wider.output for c in ("near", "far", "police"))
    assert clocks["late"] not in wider.output
    overdue = runner.invoke(cli, [*config, "overdue", "--authority", "am-mcs"])
    assert overdue.exit_code == 0, overdue.output
    assert clocks["late"] in overdue.output and clocks["near"] not in overdue.output
    assert "1d 0h" in overdue.output
    refused = runner.invoke(cli, [*config, "reminders", "--within-days", "0"])
    assert refused.exit_code != 0


def test_the_cli_lists_cases_as_json_as_the_api_does(pair: Pair, clocks: dict[str, str]) -> None:
    config = ["--config", str(pair.am.settings.data_dir.parent / "node.toml"), "case"]
    officer = token(pair.am, "supervisor", [(Role.SUPERVISOR, "am-mcs")])
    runner = CliRunner(env={"MIGREX_TOKEN": officer})

    def listed(*args: str) -> list[dict[str, Any]]:
        result = runner.invoke(cli, [*config, *args, "--json"])
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    every = listed("list")
    assert [c["id"] for c in every] == [clocks["far"], clocks["near"], clocks["late"]]
    far = every[0]
    assert far["our_authority"] == "am-mcs" and far["partner_authority"] == "kz-mia"
    assert (far["agreement_id"], far["direction"], far["state"]) == (
        "kz-am-2024", "outgoing", "sent",
    )  # fmt: skip
    assert "T" in far["due_at"]
    assert abs(datetime.fromisoformat(far["due_at"]) - (now() + 20 * DAY)) < timedelta(minutes=1)
    officers_api = call(officers_app(pair.am), "GET", "/v1/authorities/am-mcs/cases", officer)
    assert every == sorted(officers_api.json(), key=lambda c: c["opened_at"], reverse=True)

    [late] = listed("overdue")
    assert late["id"] == clocks["late"]
    assert listed("list", "--overdue") == [late]
    [near] = listed("reminders")
    assert near["id"] == clocks["near"]
    assert near["time_left"].startswith(("P1DT23H", "P2D"))  # ISO 8601, a little under two days
