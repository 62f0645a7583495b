"""The guarantee matrix on every `migrex` command.

The commands are enumerated by walking the root command (`guarantee_paths.commands`, lazily
loaded groups included); `ROWS` gives each one a cell per guarantee. Commands that read or
change cases, registry-derived personal data, the ledger or disclosures act as a named officer
(G11 checked); administration commands need no officer and must be audited where they change
data (G5)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update

from casework_scenes import incoming_in_review
from factories import person_present, violation, write_csv
from guarantee_channels import (
    acts_as_an_analyst,
    bad_input_changes_nothing,
    card_is_ledgered,
    card_names_no_one,
    decision_is_audited,
    kept_leads_forget_departed,
)
from guarantee_linkage import (
    candidates_name_no_one,
    command_decision_is_audited,
    kept_candidates_forget_erased,
    reason_is_not_given_back,
)
from guarantee_matrix import (
    APPROVER_PASSWORD,
    PLANTED,
    PLANTED_DOCUMENT,
    Check,
    NotApplicable,
    Row,
    Scene,
    cells,
    row,
    run_cell,
)
from guarantee_paths import Guarantee, commands
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.casework.messages import SDMX_CSV, Attachment
from migrex.directory import DirectoryInvalid, sign_directory, write_signed_directory
from migrex.directory.updates import proposed_version
from migrex.envelope import new_message_id
from migrex.errors import ImportRejected, NotFound
from migrex.exchange.delivery import Status
from migrex.exchange.outbox import OutgoingMessage, claim, enqueue
from migrex.exchange.service import NotAwaitingOperator, NotPermitted, ReissueRefused
from migrex.exchange.tables import OutboxMessage
from migrex.exchange.trust import load_trust
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import NotAuthenticated, NotAuthorised
from migrex.registry.columns import Kind, column_names
from migrex.stats import sources
from migrex.stats.aggregate import count, dimensions_of
from migrex.stats.cube import TOTAL, CellKey
from migrex.stats.intervals import feasible_intervals, shortfalls
from migrex.stats.linked_design import LinkedTables
from migrex.stats.pattern import Problem
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.service import dataset_of, load
from migrex.stats.vintages import from_versions
from migrex.synth import generate, write_population

# The arguments each officer command runs with ({case}: an incoming case in review).
INQUIRY = json.dumps({"purpose": "legal-status-of-stay", "persons": [{"document_number": "X1"}],
                      "requested_fields": ["surname_latin"]})  # fmt: skip
OPEN = ["--agreement", "kz-am-2024", "--from", "am-mcs", "--to", "kz-mia",
        "--type", "person-inquiry", "--body", INQUIRY]  # fmt: skip
BAD_RUN = ["--field", "document_number", "--legal-basis", PLANTED]
PROPOSE_RUN = ["--agreement", "kz-am-2024", "--from", "am-mcs", "--to", "kz-mia",
               "--period", "2025-01-01:2025-12-31"]  # fmt: skip
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
    "migrex linkage propose": PROPOSE_RUN,
    "migrex linkage accept": ["{case}"],
    "migrex linkage runs": [],
    "migrex linkage send": ["{case}"],
    "migrex linkage collect": ["{case}"],
    "migrex linkage candidates": [],
    "migrex linkage verify": ["P-none"],
    "migrex linkage dismiss": ["P-none", "--reason", "x"],
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
    # A run on document numbers, which the agreement's linkage section does not name.
    "migrex linkage propose": [*PROPOSE_RUN, *BAD_RUN],
    "migrex linkage accept": ["no-such-case", "--remarks", PLANTED],
    "migrex linkage runs": ["--authority", "nowhere"],
    "migrex linkage send": ["no-such-case", "--register", PLANTED],
    "migrex linkage collect": ["no-such-case", "--wait", "-1"],
    "migrex linkage candidates": ["--state", "nowhere"],
    "migrex linkage verify": ["no-such-pair"],
    "migrex linkage dismiss": ["no-such-pair", "--reason", PLANTED],
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
        "migrex user disable": ["user", "disable", "leaver"],
        "migrex user set-password": ["user", "set-password", "leaver"],
        "migrex retention run": ["retention", "run", "--at",
                                 (datetime.now(UTC) + timedelta(days=4000)).isoformat()],
    }[path]  # fmt: skip
    # The registry factories write Kazakhstan's registers: that import runs at KZ's node.
    node = scene.pair.kz if path == "migrex registry import" else scene.node
    if "leaver" in argv:  # an officer of its own, so the scene's officers keep working
        scene.cli("user", "add", "leaver", "--name", "Leaver", "--role", "officer@am-mcs")
    before = scene.counts(node)
    stdin = "a long enough passphrase 42\n" if path.endswith("set-password") else None
    result = scene.cli(*argv, node=node, stdin=stdin)
    assert result.exit_code == 0, result.output
    after = scene.counts(node)
    assert after != before or path.endswith("retry"), f"{path} changed nothing to audit"
    assert after["audit_leaves"] > before["audit_leaves"], f"{path} left no audit leaf"


def backup_is_audited(scene: Scene, path: str) -> None:
    """G5: taking a backup, which copies every personal datum the node holds, is an
    administration leaf."""
    key = scene.root / "operator.key"
    if not key.exists():
        assert scene.cli("backup", "keygen", "--out", str(key)).exit_code == 0
    before = scene.counts()
    target = scene.root / f"node-{before['audit_leaves']}.backup"
    result = scene.cli("backup", "--to", str(target), "--recipient", f"{key}.pub")
    assert result.exit_code == 0, result.output
    assert scene.counts()["audit_leaves"] == before["audit_leaves"] + 1, f"{path} left no leaf"


def registry_refresh_is_audited(scene: Scene, path: str) -> None:
    """G5: a first import, then a snapshot refresh of the register, each leave a leaf."""
    administration_is_audited(scene, path)
    monthly = write_csv(scene.root / "persons_present.csv", Kind.PERSONS_PRESENT,
                        [person_present(2)])  # fmt: skip
    before = scene.counts(scene.pair.kz)
    result = scene.cli("registry", "import", str(monthly), "--mode", "snapshot",
                       "--max-removed", "100", node=scene.pair.kz)  # fmt: skip
    assert result.exit_code == 0, result.output
    after = scene.counts(scene.pair.kz)
    assert after["audit_leaves"] > before["audit_leaves"], "a snapshot refresh left no audit leaf"


# ---------------------------------------------------------------- statistics

# Armenia's node releases the workers dataset am-mcs produces, counted from registry files
# made by the synthetic population (`--parquet`), so the scene's database registers stay as
# the other checks expect them. Each seed is another population: released over an earlier
# one, it is a revision.
STATS_AGREEMENT, STATS_DATASET, STATS_PERIOD = "kz-am-2024", "kz-workers-in-am", 2024
DATASET = ["--dataset", STATS_DATASET, "--period", str(STATS_PERIOD)]
STATS_ARGS: dict[str, list[str]] = {
    "migrex stats release": [*DATASET, "--parquet", "{synth}"],
    "migrex stats send": [*DATASET, "--to", "kz-mlsp"],
    "migrex stats export": [*DATASET, "--format", "sdmx-csv", "--out", "{out}/export.csv"],
    "migrex stats list": [],
    "migrex stats show": DATASET,
    "migrex stats compare": [*DATASET[:2], "--versions", "1,1", *DATASET[2:]],
    "migrex stats chart": [*DATASET, "--dimension", "region", "--by", "sex", "--out", "{out}"],
}


def _synth(scene: Scene, seed: int) -> Path:
    """Armenia's registry files of the synthetic population `seed` (made once per scene)."""
    folder = scene.root / f"synth-{seed}"
    if not folder.exists():
        write_population(generate(10_000, seed), folder, "parquet")
    return folder / "AM"


def _linkage(scene: Scene, *argv: str) -> tuple[object, Path]:
    """`migrex linkage evaluate` of the synthetic population's citizens' registers, with
    `argv` in place of the files given by default; returns the result and the output path."""
    folder = _synth(scene, 2024).parent
    out = scene.root / "linkage-pairs.csv"
    out.unlink(missing_ok=True)
    files = {"--left": str(folder / "KZ" / "citizens.parquet"),
             "--right": str(folder / "AM" / "citizens.parquet")}  # fmt: skip
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    args = [a for option, value in (files | given).items() for a in (option, value)]
    return scene.cli("linkage", "evaluate", *args, "--out", str(out), "--json"), out


def unit_witness_bad_input(scene: Scene, path: str) -> None:
    """G10: an agreement the node has no linkage unit of, and a unit the directory does not
    list, are each one clear error; nothing changes. Witnessing a real unit, and refusing a
    forked or rolled-back one, is tests/integration/linkage/test_linkage_unit_witnessed.py."""
    before = scene.counts()
    for agreement in ("no-such-agreement", "kz-am-2024"):
        result = scene.cli("linkage", "witness-unit", agreement)
        _clean_error(result)
        assert len(result.output.strip().splitlines()) <= 6, result.output  # type: ignore[attr-defined]
    assert _changed(before, scene.counts()) == {}


def linkage_bad_input(scene: Scene, path: str) -> None:
    """G10: a register file without the contract's columns is refused with the file and the
    column named; no pairs file is written and the node is not touched."""
    bad = write_csv(scene.root / "not-citizens.csv", Kind.PERSONS_PRESENT, [])
    before = scene.counts()
    result, out = _linkage(scene, "--right", str(bad))
    _clean_error(result, ImportRejected.exit_code)
    output = result.output  # type: ignore[attr-defined]
    assert "not-citizens.csv" in output and "citizenship_basis" in output
    assert not out.exists()
    assert _changed(before, scene.counts()) == {}


def linkage_prints_no_person(scene: Scene, path: str) -> None:
    """G8: what the evaluation prints is counts, shares and seconds; the pairs (ids and
    scores) go to the file only. Run on registers that hold a planted surname."""
    folder = _synth(scene, 2024).parent
    table = pq.read_table(folder / "KZ" / "citizens.parquet")
    planted = table.set_column(1, "surname", pa.array([PLANTED.capitalize()] * table.num_rows))
    left = scene.root / "planted-citizens.parquet"
    pq.write_table(planted, left)
    result, out = _linkage(scene, "--left", str(left))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    figures = json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
    assert set(figures) >= {"matches", "compared_pairs", "seconds"}
    printed = result.output  # type: ignore[attr-defined]
    assert PLANTED not in printed.upper()
    assert not any(v in printed for v in planted.column("national_id").to_pylist()[:50])
    assert out.read_text(encoding="utf-8").splitlines()[0] == "left_id,right_id,score"


def _planted_citizens(scene: Scene) -> tuple[Path, pa.Table]:
    """Kazakhstan's citizens' register of population 2024 with every surname the planted one."""
    folder = _synth(scene, 2024).parent
    table = pq.read_table(folder / "KZ" / "citizens.parquet")
    planted = table.set_column(1, "surname", pa.array([PLANTED.capitalize()] * table.num_rows))
    path = scene.root / "planted-citizens.parquet"
    pq.write_table(planted, path)
    return path, planted


def attack_prints_no_person(scene: Scene, path: str) -> None:
    """G8: the attack harness prints shares re-identified, never a name, an id or a guess,
    though it reads a register that holds a planted surname."""
    population, planted = _planted_citizens(scene)
    result = scene.cli("linkage", "attack", "--population", str(population), "--size", "300",
                       "--json")  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    figures = json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
    assert set(figures) >= {"unhardened", "salted_by_date_and_sex", "reidentification_rate",
                            "encodings"}  # fmt: skip
    printed = result.output  # type: ignore[attr-defined]
    assert PLANTED not in printed.upper()
    assert not any(v in printed for v in planted.column("national_id").to_pylist()[:50])


def attack_bad_input(scene: Scene, path: str) -> None:
    """G10: a population file that is not a citizens' register is refused with the file and
    the column named, and the node is not touched."""
    bad = write_csv(scene.root / "not-citizens.csv", Kind.PERSONS_PRESENT, [])
    before = scene.counts()
    result = scene.cli("linkage", "attack", "--population", str(bad))
    _clean_error(result, ImportRejected.exit_code)
    output = result.output  # type: ignore[attr-defined]
    assert "not-citizens.csv" in output and "citizenship_basis" in output
    assert _changed(before, scene.counts()) == {}


def _release(scene: Scene, period: int, seed: int) -> object:
    """`migrex stats release` of the workers dataset for `period` from population `seed`,
    by the officer holding every role."""
    argv = ["stats", "release", "--dataset", STATS_DATASET, "--period", str(period),
            "--parquet", str(_synth(scene, seed))]  # fmt: skip
    result = scene.cli(*argv, token=scene.tokens["all"])
    if result.exit_code == 0:
        scene.extra.setdefault("stats_seed", {})[period] = seed
    return result


def _released(scene: Scene, period: int = STATS_PERIOD) -> None:
    """A release of `period` is stored (released through the command once if not)."""
    if period not in scene.extra.get("stats_seed", {}):
        result = _release(scene, period, seed=2024)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]


def _stats_argv(scene: Scene, path: str, args: list[str] | None = None) -> list[str]:
    _released(scene)
    out = scene.root / "stats-out"
    out.mkdir(exist_ok=True)
    filled = (a.replace("{synth}", str(_synth(scene, 2024))).replace("{out}", str(out))
              for a in (STATS_ARGS[path] if args is None else args))  # fmt: skip
    return [*path.split()[1:], *filled]


def statistics_act_as_an_officer(scene: Scene, path: str) -> None:
    """G11: a statistics command without a token is refused (NotAuthenticated), with an
    auditor's token (no statistics rights) refused (NotAuthorised); neither changes a row or
    writes a file; with a token allowed to, it runs."""
    argv = _stats_argv(scene, path)
    shutil.rmtree(scene.root / "stats-out")
    (scene.root / "stats-out").mkdir()
    before = scene.counts()
    nobody = scene.cli(*argv)
    _clean_error(nobody, NotAuthenticated.exit_code)
    assert "--token" in nobody.output
    auditor = scene.cli(*argv, token=scene.tokens["auditor"])
    _clean_error(auditor, NotAuthorised.exit_code)
    assert _changed(before, scene.counts()) == {}
    assert list((scene.root / "stats-out").iterdir()) == []
    allowed = (
        "supervisor" if path.rsplit(maxsplit=1)[-1] in {"release", "send", "export"} else "reviewer"
    )
    if path.endswith("release"):
        argv = _stats_argv(scene, path, ["--dataset", STATS_DATASET, "--period", "2025",
                                          "--parquet", "{synth}"])  # fmt: skip
    result = scene.cli(*argv, token=scene.tokens[allowed])
    assert result.exit_code == 0, result.output


def statistics_bad_input(scene: Scene, path: str) -> None:
    """G10: a dataset the agreement does not define is a short NotFound, nothing changed."""
    args = ["--dataset", "no-such-dataset"] if path.endswith("list") else [
        "--dataset", "no-such-dataset", *STATS_ARGS[path][2:]]  # fmt: skip
    argv = _stats_argv(scene, path, args)
    before = scene.counts()
    result = scene.cli(*argv, token=scene.tokens["all"])
    if path.endswith("list"):  # a filter that matches nothing: an empty list
        assert result.exit_code == 0 and STATS_DATASET not in result.output, result.output
    else:
        _clean_error(result, NotFound.exit_code)
        assert len(result.output.strip().splitlines()) <= 6, result.output
    assert _changed(before, scene.counts()) == {}


def _decisions(scene: Scene) -> list[AuditLeaf]:
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(
            select(AuditLeafRow.data).order_by(AuditLeafRow.position)
        ).all()  # fmt: skip
    return [leaf for leaf in map(AuditLeaf.decode, data) if leaf.kind is LeafKind.DECISION]


def release_is_audited(scene: Scene, path: str) -> None:
    """G5: a release and a revision stored by the command are each a decision leaf naming the
    officer, the producing authority and the version, written with the release."""
    before = len(_decisions(scene))
    for seed in (2030, 2031):  # the first release of 2026, then a revision of it
        result = _release(scene, 2026, seed)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    new = _decisions(scene)[before:]
    assert [(leaf.actor, leaf.authority, leaf.reference) for leaf in new] == [
        ("officer:every-role", "am-mcs", f"case:release-{STATS_DATASET}-2026-v1:released"),
        ("officer:every-role", "am-mcs", f"case:release-{STATS_DATASET}-2026-v2:revised"),
    ]


def send_is_audited(scene: Scene, path: str) -> None:
    """G5: a release sent is a decision leaf naming the version and the recipient, and the
    message it queued has the gate's leaf, in the same transaction as the outbox row."""
    argv = _stats_argv(scene, path)
    before = len(_decisions(scene))
    result = scene.cli(*argv, token=scene.tokens["supervisor"])
    assert result.exit_code == 0, result.output
    message_id = result.output.split("(message ")[1].split(")")[0]
    new = _decisions(scene)[before:]
    release = f"case:release-{STATS_DATASET}-{STATS_PERIOD}-v"
    assert any(
        (leaf.reference or "").startswith(release)
        and leaf.reference.endswith(":sent-to:kz-mlsp")  # type: ignore[union-attr]
        and leaf.actor == "officer:supervisor-only"
        for leaf in new
    ), new
    assert any(leaf.message_id == message_id for leaf in new), new


def send_passes_the_agreement(scene: Scene, path: str) -> None:
    """G1: a release goes only where the agreement lets statistical information go: to an
    authority of the node's own state it is refused, nothing queued; to the partner it is
    queued as statistical-information."""
    argv = _stats_argv(scene, path)
    before = scene.counts()
    inside = scene.cli(*argv[:-1], "am-police", token=scene.tokens["supervisor"])
    _clean_error(inside, NotPermitted.exit_code)
    assert _changed(before, scene.counts()) == {}
    result = scene.cli(*argv, token=scene.tokens["supervisor"])
    assert result.exit_code == 0, result.output
    message_id = result.output.split("(message ")[1].split(")")[0]
    with scene.node.unit_of_work() as uow:
        queued = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()  # fmt: skip
    assert (queued.type, queued.sender, queued.recipient, queued.agreement_id) == (
        "statistical-information",
        "am-mcs",
        "kz-mlsp",
        STATS_AGREEMENT,
    )


def _truth(scene: Scene, period: int) -> LinkedTables:
    """The true counts of the release of `period` now stored, from the registry files it
    was counted from, numbered as the release's linked tables."""
    dataset = dataset_of(scene.node.agreements[STATS_AGREEMENT], STATS_DATASET)
    folder = _synth(scene, scene.extra["stats_seed"][period])
    counts = count(sources.from_parquet(folder, dataset.population), dataset, period)
    return LinkedTables.from_tables(tuple(dimensions_of(dataset).values()), counts.tables)


def _sdmx_csv(scene: Scene, text: str) -> dict[CellKey, tuple[int | None, str]]:
    """Each observation of an SDMX-CSV payload as a receiver reads it: value and code."""
    dimensions = dimensions_of(dataset_of(scene.node.agreements[STATS_AGREEMENT], STATS_DATASET))
    found = {}
    for line in csv.DictReader(io.StringIO(text)):
        key = tuple(line[d.upper()] for d in dimensions)
        value = line["OBS_VALUE"]
        found[key] = (int(value) if value else None, line["CONF_STATUS"])
    return found


def assert_protected(
    scene: Scene, published: dict[CellKey, tuple[int | None, str]],
    earlier: Sequence[Sequence[Observation]] = (), period: int = STATS_PERIOD,
) -> None:  # fmt: skip
    """G12 on what a receiver holds: every blank carries "C" and nothing else tells blanks
    apart; the published counts are true; and the interval attack (every table's lines,
    whole numbers, the flags, every earlier version) narrows no blank below the agreement's
    protection interval."""
    agreement = scene.node.agreements[STATS_AGREEMENT]
    tables = _truth(scene, period)
    design, values = tables.design, tables.values
    assert set(published) == set(design.keys)
    blank = np.array([published[key][0] is None for key in design.keys])
    codes = [published[key][1] for key in design.keys]
    assert {c for c, b in zip(codes, blank, strict=True) if b} == {ConfStatus.CONFIDENTIAL.value}
    assert {c for c, b in zip(codes, blank, strict=True) if not b} == {ConfStatus.FREE.value}
    shown = np.array([published[key][0] or 0 for key in design.keys], dtype=np.int64)
    assert (shown[~blank] == values[~blank]).all(), "a published count is not the true count"
    knowledge, _ = from_versions(design.keys, values, earlier, agreement.disclosure_threshold)
    found = feasible_intervals(design.lines.cells, shown, blank, knowledge)
    needed = Problem(design.lines, values, blank, knowledge,
                     agreement.protection_interval).required(blank)  # fmt: skip
    short = shortfalls(found, values, needed)
    assert short == [], [(design.keys[c], int(values[c]), found[c]) for c in short]


def _published(scene: Scene, period: int, version: int | None = None) -> list[Observation]:
    with scene.node.unit_of_work() as uow:
        release = load(uow.session, scene.node.agreements[STATS_AGREEMENT], STATS_DATASET,
                       period, version=version)  # fmt: skip
    return list(release.published().observations)


def release_is_protected(scene: Scene, path: str) -> None:
    """G12: released through the command, then revised from other counts: what the latest
    version publishes, attacked with the earlier version in hand, keeps every blank's
    interval."""
    period = 2027
    for seed in (2040, 2041):
        result = _release(scene, period, seed)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    latest = {o.key: (o.value, str(o.status)) for o in _published(scene, period)}
    assert_protected(scene, latest, [_published(scene, period, 1)], period)


def export_is_protected(scene: Scene, path: str) -> None:
    """G12: the SDMX-CSV file the command writes, read as a receiver reads it."""
    argv = _stats_argv(scene, path)
    result = scene.cli(*argv, token=scene.tokens["supervisor"])
    assert result.exit_code == 0, result.output
    exported = (scene.root / "stats-out" / "export.csv").read_text(encoding="utf-8")
    assert_protected(scene, _sdmx_csv(scene, exported))


def sent_is_protected(scene: Scene, path: str) -> None:
    """G12: the statistical-information message the command queues carries its figures as an
    SDMX-CSV attachment in which every blank is "C", and which the attack does not narrow."""
    result = scene.cli(*_stats_argv(scene, path), token=scene.tokens["supervisor"])
    assert result.exit_code == 0, result.output
    message_id = result.output.split("(message ")[1].split(")")[0]
    with scene.node.unit_of_work() as uow:
        body = json.loads(uow.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.message_id == message_id)
        ).one())  # fmt: skip
    [attachment] = [Attachment.model_validate(a) for a in body["attachments"]
                    if a["media_type"] == SDMX_CSV]  # fmt: skip
    assert_protected(scene, _sdmx_csv(scene, attachment.data().decode("utf-8")))


def chart_shows_no_blank(scene: Scene, path: str) -> None:
    """G12: the chart draws each blank of the breakdown as a suppressed band with the one
    code, never as a bar, and each published cell as its bar."""
    result = scene.cli(*_stats_argv(scene, path), token=scene.tokens["reviewer"])
    assert result.exit_code == 0, result.output
    svg = next((scene.root / "stats-out").glob(f"{STATS_DATASET}-*-region.svg")).read_text()
    drawn = 0
    for observation in _published(scene, STATS_PERIOD):
        region, sex, *rest = observation.key
        if TOTAL in (region, sex) or any(code != TOTAL for code in rest):
            continue
        gid = f"{region}-{sex}"
        blank = observation.value is None
        assert (f'id="suppressed-{gid}"' in svg) == blank, gid
        assert (f'id="bar-{gid}"' in svg) == (not blank), gid
        drawn += 1
    assert drawn > 0
    assert "suppressed (A)" not in svg and "suppressed (D)" not in svg


def rotation_is_audited(scene: Scene, path: str) -> None:
    """G5: rotating a key with the node's configuration leaves one administration leaf per
    new key, naming the authority and the key id (a copy of the key folder, so the scene's
    node keeps its keys)."""
    keys = scene.root / "keys-rotated"
    shutil.rmtree(keys, ignore_errors=True)
    shutil.copytree(scene.node.settings.resolved_key_dir, keys)
    before = scene.counts()["audit_leaves"]
    result = scene.cli("pki", "rotate", "--key-dir", str(keys), "--authority", "am-mcs")
    assert result.exit_code == 0, result.output
    kids = [line.split(" key ")[1].split()[0] for line in result.output.splitlines()
            if " key " in line]  # fmt: skip
    assert len(kids) == 2, result.output
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(
            select(AuditLeafRow.data).order_by(AuditLeafRow.position).offset(before)
        ).all()  # fmt: skip
    leaves = [AuditLeaf.decode(d) for d in data]
    assert [(leaf.kind, leaf.reference) for leaf in leaves] == [
        (LeafKind.ADMINISTRATION, f"key-rotated-pending:am-mcs:{kid}") for kid in kids
    ]


# ---------------------------------------------------------------- messages stuck in the outbox


def _stuck(scene: Scene, case_id: str, *, agreement: str = "kz-am-2024") -> str:
    """A message of Armenia's to kz-mia the partner refused for good (expired), at the head
    of `case_id` or behind what is already queued there."""
    at = datetime.now(UTC)
    message_id = new_message_id(at)
    with scene.node.unit_of_work() as uow:
        row = enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement, sender="am-mcs", recipient="kz-mia",
            type="notice", body={"n": 1}, issued_at=at - timedelta(days=8),
            expires_at=at - timedelta(days=1), case_id=case_id,
        ), at)  # fmt: skip
        row.status, row.refusal, row.attempts = Status.REFUSED, "expired", 1
        uow.commit()
    return message_id


def _outbox_argv(path: str, message_id: str, reason: str = "sent by mistake") -> list[str]:
    return ["outbox", "reissue", message_id] if path.endswith("reissue") else [
        "outbox", "discard", message_id, "--reason", reason]  # fmt: skip


def _outbox_status(scene: Scene, message_id: str) -> str:
    with scene.node.unit_of_work() as uow:
        return uow.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.message_id == message_id)
        ).one()


def _claimable(scene: Scene) -> list[str]:
    """What a relay would claim now (in a transaction rolled back: nothing moves)."""
    with scene.node.unit_of_work() as uow:
        return [c.message_id for c in claim(uow.session, relay_id="matrix",
                                            now=datetime.now(UTC), limit=1000,
                                            lease=timedelta(seconds=1))]  # fmt: skip


def outbox_action_is_audited(scene: Scene, path: str) -> None:
    """G5: re-issuing or discarding a message is an administration leaf, in the same commit
    as the change; a discard also notes it on the message's case."""
    message_id = _stuck(scene, scene.outgoing_case)
    before = scene.counts()
    result = scene.cli(*_outbox_argv(path, message_id))
    assert result.exit_code == 0, result.output
    after = scene.counts()
    assert after["audit_leaves"] > before["audit_leaves"], f"{path} left no audit leaf"
    expected = Status.PENDING if path.endswith("reissue") else Status.DISCARDED
    assert _outbox_status(scene, message_id) == expected
    if path.endswith("discard"):
        assert after["casework_screening_note"] == before["casework_screening_note"] + 1


def discard_reason_stays_out_of_the_log(scene: Scene, path: str) -> None:
    """G8: the operator's reason may name a person; the audit log keeps only its hash (the
    text goes to the case, which is erased with it), and neither the command nor the outbox
    listing shows it."""
    message_id = _stuck(scene, scene.outgoing_case)
    result = scene.cli(*_outbox_argv(path, message_id, f"asked by {PLANTED} {PLANTED_DOCUMENT}"))
    assert result.exit_code == 0, result.output
    assert PLANTED not in result.output
    with scene.node.unit_of_work() as uow:
        logged = b"".join(uow.session.scalars(select(AuditLeafRow.data)))
    assert PLANTED.encode() not in logged and PLANTED_DOCUMENT.encode() not in logged
    listed = scene.cli("outbox", "list", "--json", "--limit", "100000").output
    assert message_id in listed and PLANTED not in listed


def operator_clears_a_blocked_case(scene: Scene, path: str) -> None:
    """G9: a refused head blocks its case, and is not claimed again; after the command the
    case moves: the head, sealed anew, is claimable (re-issue), or the next message is
    (discard)."""
    case = f"matrix-{path.rsplit(' ', 1)[-1]}"
    head = _stuck(scene, case)
    later = _stuck(scene, case)
    with scene.node.unit_of_work() as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.message_id == later)
                            .values(status=Status.PENDING, refusal=None, attempts=0,
                                    expires_at=datetime.now(UTC) + timedelta(days=1)))  # fmt: skip
        uow.commit()
    assert not {head, later} & set(_claimable(scene))
    assert scene.cli(*_outbox_argv(path, head)).exit_code == 0
    moving = head if path.endswith("reissue") else later
    assert moving in _claimable(scene)


def reissue_stays_within_the_agreement(scene: Scene, path: str) -> None:
    """G1: a new envelope is a new sending: under an agreement the node no longer has, the
    re-issue is refused (its own exit code) and nothing changes."""
    message_id = _stuck(scene, "matrix-g1", agreement="kz-am-1999")
    before = scene.counts()
    result = scene.cli(*_outbox_argv(path, message_id))
    _clean_error(result, ReissueRefused.exit_code)
    assert "kz-am-1999" in result.output
    assert _changed(before, scene.counts()) == {}
    assert _outbox_status(scene, message_id) == Status.REFUSED


def outbox_bad_input(scene: Scene, path: str) -> None:
    """G10: an unknown id, a delivered message, a blank reason: each a one-line error with
    its own exit code, and nothing changes."""
    before = scene.counts()
    unknown = scene.cli(*_outbox_argv(path, new_message_id()))
    _clean_error(unknown, NotFound.exit_code)
    delivered = _stuck(scene, "matrix-g10")
    with scene.node.unit_of_work() as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.message_id == delivered)
                            .values(status=Status.DELIVERED))  # fmt: skip
        uow.commit()
    middle = scene.counts()
    _clean_error(scene.cli(*_outbox_argv(path, delivered)), NotAwaitingOperator.exit_code)
    if path.endswith("discard"):
        _clean_error(scene.cli(*_outbox_argv(path, delivered, " ")), 2)
    assert _changed(before, middle) == {
        "exchange_outbox": (before["exchange_outbox"], before["exchange_outbox"] + 1)
    }
    assert _changed(middle, scene.counts()) == {}


def _next_version_signed_by_both(scene: Scene) -> Path:
    """The next version of Armenia's directory, the same keys, signed by both parties."""
    trust = load_trust(scene.node.settings, scene.node.agreements)
    current = trust.directories["kz-am-2024"]
    keys = {a: trust.keystore.all_keys(a) for a in ("am-mcs", "am-police")}
    signed = sign_directory(proposed_version(current, "AM", keys, datetime.now(UTC)), "AM",
                            trust.keystore.party_key("AM").key)  # fmt: skip
    signed = sign_directory(signed, "KZ", scene.pair.kz_trust.keystore.party_key("KZ").key)
    path = scene.root / f"directory-v{current.version + 1}.json"
    write_signed_directory(path, signed)
    return path


def directory_change_is_audited(scene: Scene, path: str) -> None:
    """G5: proposing or installing a directory version leaves its administration leaf."""
    before = scene.counts()
    version = load_trust(scene.node.settings, scene.node.agreements).directories[
        "kz-am-2024"].version + 1  # fmt: skip
    if path.endswith("propose"):
        result = scene.cli("directory", "propose", "--agreement", "kz-am-2024", "--no-send",
                           "--out", str(scene.root / "proposed.json"))  # fmt: skip
        action = "directory-proposed"
    else:
        result = scene.cli("directory", "install", str(_next_version_signed_by_both(scene)))
        action = "directory-installed"
    assert result.exit_code == 0, result.output
    after = scene.counts()
    assert after["exchange_outbox"] == before["exchange_outbox"], "--no-send sent a message"
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position)
                                   .offset(before["audit_leaves"])).all()  # fmt: skip
    references = [AuditLeaf.decode(d).reference for d in data]
    assert f"{action}:kz-am-2024:{version}" in references, references


def directory_bad_input(scene: Scene, path: str) -> None:
    """G10: an unknown agreement or a document that is no signed directory is a one-line
    error with its exit code, and nothing changes (not the installed directory either)."""
    garbage = scene.root / "not-a-directory.json"
    garbage.write_text(json.dumps({"payload": PLANTED, "signatures": []}), encoding="utf-8")
    argv, code = {
        "migrex directory propose": (["--agreement", "no-such-agreement"], NotFound.exit_code),
        "migrex directory sign": ([str(garbage), "--out", str(scene.root / "x.json")],
                                  DirectoryInvalid.exit_code),
        "migrex directory install": ([str(garbage)], DirectoryInvalid.exit_code),
    }[path]  # fmt: skip
    installed = scene.node.settings.directory_dir / "kz-am-2024.json"  # type: ignore[operator]
    document = installed.read_bytes()
    before = scene.counts()
    result = scene.cli(*path.split()[1:], *argv)
    _clean_error(result, code)
    assert PLANTED not in result.output
    assert scene.counts() == before and installed.read_bytes() == document


def security_log_names_no_person(scene: Scene, path: str) -> None:
    """G8: refusals carrying a planted name (a garbage batch, an envelope, a login under the
    name) are listed by reason, source and count; the name is in no entry, table or JSON."""
    garbage = json.dumps({"envelopes": [PLANTED, PLANTED_DOCUMENT]}).encode()
    scene.call("POST", "/v1/envelopes", None, raw=garbage, app=scene.door)
    scene.call("POST", "/v1/envelopes", None, raw=PLANTED.encode(), app=scene.door)
    scene.call("POST", "/v1/session", None, {"username": PLANTED, "password": PLANTED_DOCUMENT})
    assert scene.door.state.exchange.security_log.flush()
    listed = scene.cli("security-log", "list", "--json")
    assert listed.exit_code == 0, listed.output
    reasons = {entry["reason"] for entry in json.loads(listed.stdout)}
    assert {"malformed", "malformed-batch", "failed-login"} <= reasons, reasons
    table = scene.cli("security-log", "list", "--since", "1h")
    for output in (listed.output, table.output):
        assert PLANTED not in output and PLANTED_DOCUMENT not in output, output


# ---------------------------------------------------------------- channels


def _channel_registers(scene: Scene) -> Path:
    """Register files of twelve persons, all under the planted name and document, invited
    by one party to one flat within a week, most of them caught: a lead."""
    folder = scene.root / "channel-registers"
    if folder.exists():
        return folder
    folder.mkdir()
    people = [
        person_present(
            i,
            surname=PLANTED,
            surname_latin=PLANTED,
            document_number=PLANTED_DOCUMENT,
            inviting_party="990340000017",
            registration_address="Almaty, Abay 3, flat 9",
            entry_date=f"2024-03-{i + 1:02d}",
        )
        for i in range(12)
    ] + [person_present(100 + i, registration_address=f"Astana, Mira {i}") for i in range(400)]
    write_csv(folder / "persons_present.csv", Kind.PERSONS_PRESENT, people)
    caught = [
        violation(
            i,
            person_record_id=f"KZ-PP-{i:07d}",
            surname_latin=PLANTED,
            document_number=PLANTED_DOCUMENT,
        )
        for i in range(9)
    ]
    write_csv(folder / "violations.csv", Kind.VIOLATIONS, caught)
    return folder  # fmt: skip


def _channels_argv(path: str, folder: Path, out: Path) -> list[str]:
    argv = [*path.split()[1:], "--registries", str(folder), "--json"]
    return [*argv, "--out", str(out)] if path.endswith("evaluate") else argv


def channels_bad_input(scene: Scene, path: str) -> None:
    """G10: a persons-present file that is not UTF-8 (a planted name in it) is a short
    ImportRejected naming the line, no traceback, no file written and no row changed."""
    folder = scene.root / "not-registers"
    folder.mkdir(exist_ok=True)
    header = ",".join(column_names(Kind.PERSONS_PRESENT)).encode()
    (folder / "persons_present.csv").write_bytes(header + b"\nX1," + PLANTED.encode() + b"\xff\n")
    out = scene.root / "bad-leads.csv"
    before = scene.counts()
    result = scene.cli(*_channels_argv(path, folder, out))
    _clean_error(result, ImportRejected.exit_code)
    assert len(result.output.strip().splitlines()) <= 6, result.output
    assert PLANTED not in result.output
    assert not out.exists() and _changed(before, scene.counts()) == {}


def channels_name_no_one(scene: Scene, path: str) -> None:
    """G8: the leads found among persons under a planted name and document show record
    ids, entities and figures, never the name or the document."""
    out = scene.root / "leads.csv"
    result = scene.cli(*_channels_argv(path, _channel_registers(scene), out))
    assert result.exit_code == 0, result.output
    assert "KZ-PP-0000000" in (out.read_text("utf-8") if out.exists() else result.output)
    shown = result.output + (out.read_text("utf-8") if out.exists() else "")
    assert PLANTED not in shown and PLANTED_DOCUMENT not in shown


def forgetting_is_audited(scene: Scene, path: str) -> None:
    """G5: `channels forget` that erases members leaves one erasure leaf, counts only."""
    before = scene.counts(scene.pair.kz)["audit_leaves"]
    kept_leads_forget_departed(scene, path)
    with scene.pair.kz.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position)
                                   .offset(before))  # fmt: skip
        new = [AuditLeaf.decode(bytes(d)) for d in data]
    erased = [leaf for leaf in new if leaf.kind is LeafKind.ERASURE]
    assert len(erased) == 1 and erased[0].actor.startswith("cli:"), new
    assert (erased[0].reference or "").startswith("channels-forgotten:members=1:"), erased


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
STATS: Row = {
    **{g: _("a statistics release holds counts, never a person's data")
       for g in (Guarantee.G2, Guarantee.G3, Guarantee.G4, Guarantee.G6, Guarantee.G7)},
    Guarantee.G1: _("sends nothing: only `stats send` puts a release in a message"),
    Guarantee.G5: _("reads releases only: changes nothing to audit"),
    Guarantee.G8: _("takes dataset ids, years and authorities: nothing that names a person"),
    Guarantee.G9: _("sends nothing: delivery is the relay job's (jobs matrix, G9)"),
    Guarantee.G10: Check(statistics_bad_input),
    Guarantee.G11: Check(statistics_act_as_an_officer),
    Guarantee.G12: _("shows the node's own store to its officers; what leaves is checked on "
                     "export and send (G12)"),
}  # fmt: skip
CHANNELS: Row = {
    **{g: _("reads register files given on the command line, not the node's database: no "
            "case, message, ledger, volume or release is touched") for g in Guarantee},
    Guarantee.G4: _("shows record ids and shared entities of the files it is given; a lead "
                    "becomes a disclosure only as a request, through casework's gate"),
    Guarantee.G7: _("keeps no copy: writes only the leads file it is asked for"),
    Guarantee.G8: Check(channels_name_no_one),
    Guarantee.G10: Check(channels_bad_input),
    Guarantee.G11: _("offline analysis of files, as `migrex synth` and the benchmarks: no "
                     "officer; reading the node's own registry will take one"),
}  # fmt: skip
# Kept leads hold record ids and entity labels of the node's own registers: once a record
# leaves them, the channels job (and `migrex channels forget`) erases every copy on the cards.
KEPT_LEADS_RETENTION = Check(kept_leads_forget_departed)
LEADS: Row = {
    Guarantee.G1: _("sends nothing; `channels open` sends through casework's gate (G1 per kind)"),
    Guarantee.G2: _("sends nothing; what `channels open` sends is checked per message kind"),
    Guarantee.G3: _("the registers read are the node's own; nothing leaves but through the gate"),
    Guarantee.G4: _("lists leads by rank, size, score and state: no member is shown"),
    Guarantee.G5: _("reads only: changes nothing to audit"),
    Guarantee.G6: _("no request opens here: volume is counted when one does (G6 per kind)"),
    Guarantee.G7: KEPT_LEADS_RETENTION,
    Guarantee.G8: _("prints lead ids, ranks, sizes, scores and states"),
    Guarantee.G9: _("only queues, when it sends; delivery is the relay job's (jobs matrix, G9)"),
    Guarantee.G10: Check(bad_input_changes_nothing),
    Guarantee.G11: Check(acts_as_an_analyst),
    Guarantee.G12: _("makes, changes and shows no statistics release"),
}  # fmt: skip
NOT_AUDITED = "changes the node's data but leaves no audit leaf (no leaf kind for administration)"


def _admin(**cells: object) -> dict[Guarantee, object]:
    return row(ADMIN, **cells)  # type: ignore[arg-type]


# Re-issue and discard act on one queued message, which passed the outgoing gate, was
# ledgered and counted when its case queued it.
OUTBOX_ACTION: Row = {
    **ADMIN,
    Guarantee.G2: _("re-seals the body as it was queued, after the gate checked it: no field"),
    Guarantee.G3: _("the same recipient as queued, which the gate checked (G3)"),
    Guarantee.G4: _("the disclosure was ledgered when the message was queued; the receiver "
                    "files a re-issued message once (G9)"),
    Guarantee.G5: Check(outbox_action_is_audited),
    Guarantee.G6: _("the volume was counted when the message was queued; it is the same one"),
    Guarantee.G7: _("keeps no new copy: the outbox row the message already had"),
    Guarantee.G9: Check(operator_clears_a_blocked_case),
    Guarantee.G10: Check(outbox_bad_input),
    Guarantee.G12: _("moves one message; makes, changes and shows no statistics release"),
}  # fmt: skip


ROWS: dict[str, Row] = {
    # Casework and disclosures: a named officer, the API's permission table.
    **{name: row(OFFICER) for name in ARGS},
    "migrex case open": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex message send": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex linkage propose": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex linkage accept": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex linkage send": row(OFFICER, G8=Check(no_planted_person_in_errors)),
    "migrex linkage collect": row(OFFICER),
    "migrex linkage candidates": row(
        OFFICER,
        G4=_("lists pair ids, bands and states: no record of the register is shown"),
        G7=Check(kept_candidates_forget_erased),
        G8=Check(candidates_name_no_one),
    ),
    "migrex linkage verify": row(
        OFFICER,
        G1=_(
            "the request leaves through casework.service.open_case and its outgoing gate "
            "(G1 per message kind; tests/integration/linkage)"
        ),
        G2=_(
            "the pre-filled request names the person by Latin names and birth date only and "
            "asks the citizenship status (tests/integration/linkage)"
        ),
        G5=Check(command_decision_is_audited),
    ),
    "migrex linkage dismiss": row(
        OFFICER, G5=Check(command_decision_is_audited), G8=Check(reason_is_not_given_back)
    ),
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
    "migrex user disable": _admin(G5=Check(administration_is_audited)),
    "migrex user set-password": _admin(G5=Check(administration_is_audited)),
    "migrex user list": _admin(),
    "migrex user tokens": _admin(),
    "migrex registry import": _admin(G5=Check(registry_refresh_is_audited)),
    "migrex registry summary": _admin(),
    "migrex db create": _admin(G5=_("creates the database itself: no audit log exists yet")),
    "migrex db upgrade": _admin(G5=_("the schema itself: the audit log may not exist yet")),
    "migrex db check": _admin(),
    "migrex pki demo": _admin(
        G5=_(
            "bootstraps the demo's keys, certificates and directories "
            "as files before any node database, and so any audit "
            "log, exists"
        )
    ),
    "migrex pki rotate": _admin(G5=Check(rotation_is_audited)),
    "migrex pki show-directory": _admin(),
    "migrex directory show": _admin(),
    "migrex directory propose": _admin(
        G5=Check(directory_change_is_audited), G10=Check(directory_bad_input)
    ),
    "migrex directory sign": _admin(
        G5=_(
            "writes a countersigned file and changes nothing in the node: installing it is "
            "audited (`directory install`)"
        ),
        G10=Check(directory_bad_input),
    ),
    "migrex directory install": _admin(
        G5=Check(directory_change_is_audited), G10=Check(directory_bad_input)
    ),
    "migrex agreement validate": row(OFFLINE),
    "migrex agreement show": row(OFFLINE),
    "migrex security-log list": _admin(
        G8=Check(security_log_names_no_person),
        G4=_("lists refusals (reason, source, count), never what was sent"),
    ),
    "migrex outbox list": _admin(G4=_("lists envelopes (parties, type, state), never bodies")),
    "migrex outbox retry": _admin(G5=Check(administration_is_audited)),
    "migrex outbox reissue": row(
        OUTBOX_ACTION,
        G1=Check(reissue_stays_within_the_agreement),
        G8=_("takes message ids: nothing that names a person"),
    ),
    "migrex outbox discard": row(
        OUTBOX_ACTION,
        G1=_("sends nothing: the message leaves the queue"),
        G8=Check(discard_reason_stays_out_of_the_log),
    ),
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
    "migrex witness status": _admin(G4=_("sizes, times and authority ids of logs, never a body")),
    "migrex linkage witness-unit": _admin(
        G5=_(
            "cosigning the unit's checkpoint is a checkpoint-cosigned leaf "
            "(tests/integration/linkage/test_linkage_unit_witnessed.py)"
        ),
        G10=Check(unit_witness_bad_input),
    ),
    "migrex witness declare-recovery": _admin(
        G5=_("the declaration is a recovery leaf (tests/integration/witness/test_recovery.py)")
    ),
    "migrex backup": _admin(
        G4=_("copies the node whole, encrypted to the operator's key; prints counts and hashes"),
        G5=Check(backup_is_audited),
        G7=_(
            "a backup holds what was readable when it was taken, encrypted to an operator key "
            "the node does not hold; after a restore the retention job erases again what is "
            "past retention"
        ),
    ),
    "migrex backup keygen": row(OFFLINE),
    "migrex restore": _admin(
        G5=_("a restored-from-backup administration leaf, and the recovery declared to witnesses"),
        G10=_(
            "a tampered, cut or foreign backup is refused before anything is written "
            "(tests/integration/backup/test_backup_restore.py)"
        ),
    ),
    # Statistics: a named officer; aggregates of our own registers, never a person.
    **{name: row(STATS) for name in STATS_ARGS},
    "migrex stats release": row(
        STATS,
        G5=Check(release_is_audited),
        G12=Check(release_is_protected),
    ),
    "migrex stats send": row(
        STATS,
        G1=Check(send_passes_the_agreement),
        G5=Check(send_is_audited),
        G9=_("only queues; delivery is the relay job's (jobs matrix, G9)"),
        G12=Check(sent_is_protected),
    ),
    "migrex stats export": row(
        STATS,
        G5=_(
            "writes a file of a version already released (its release is audited, G5 on "
            "stats release) and changes nothing in the node"
        ),
        G12=Check(export_is_protected),
    ),
    "migrex stats chart": row(STATS, G12=Check(chart_shows_no_blank)),
    "migrex bench audit": row(OFFLINE),
    "migrex bench logins": row(OFFLINE),
    "migrex bench exchange": row(OFFLINE),
    "migrex bench console": row(OFFLINE),
    "migrex bench stats": row(OFFLINE),
    "migrex bench registry": row(OFFLINE),
    "migrex bench channels": row(OFFLINE),
    "migrex bench channels-scale": row(OFFLINE),
    "migrex channels run": row(
        CHANNELS,
        G4=_(
            "prints run figures and lead ids, or (with --registries) record ids and shared "
            "entities of files; a card's members are shown by `channels show`, recorded"
        ),
        G5=Check(decision_is_audited),
        G7=KEPT_LEADS_RETENTION,
        G11=Check(acts_as_an_analyst),
    ),
    "migrex channels list": row(LEADS),
    "migrex channels show": row(
        LEADS,
        G4=Check(card_is_ledgered),
        G5=Check(decision_is_audited),
        G8=Check(card_names_no_one),
    ),
    "migrex channels dismiss": row(
        LEADS,
        G4=_("shows no one: prints the lead id"),
        G5=Check(decision_is_audited),
        G8=_(
            "the reason is the analyst's free text, kept in the lead, never in a log line or "
            "leaf (the leaf names the lead only)"
        ),
    ),
    "migrex channels open": row(
        LEADS,
        G1=_(
            "the request goes through casework.service.open_case: the outgoing gate (G1 per "
            "kind; tests/integration/channels/test_channels_leads.py)"
        ),
        G2=_(
            "the pre-filled request names the violators by document only and asks the "
            "purpose's profile fields only (tests/integration/channels)"
        ),
        G4=_("the sent persons are ledgered by the gate, checked per message kind (G4)"),
        G5=Check(decision_is_audited),
        G6=_("volume is counted when the request opens, checked per message kind (G6)"),
    ),
    "migrex channels forget": _admin(
        G4=_("shows no one and sends nothing: prints counts of what it erased"),
        G5=Check(forgetting_is_audited),
        G7=KEPT_LEADS_RETENTION,
        G8=_("prints and logs counts only, never a record id (the G7 check reads its output)"),
        G10=_("takes no argument: a usage error is Click's (exit 2) before any work"),
        G11=_(
            "erases what the law requires, as the channels job of `migrex serve` does, and "
            "decides and shows nothing: administration, as `migrex retention run`, recorded "
            "as cli:<user>"
        ),
    ),
    "migrex channels evaluate": row(CHANNELS),
    "migrex bench linkage": row(OFFLINE),
    "migrex bench linkage-scale": row(OFFLINE),
    "migrex linkage evaluate": row(
        OFFLINE, G8=Check(linkage_prints_no_person), G10=Check(linkage_bad_input)
    ),
    "migrex linkage attack": row(
        OFFLINE, G8=Check(attack_prints_no_person), G10=Check(attack_bad_input)
    ),
    "migrex synth": row(OFFLINE),
    "migrex demo": row(OFFLINE),
}
del APPROVER_PASSWORD


def test_every_command_has_a_row() -> None:
    assert sorted(commands()) == sorted(ROWS)


@pytest.mark.parametrize(("path", "guarantee"), cells(ROWS))
def test_command(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, ROWS, path, guarantee)
