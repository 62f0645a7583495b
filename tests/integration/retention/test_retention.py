"""Received personal data is sealed under a key per record and erased by destroying the key
when the agreement's retention period ends; the erasure is an audit-log entry."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casework_steps import context, deliver, now
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.log import leaf_data, position_of_message
from migrex.casework.bodies import body_text
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseMessageRow
from migrex.cli import app
from migrex.exchange.tables import InboxMessage
from migrex.retention.run import run_retention
from migrex.retention.sealing import SealBroken
from migrex.retention.service import Erased
from nodes import Pair

INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567",
                 "surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM"}],
    "requested_fields": ["surname_latin", "permit_type"],
}  # fmt: skip


def received(pair: Pair) -> tuple[str, CaseMessageRow]:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "officer:a"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.case_id == opened.case_id)
        ).one()
    return opened.case_id, row


def test_stored_copies_are_sealed_and_open_until_the_period_ends(pair: Pair) -> None:
    _case, row = received(pair)
    with pair.kz.unit_of_work() as uow:
        inbox = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.message_id == row.message_id)
        ).one()
        assert "HOVHANNISYAN" not in row.body + inbox.body + inbox.signed_message
        assert json.loads(body_text(uow, context(pair.kz), row))["persons"][0]["surname_latin"]
        # Before the period ends nothing is due.
        assert run_retention(uow, now() + timedelta(days=364)) == []


def test_after_the_period_the_data_is_gone_and_the_erasure_logged(pair: Pair) -> None:
    _case, row = received(pair)
    retention = pair.kz.agreements["kz-am-2024"].data_protection.retention
    with pair.kz.unit_of_work() as uow:
        [erased] = run_retention(uow, now() + retention + timedelta(minutes=1))
    assert erased.record == row.message_id
    with pair.kz.unit_of_work() as uow:
        with pytest.raises(Erased, match="retention ended"):
            body_text(uow, context(pair.kz), row)
        kinds = [AuditLeaf.decode(leaf_data(uow.session, p)).kind
                 for p in position_of_message(uow.session, row.message_id)]  # fmt: skip
    assert kinds[-1] == LeafKind.ERASURE
    with pair.kz.unit_of_work() as uow:  # a second run finds nothing left to erase
        assert run_retention(uow, now() + retention + timedelta(days=2)) == []


def test_a_sealed_copy_moved_to_another_record_does_not_open(pair: Pair) -> None:
    _case, row = received(pair)
    _case2, other = received(pair)
    with pair.kz.unit_of_work() as uow:
        swapped = uow.session.get(CaseMessageRow, other.id)
        assert swapped is not None
        swapped.body = row.body
        with pytest.raises(SealBroken):
            body_text(uow, context(pair.kz), swapped)


def test_the_cli_runs_retention_as_of_a_given_time(pair: Pair) -> None:
    received(pair)
    config = str(Path(pair.kz.settings.data_dir).parent / "node.toml")
    later = (now() + timedelta(days=400)).isoformat()
    result = CliRunner().invoke(app, ["--config", config, "retention", "run", "--at", later])
    assert result.exit_code == 0, result.output
    assert "1 records erased" in result.output
    listed = CliRunner().invoke(app, ["--config", config, "retention", "list", "--erased"])
    assert listed.exit_code == 0 and "kz-am-2024" in listed.output


def test_the_cli_lists_sealed_records_as_json(pair: Pair) -> None:
    _case, first = received(pair)
    _case, second = received(pair)
    config = str(Path(pair.kz.settings.data_dir).parent / "node.toml")
    retention = pair.kz.agreements["kz-am-2024"].data_protection.retention

    def listed(*args: str) -> list[dict[str, object]]:
        result = CliRunner().invoke(app, ["--config", config, "retention", "list", *args])
        assert result.exit_code == 0, result.output
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    kept = listed("--json")
    assert [r["record"] for r in kept] == [first.message_id, second.message_id]  # soonest due
    for row in kept:
        assert (row["agreement_id"], row["our_authority"], row["erased_at"]) == (
            "kz-am-2024", "kz-mia", None,
        )  # fmt: skip
        sealed = datetime.fromisoformat(str(row["sealed_at"]))
        assert datetime.fromisoformat(str(row["expires_at"])) == sealed + retention
        assert "T" in str(row["sealed_at"])
    assert listed("--erased", "--json") == []
    with pair.kz.unit_of_work() as uow:
        run_retention(uow, now() + retention + timedelta(minutes=1))
    assert [r["record"] for r in listed("--erased", "--json")] == [
        first.message_id, second.message_id,
    ]  # fmt: skip
    assert listed("--json") == []
