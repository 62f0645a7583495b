"""The guarantee matrix on every `migrex` command.

The commands are enumerated by walking the root command (`guarantee_paths.commands`, lazily
loaded groups included); `ROWS` gives each one a cell per guarantee. Commands that read or
change cases, registry-derived personal data, the ledger or disclosures act as a named officer
(G11 checked); administration commands need no officer and must be audited where they change
data (G5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from casework_scenes import incoming_in_review
from factories import person_present, write_csv
from guarantee_matrix import (
    APPROVER_PASSWORD,
    PLANTED,
    PLANTED_DOCUMENT,
    Check,
    NotApplicable,
    Pending,
    Row,
    Scene,
    cells,
    row,
    run_cell,
)
from guarantee_paths import Guarantee, commands
from migrex.audit.tables import AuditLeafRow
from migrex.exchange.delivery import Status
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import NotAuthenticated, NotAuthorised
from migrex.registry.columns import Kind

# The arguments each officer command runs with ({case}: an incoming case in review).
INQUIRY = json.dumps({"purpose": "legal-status-of-stay", "persons": [{"document_number": "X1"}],
                      "requested_fields": ["surname_latin"]})  # fmt: skip
OPEN = ["--agreement", "kz-am-2024", "--from", "am-mcs", "--to", "kz-mia",
        "--type", "person-inquiry", "--body", INQUIRY]  # fmt: skip
ARGS: dict[str, list[str]] = {
    "migrex case open": OPEN,
    "migrex message send": OPEN,
    "migrex case list": [],
    "migrex case overdue": [],
    "migrex case reminders": [],
    "migrex case read": ["{case}"],
    "migrex case show": ["{case}"],
    "migrex case review": ["{case}"],
    "migrex case draft": ["{case}"],
    "migrex case preview": ["{case}"],
    "migrex case narrow": ["{case}", "--field", "permit_type"],
    "migrex case submit": ["{case}"],
    "migrex case approve": ["{case}"],
    "migrex case discard": ["{case}"],
    "migrex case answer": ["{case}"],
    "migrex case verify-citizenship": ["{case}"],
    "migrex case refuse": ["{case}", "--ground", "security", "--explanation", "x"],
    "migrex case withdraw": ["{case}", "--reason", "x"],
    "migrex case clarify": ["{case}", "--question", "x"],
    "migrex case answer-clarification": ["{case}", "--answer", "x"],
    "migrex case add-finding": ["{case}", "--finding", "x"],
    "migrex case propose-outcome": ["{case}", "--outcome", "x"],
    "migrex case cosign-outcome": ["{case}"],
    "migrex subject report": ["--authority", "am-mcs", "--document", "AM1234567"],
    "migrex limits": ["--authority", "am-mcs"],
}
# Bad input for each: a case that does not exist, a body that is not JSON, an authority the
# node does not host, a number out of range.
BAD: dict[str, list[str]] = {
    **{name: ["no-such-case", *args[1:]] for name, args in ARGS.items() if args[:1] == ["{case}"]},
    "migrex case open": [*OPEN[:-1], '{"persons": [{"surname": "' + PLANTED + '"}'],
    "migrex message send": [*OPEN[:-1], '{"persons": [{"surname": "' + PLANTED + '"}'],
    "migrex case list": ["--authority", "nowhere"],
    "migrex case overdue": ["--authority", "nowhere"],
    "migrex case reminders": ["--within-days", "0"],
    "migrex subject report": ["--authority", "am-mcs"],
    "migrex limits": ["--authority", "nowhere"],
}


def _argv(scene: Scene, path: str, args: list[str]) -> list[str]:
    return [*path.split()[1:], *(a.replace("{case}", scene.case_in_review) for a in args)]


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def _clean_error(result: object, code: int | None = None) -> None:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code != 0, output  # type: ignore[attr-defined]
    if code is not None:
        assert result.exit_code == code, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and not isinstance(
        result.exception,  # type: ignore[attr-defined]
        Exception if not isinstance(result.exception, SystemExit) else (),  # type: ignore[attr-defined]
    ), output


# ---------------------------------------------------------------- checks


def acts_as_an_officer(scene: Scene, path: str) -> None:
    """G11: without a token the command is refused (NotAuthenticated's exit code); with the
    token of an officer whose roles do not allow it, refused (NotAuthorised's); neither
    changes a row of any table."""
    argv = _argv(scene, path, ARGS[path])
    before = scene.counts()
    nobody = scene.cli(*argv, stdin="x\n")
    _clean_error(nobody, NotAuthenticated.exit_code)
    assert "--token" in nobody.output
    auditor = scene.cli(*argv, token=scene.tokens["auditor"], stdin="x\n")
    _clean_error(auditor, NotAuthorised.exit_code)
    assert _changed(before, scene.counts()) == {}


def bad_input_is_a_clear_error(scene: Scene, path: str) -> None:
    """G10: bad input from an officer allowed to run the command is a short error and a
    non-zero exit, without a traceback, and changes nothing."""
    before = scene.counts()
    result = scene.cli(*_argv(scene, path, BAD[path]), token=scene.tokens["all"], stdin="x\n")
    _clean_error(result)
    assert len(result.output.strip().splitlines()) <= 6, result.output
    assert _changed(before, scene.counts()) == {}


def no_planted_person_in_errors(scene: Scene, path: str) -> None:
    """G8: a refused input naming a person does not give the name back."""
    result = scene.cli(*_argv(scene, path, BAD[path]), token=scene.tokens["all"])
    assert result.exit_code != 0
    assert PLANTED not in result.output and PLANTED_DOCUMENT not in result.output


def _recorded(scene: Scene) -> tuple[int, int]:
    with scene.node.unit_of_work() as uow:
        reads = uow.session.scalar(
            select(func.count()).select_from(DisclosureRow)
            .where(DisclosureRow.direction == "read", DisclosureRow.actor == "officer:every-role")
        )  # fmt: skip
        leaves = uow.session.scalar(select(func.count()).select_from(AuditLeafRow))
    return reads or 0, leaves or 0


def showing_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: a command that shows a person's data writes a ledger "read" row
    under the officer's name, or an audit leaf."""
    case_id = incoming_in_review(scene.pair)
    argv = [*path.split()[1:], case_id, *ARGS[path][1:]]
    if path.endswith(("preview", "narrow")):
        drafted = scene.cli("case", "draft", case_id, token=scene.tokens["all"])
        assert drafted.exit_code == 0, drafted.output
    before = _recorded(scene)
    result = scene.cli(*argv, token=scene.tokens["all"])
    assert result.exit_code == 0, result.output
    after = _recorded(scene)
    assert after[0 if ledger else 1] > before[0 if ledger else 1], (path, before, after)


def subject_report_is_audited(scene: Scene, path: str) -> None:
    """G5: a subject report shows what was disclosed about a person: it leaves a leaf."""
    before = _recorded(scene)[1]
    result = scene.cli(*_argv(scene, path, ARGS[path]), token=scene.tokens["all"])
    assert result.exit_code == 0 and "person-inquiry" in result.output, result.output
    assert _recorded(scene)[1] > before, "a subject report left no audit leaf"


def administration_is_audited(scene: Scene, path: str) -> None:
    """G5: an administration command that changes data leaves an audit leaf."""
    registry = write_csv(scene.root / "persons_present.csv", Kind.PERSONS_PRESENT,
                         [person_present(1)])  # fmt: skip
    with scene.node.unit_of_work() as uow:  # a message parked after its last try
        uow.session.execute(update(OutboxMessage).values(status=Status.PARKED))
        uow.commit()
    argv = {
        "migrex registry import": ["registry", "import", str(registry)],
        "migrex outbox retry": ["outbox", "retry", "--all"],
        "migrex user add": ["user", "add", "clerk", "--name", "Clerk", "--role", "officer@am-mcs"],
        "migrex user token": ["user", "token", "every-role", "--name", "matrix"],
        "migrex user revoke": ["user", "revoke", "1"],
        "migrex retention run": ["retention", "run", "--at",
                                 (datetime.now(UTC) + timedelta(days=4000)).isoformat()],
    }[path]  # fmt: skip
    # The registry factories write Kazakhstan's registers: that import runs at KZ's node.
    node = scene.pair.kz if path == "migrex registry import" else scene.node
    before = scene.counts(node)
    result = scene.cli(*argv, node=node)
    assert result.exit_code == 0, result.output
    after = scene.counts(node)
    assert after != before or path.endswith("retry"), f"{path} changed nothing to audit"
    assert after["audit_leaves"] > before["audit_leaves"], f"{path} left no audit leaf"


# ---------------------------------------------------------------- the table

_ = NotApplicable
AS_OFFICER, BAD_INPUT = Check(acts_as_an_officer), Check(bad_input_is_a_clear_error)
LEDGERED = Check(showing_is_recorded, (True,))
AUDITED = Check(showing_is_recorded, (False,))
OFFICER: Row = {
    Guarantee.G1: _("what it sends passes the outgoing gate, checked per message kind (G1)"),
    Guarantee.G2: _("what leaves is checked per message kind (G2): the command adds no field"),
    Guarantee.G3: _("onward transfer is checked per message kind (G3)"),
    Guarantee.G4: _("shows no person's data, or discloses it as a message checked per kind"),
    Guarantee.G5: _("its decision is audited by the same use case the API runs, checked per "
                    "message kind and on the routes (G5)"),
    Guarantee.G6: _("volume is counted when a request opens, checked per message kind (G6)"),
    Guarantee.G7: _("keeps no copy: erasure is the retention job's (jobs matrix, G7)"),
    Guarantee.G8: _("takes no free text that names a person: case ids and options only"),
    Guarantee.G9: _("only queues; delivery is the relay job's (jobs matrix, G9)"),
    Guarantee.G10: BAD_INPUT,
    Guarantee.G11: AS_OFFICER,
    Guarantee.G12: _("makes, changes and shows no statistics release"),
}  # fmt: skip
ADMIN_REASON = ("administration of the node's host: runs as whoever operates the node, "
                "recorded as cli:<user>; needs no officer (issue 10, item 9)")  # fmt: skip
ADMIN: Row = {
    **{g: _("administration: touches no case, no message and no person's data") for g in Guarantee},
    Guarantee.G11: _(ADMIN_REASON),
    Guarantee.G5: _("reads only: changes nothing to audit"),
    Guarantee.G10: _("a usage error is Click's (exit 2) before any work; the command reads only"),
}  # fmt: skip
OFFLINE: Row = {g: _("runs offline on generated or given files: no node data, no officer")
                 for g in Guarantee}  # fmt: skip
NOT_AUDITED = "changes the node's data but leaves no audit leaf (no leaf kind for administration)"


def _admin(**cells: object) -> dict[Guarantee, object]:
    return row(ADMIN, **cells)  # type: ignore[arg-type]


ROWS: dict[str, Row] = {
    # Casework and disclosures: a named officer, the API's permission table.
    **{name: row(OFFICER) for name in ARGS},
    "migrex case open": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex message send": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex case read": row(OFFICER, G4=LEDGERED, G5=AUDITED),
    "migrex case draft": row(OFFICER, G4=LEDGERED, G5=AUDITED),
    "migrex case narrow": row(OFFICER, G4=LEDGERED, G5=AUDITED),
    "migrex case preview": row(
        OFFICER,
        G4=LEDGERED,
        G5=AUDITED,
    ),
    "migrex subject report": row(
        OFFICER,
        G5=Check(subject_report_is_audited),
    ),
    "migrex case file": row(
        OFFICER,
        G11=_("the node clerk's filing job run by hand: administration, actor 'filing'"),
        G10=_("takes no input; what it files is checked per message kind (G10)"),
    ),
    # Administration: no officer; audited where it changes data.
    "migrex user add": _admin(G5=Check(administration_is_audited)),
    "migrex user token": _admin(G5=Check(administration_is_audited)),
    "migrex user revoke": _admin(G5=Check(administration_is_audited)),
    "migrex user list": _admin(),
    "migrex user tokens": _admin(),
    "migrex registry import": _admin(G5=Check(administration_is_audited)),
    "migrex registry summary": _admin(),
    "migrex db upgrade": _admin(G5=_("the schema itself: the audit log may not exist yet")),
    "migrex db check": _admin(),
    "migrex pki demo": _admin(G5=Pending("writes demo keys and directories; no audit leaf")),
    "migrex pki rotate": _admin(G5=Pending("rotates a key; no audit leaf")),
    "migrex pki show-directory": _admin(),
    "migrex agreement validate": row(OFFLINE),
    "migrex agreement show": row(OFFLINE),
    "migrex outbox list": _admin(G4=_("lists envelopes (parties, type, state), never bodies")),
    "migrex outbox retry": _admin(G5=Check(administration_is_audited)),
    "migrex inbox list": _admin(G4=_("lists envelopes (parties, type, state), never bodies")),
    "migrex retention run": _admin(G5=Check(administration_is_audited)),
    "migrex retention list": _admin(),
    "migrex serve": _admin(G9=_("runs the jobs checked in the jobs matrix (G9)")),
    "migrex relay": _admin(G9=_("the relay job, checked in the jobs matrix (G9)")),
    "migrex audit verify": _admin(),
    "migrex audit prove": _admin(),
    "migrex audit show": _admin(),
    "migrex audit checkpoint": _admin(G5=_("a checkpoint is itself the log's signed head")),
    "migrex witness round": _admin(G5=_("cosigning is logged as a checkpoint-cosigned leaf")),
    "migrex stats release": _admin(
        G12=Pending(
            "the interval attack on a release (issue 10, item 10) is the statistics "
            "work's; its test is to be named here"
        ),
        G5=Pending("the statistics work owns the release's audit"),
    ),
    "migrex stats send": _admin(
        G12=Pending("a release leaves only once protected (issue 10, item 10)"),
        G1=Pending(
            "sending a release as statistical-information: the kind's G1 cell checks "
            "the gate; the stats path is the statistics work's"
        ),
    ),
    "migrex stats export": _admin(G12=Pending("an export is a release leaving (item 10)")),
    "migrex stats list": _admin(),
    "migrex stats show": _admin(),
    "migrex stats compare": _admin(),
    "migrex stats chart": _admin(G12=Pending("a chart shows a release's cells (item 10)")),
    "migrex bench audit": row(OFFLINE),
    "migrex bench exchange": row(OFFLINE),
    "migrex bench stats": row(OFFLINE),
    "migrex synth": row(OFFLINE),
    "migrex demo": row(OFFLINE),
}
del APPROVER_PASSWORD


def test_every_command_has_a_row() -> None:
    assert sorted(commands()) == sorted(ROWS)


@pytest.mark.parametrize(("path", "guarantee"), cells(ROWS))
def test_command(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, ROWS, path, guarantee)
