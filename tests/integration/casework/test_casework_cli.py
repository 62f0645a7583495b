"""`migrex case` and `migrex message send` as an officer runs them against a node file: each
command acts as the officer whose token it is given, with the API's permission table."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework_scenes import consultation_proposed, incoming_in_review, token
from casework_steps import state
from migrex.casework.lifecycle import CaseState
from migrex.casework.messages import MessageInvalid
from migrex.casework.tables import CaseEventRow, CaseRow, DraftRow
from migrex.cli import app
from migrex.errors import NotFound
from migrex.exchange.service import NotPermitted
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import NotAuthenticated, NotAuthorised, Role
from migrex.officers.service import add_officer, issue_token
from nodes import AGREEMENT_FILE, Pair

runner = CliRunner()
INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin", "permit_type"],
}


def config(pair: Pair, state: str = "am") -> str:
    node = pair.am if state == "am" else pair.kz
    return str(node.settings.data_dir.parent / "node.toml")


@pytest.fixture
def officer(pair: Pair) -> str:
    """An Armenian officer and reviewer of am-mcs, as the token the commands are given."""
    return token(pair.am, "anna", [(Role.OFFICER, "am-mcs"), (Role.REVIEWER, "am-mcs")])


def count(pair: Pair, table: type) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(table)) or 0


def test_open_from_a_file_then_list(pair: Pair, tmp_path: Path, officer: str) -> None:
    body = tmp_path / "inquiry.json"
    body.write_text(json.dumps(INQUIRY), encoding="utf-8")
    args = ["--config", config(pair), "case", "open", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--type", "person-inquiry",
            "--body", f"@{body}", "--token", officer]  # fmt: skip
    opened = CliRunner(env={"COLUMNS": "80"}).invoke(app, args)
    assert opened.exit_code == 0, opened.output
    # One line, whole ids, even at 80 columns: they are copied into the next command.
    assert re.fullmatch(r"case \S{36} opened; message \S{36} queued\n", opened.output)
    listed = runner.invoke(app, ["--config", config(pair), "case", "list"],
                           env={"MIGREX_TOKEN": officer})  # fmt: skip
    assert listed.exit_code == 0 and "person" in listed.output
    with pair.am.unit_of_work() as uow:
        [case] = uow.session.scalars(select(CaseRow)).all()
    assert case.opened_by == "officer:anna"


def test_a_body_file_that_cannot_be_read_is_a_usage_error(
    pair: Pair, tmp_path: Path, officer: str
) -> None:
    args = ["--config", config(pair), "case", "open", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--type", "person-inquiry",
            "--body", f"@{tmp_path / 'missing.json'}", "--token", officer]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "cannot read" in result.output and "Traceback" not in result.output
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalars(select(CaseRow)).all() == []


def test_a_breach_exits_with_its_code(pair: Pair, officer: str) -> None:
    bad = {**INQUIRY, "requested_fields": ["sex"], "purpose": "assistance"}
    args = ["--config", config(pair), "case", "open", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--type", "person-inquiry",
            "--body", json.dumps(bad), "--token", officer]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == NotPermitted.exit_code
    assert "breaches the agreement" in result.output


def test_deciding_an_unknown_case_is_not_found(pair: Pair, officer: str) -> None:
    for command in (["clarify", "nope", "--question", "why?"], ["verify-citizenship", "nope"],
                    ["refuse", "nope", "--ground", "security", "--explanation", "x"],
                    ["add-finding", "nope", "--finding", "x"], ["cosign-outcome", "nope"],
                    ["propose-outcome", "nope", "--outcome", "x"]):  # fmt: skip
        result = runner.invoke(app, ["--config", config(pair), "case", *command,
                                     "--token", officer])  # fmt: skip
        assert result.exit_code == NotFound.exit_code, (command, result.output)
        assert "no case nope" in result.output


def test_a_consultation_from_the_command_line(pair: Pair, officer: str) -> None:
    case_id = consultation_proposed(pair)
    case = ["--config", config(pair), "case"]
    runner = CliRunner(env={"MIGREX_TOKEN": officer})
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


# ---------------------------------------------------------------- who acts (issue 10, item 9)

OPEN = ["case", "open", "--agreement", "kz-am-2024", "--from", "am-mcs", "--to", "kz-mia",
        "--type", "person-inquiry", "--body", json.dumps(INQUIRY)]  # fmt: skip


def test_without_a_token_nothing_is_done(pair: Pair, officer: str) -> None:
    case_id = incoming_in_review(pair, "person-inquiry")
    for command in (OPEN, ["message", "send", *OPEN[2:]], ["case", "list"],
                    ["case", "read", case_id], ["case", "refuse", case_id, "--ground", "security",
                    "--explanation", "x"], ["case", "draft", case_id]):  # fmt: skip
        result = runner.invoke(app, ["--config", config(pair), *command])
        assert result.exit_code == NotAuthenticated.exit_code, (command, result.output)
        assert "--token" in result.output and "Traceback" not in result.output
    bad = runner.invoke(app, ["--config", config(pair), *OPEN, "--token", "mgx_nope"])
    assert bad.exit_code == NotAuthenticated.exit_code
    assert bad.output.strip().count("\n") == 0  # one line
    assert count(pair, OutboxMessage) == 0 and count(pair, DisclosureRow) == 1  # only the arrival
    assert state(pair.am, case_id) == CaseState.IN_REVIEW


def test_an_officer_without_the_role_is_refused(pair: Pair) -> None:
    case_id = incoming_in_review(pair, "person-inquiry")
    auditor = token(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    elsewhere = token(pair.am, "pol", [(Role.REVIEWER, "am-police")])
    for who in (auditor, elsewhere):
        for command in (
            OPEN,
            ["case", "read", case_id],
            ["case", "refuse", case_id, "--ground", "security", "--explanation", "x"],
        ):
            result = runner.invoke(app, ["--config", config(pair), *command, "--token", who])
            assert result.exit_code == NotAuthorised.exit_code, (command, result.output)
            assert "may not" in result.output
    assert count(pair, OutboxMessage) == 0
    assert state(pair.am, case_id) == CaseState.IN_REVIEW


def test_the_officer_is_the_actor_of_what_the_command_does(pair: Pair, officer: str) -> None:
    case_id = incoming_in_review(pair, "person-inquiry")
    runner = CliRunner(env={"MIGREX_TOKEN": officer})
    read = runner.invoke(app, ["--config", config(pair), "case", "read", case_id])
    assert read.exit_code == 0, read.output
    refused = runner.invoke(app, ["--config", config(pair), "case", "refuse", case_id,
                                  "--ground", "security", "--explanation", "x"])  # fmt: skip
    assert refused.exit_code == 0, refused.output
    with pair.am.unit_of_work() as uow:
        readers = uow.session.scalars(
            select(DisclosureRow.actor).where(DisclosureRow.direction == "read")
        ).all()
        movers = uow.session.scalars(
            select(CaseEventRow.actor).where(CaseEventRow.case_id == case_id)
        ).all()
    assert set(readers) == {"officer:anna"}
    assert movers[-1] == "officer:anna" and state(pair.am, case_id) == CaseState.REFUSED


def test_the_generic_send_opens_a_case_and_takes_only_kinds_that_open_one(
    pair: Pair, officer: str
) -> None:
    send = ["--config", config(pair), "message", "send", "--agreement", "kz-am-2024",
            "--from", "am-mcs", "--to", "kz-mia", "--token", officer]  # fmt: skip
    undefined = runner.invoke(app, [*send, "--type", "notice", "--body", "{}"])
    assert undefined.exit_code == MessageInvalid.exit_code, undefined.output
    continuing = runner.invoke(app, [*send, "--type", "person-inquiry-reply",
                                     "--body", '{"results": []}'])  # fmt: skip
    assert continuing.exit_code == MessageInvalid.exit_code, continuing.output
    assert count(pair, OutboxMessage) == 0
    sent = runner.invoke(app, [*send, "--type", "person-inquiry", "--body", json.dumps(INQUIRY)])
    assert sent.exit_code == 0, sent.output
    assert count(pair, CaseRow) == 1 and count(pair, DisclosureRow) == 1  # screened, ledgered


def test_a_decision_in_steps_with_a_second_officer(pair: Pair, officer: str) -> None:
    case_id = incoming_in_review(pair, "person-inquiry")
    case = ["--config", config(pair), "case"]
    drafted = runner.invoke(app, [*case, "draft", case_id, "--ground", "security",
                                  "--explanation", "x", "--token", officer])  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    shown = runner.invoke(app, [*case, "preview", case_id, "--json", "--token", officer])
    assert json.loads(shown.output)["decision"] == "refusal"
    narrowed = runner.invoke(app, [*case, "narrow", case_id, "--field", "x", "--token", officer])
    assert narrowed.exit_code != 0 and "Traceback" not in narrowed.output  # a refusal has no fields
    discarded = runner.invoke(app, [*case, "discard", case_id, "--token", officer])
    assert discarded.exit_code == 0, discarded.output
    runner.invoke(app, [*case, "draft", case_id, "--ground", "security", "--explanation", "x",
                        "--token", officer])  # fmt: skip
    submitted = runner.invoke(app, [*case, "submit", case_id, "--token", officer])
    assert submitted.exit_code == 0, submitted.output
    with pair.am.unit_of_work() as uow:
        drafts = uow.session.scalars(select(DraftRow).order_by(DraftRow.id)).all()
        assert [(d.status, d.drafted_by) for d in drafts] == [
            ("discarded", "officer:anna"), ("sent", "officer:anna")]  # fmt: skip
    assert state(pair.am, case_id) == CaseState.REFUSED


def _second_officer_for_refusals(pair: Pair, tmp_path: Path) -> None:
    """Armenia's node file now names a copy of the agreement that wants a second officer."""
    node_file = Path(config(pair))
    original = AGREEMENT_FILE.resolve().as_posix()
    copy = tmp_path / "kz-am-2024.toml"
    copy.write_text(AGREEMENT_FILE.read_text(encoding="utf-8").replace(
        "[data_protection]\n", '[data_protection]\nsecond_officer = ["refusal"]\n'),
        encoding="utf-8")  # fmt: skip
    text = node_file.read_text(encoding="utf-8")
    assert original in text
    node_file.write_text(text.replace(original, copy.as_posix()), encoding="utf-8")


def test_approval_is_a_second_officer_signing_in_again(
    pair: Pair, officer: str, tmp_path: Path
) -> None:
    case_id = incoming_in_review(pair, "person-inquiry")
    _second_officer_for_refusals(pair, tmp_path)
    password = "a long passphrase for approvals"
    with pair.am.unit_of_work() as uow:
        add_officer(uow, username="boris", display_name="Boris", password=password,
                    roles=[(Role.REVIEWER, "am-mcs")], actor="test",
                    hosted_authorities=pair.am.settings.authorities)  # fmt: skip
    with pair.am.unit_of_work() as uow:
        boris = issue_token(uow, username="boris", name="cli", ttl=timedelta(days=1),
                            actor="test").token  # fmt: skip
    case = ["--config", config(pair), "case"]
    runner.invoke(app, [*case, "refuse", case_id, "--ground", "security", "--explanation", "x",
                        "--token", officer])  # fmt: skip
    assert state(pair.am, case_id) == CaseState.IN_REVIEW  # waits for approval
    own = runner.invoke(app, [*case, "approve", case_id, "--token", officer], input="x\n")
    assert own.exit_code == NotAuthenticated.exit_code  # anna has no password: no fresh sign-in
    wrong = runner.invoke(app, [*case, "approve", case_id, "--token", boris], input="wrong\n")
    assert wrong.exit_code == NotAuthenticated.exit_code and count(pair, OutboxMessage) == 0
    approved = runner.invoke(app, [*case, "approve", case_id, "--token", boris],
                             input=f"{password}\n")  # fmt: skip
    assert approved.exit_code == 0, approved.output
    assert state(pair.am, case_id) == CaseState.REFUSED
    with pair.am.unit_of_work() as uow:
        [sent] = uow.session.scalars(select(DraftRow).where(DraftRow.status == "sent")).all()
    assert (sent.drafted_by, sent.approved_by) == ("officer:anna", "officer:boris")


def test_a_request_run_again_with_its_key_opens_nothing_more(pair: Pair, officer: str) -> None:
    """A script that retries `case open` after it lost the first answer (a timeout, a
    killed shell) gives the same key: one case, one message."""
    keyed = ["--config", config(pair), *OPEN, "--token", officer,
             "--request-key", "5e0c2a1b-7d3f-4e9a-8b6c-2f1e0d9c8b7a"]  # fmt: skip
    first = runner.invoke(app, keyed)
    again = runner.invoke(app, keyed)
    assert (first.exit_code, again.exit_code) == (0, 0), again.output
    [case_id] = re.findall(r"case (\S{36}) opened", first.output)
    assert f"case {case_id} was opened by this request key before; nothing sent" in again.output
    assert count(pair, CaseRow) == 1 and count(pair, OutboxMessage) == 1
    bad = runner.invoke(app, [*keyed[:-1], "not a key"])
    assert bad.exit_code == MessageInvalid.exit_code and "--request-key" in bad.output
    assert count(pair, CaseRow) == 1
