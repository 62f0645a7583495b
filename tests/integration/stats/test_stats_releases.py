"""Statistics releases on real nodes: counted from the registries in the node's database,
protected, stored as versions, compared, and sent to the partner as SDMX; the commands act as
a named officer allowed to release or view statistics."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework_scenes import token
from casework_steps import context, deliver, now
from migrex.audit.tables import AuditLeafRow
from migrex.casework.messages import SDMX_CSV, Attachment
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseRow
from migrex.cli import app
from migrex.errors import Conflict
from migrex.exchange.tables import InboxMessage
from migrex.node import Node
from migrex.officers.model import Grant, NotAuthenticated, NotAuthorised, Officer, Role
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.stats import sources
from migrex.stats.messaging import SendRelease, release_body, send_release
from migrex.stats.published import ConfStatus
from migrex.stats.release import ReleaseInvalid
from migrex.stats.service import (
    OWN,
    PARTNER,
    Publish,
    count_releases,
    load,
    prepare,
    publish,
    releases,
    store,
    year_over_year,
)
from migrex.stats.tables import ReleaseRow
from migrex.synth import generate, write_population
from nodes import Pair

runner = CliRunner()
AGREEMENT = "kz-am-2024"
WORKERS = "am-workers-in-kz"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    write_population(generate(10_000, 2024), folder, "parquet")
    return folder


def _import(node: Node, folder: Path) -> None:
    files = [(kind, folder / f"{kind}.parquet") for kind in Kind]
    with node.unit_of_work() as uow:
        import_registries(uow, [(k, p) for k, p in files if p.exists()],
                          state=node.settings.state, actor="test")  # fmt: skip


def invoke(node: Node, *args: str, as_: str = "supervisor") -> object:
    """`migrex stats ...` at `node` with the token of its officer `as_` (made by `kz`)."""
    config = str(node.settings.data_dir.parent / "node.toml")
    officer = node.settings.data_dir / f"{as_}.token"
    env = {"MIGREX_TOKEN": officer.read_text() if officer.exists() else ""}
    return runner.invoke(app, ["--config", config, *args], env=env)


def cli(node: Node, *args: str) -> str:
    result = invoke(node, *args)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return result.output  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def kz(pair: Pair, synth_dir: Path) -> Pair:
    _import(pair.kz, synth_dir / "KZ")
    # A supervisor of kz-mlsp releases its figures; an officer of kz-mia may only read them.
    for name, role, authority in (("supervisor", Role.SUPERVISOR, "kz-mlsp"),
                                  ("reader", Role.OFFICER, "kz-mia")):  # fmt: skip
        issued = token(pair.kz, name, [(role, authority)])
        (pair.kz.settings.data_dir / f"{name}.token").write_text(issued)
    return pair


def test_the_database_and_the_parquet_files_give_the_same_release(
    kz: Pair, synth_dir: Path
) -> None:
    agreement = kz.kz.agreements[AGREEMENT]
    for period, total in ((2024, 2623), (2025, 2134)):
        with kz.kz.unit_of_work() as uow:
            from_db = prepare(sources.from_database(uow.session, "workers"), agreement, WORKERS,
                              period, now=now())  # fmt: skip
        from_files = prepare(sources.from_parquet(synth_dir / "KZ", "workers"), agreement,
                             WORKERS, period, now=now())  # fmt: skip
        assert from_db.observations == from_files.observations
        assert from_db.value(from_db.grand_total_key) == total


def test_release_compare_and_chart_from_the_cli(kz: Pair, tmp_path: Path) -> None:
    for period in ("2024", "2025"):
        released = cli(kz.kz, "stats", "release", "--dataset", WORKERS, "--period", period)
        assert "version 1" in released
    compared = cli(kz.kz, "stats", "compare", "--dataset", WORKERS, "--periods", "2024,2025",
                   "--chart", str(tmp_path))  # fmt: skip
    assert "2024: 2,623" in compared and "2025: 2,134" in compared and "−18.6 %" in compared
    png = tmp_path / f"{WORKERS}-year-over-year.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    shown = json.loads(cli(kz.kz, "stats", "show", "--dataset", WORKERS, "--period", "2024",
                           "--json"))  # fmt: skip
    statuses = {o["conf_status"] for o in shown["observations"]}
    assert statuses <= {"F", "A", "D"} and "A" in statuses
    assert all((o["value"] is None) == (o["conf_status"] != "F") for o in shown["observations"])
    out = tmp_path / "workers.xml"
    cli(kz.kz, "stats", "export", "--dataset", WORKERS, "--period", "2024", "--out", str(out))
    exported = out.read_text(encoding="utf-8")
    assert "2623" in exported
    # Our own store tells primary from secondary; what we export does not.
    assert set(re.findall(r'CONF_STATUS="([^"]*)"', exported)) == {"F", "C"}


def test_the_releases_listed_as_json(kz: Pair) -> None:
    for period in ("2024", "2025"):
        cli(kz.kz, "stats", "release", "--dataset", WORKERS, "--period", period)
    result = invoke(kz.kz, "stats", "list", "--json", as_="reader")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    listed = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert [(r["dataset_id"], r["period"], r["version"], r["producer"], r["origin"],
             r["grand_total"], r["changed"]) for r in listed] == [
        (WORKERS, 2025, 1, "kz-mlsp", "own", 2134, None),
        (WORKERS, 2024, 1, "kz-mlsp", "own", 2623, None),
    ]  # fmt: skip
    with kz.kz.unit_of_work() as uow:
        stored = {r.period: r.stored_at for r in releases(uow.session, AGREEMENT, WORKERS)}
    assert {r["period"]: datetime.fromisoformat(r["stored_at"]) for r in listed} == stored
    assert all("T" in r["stored_at"] for r in listed)


def test_a_revision_keeps_the_earlier_version(kz: Pair) -> None:
    agreement = kz.kz.agreements[AGREEMENT]
    with kz.kz.unit_of_work() as uow:
        first = prepare(sources.from_database(uow.session, "workers"), agreement, WORKERS, 2024,
                        now=now())  # fmt: skip
        store(uow.session, first, origin=OWN, actor="test", now=now())
        uow.commit()
    with kz.kz.unit_of_work() as uow, pytest.raises(Conflict, match="nothing to revise"):
        store(uow.session, first, origin=OWN, actor="test", now=now())
    # A correction arrives: one worker's record said the wrong region. Version 2 says so.
    observations = list(first.observations)
    index = next(i for i, o in enumerate(observations) if o.value and o.value > 50
                 and o.key[0] != "_T")  # fmt: skip
    moved = observations[index]
    observations[index] = type(moved)(moved.key, moved.value - 1, moved.status)  # type: ignore[operator]
    revised = dataclasses.replace(first, observations=tuple(observations))
    with kz.kz.unit_of_work() as uow:
        stored = store(uow.session, revised, origin=OWN, actor="test", now=now(),
                       reason="a record corrected")  # fmt: skip
        uow.commit()
    assert stored.release.version == 2
    assert stored.changes == [{
        "key": ".".join(moved.key),
        "before": {"value": moved.value, "status": "F"},
        "after": {"value": moved.value - 1, "status": "F"},  # type: ignore[operator]
    }]  # fmt: skip
    with kz.kz.unit_of_work() as uow:
        assert (
            load(uow.session, agreement, WORKERS, 2024, version=1).value(moved.key) == moved.value
        )
        assert load(uow.session, agreement, WORKERS, 2024).version == 2
        listed = releases(uow.session, AGREEMENT, WORKERS)
    assert [(r.version, r.changed) for r in listed] == [(2, 1), (1, None)]


def test_only_an_officer_allowed_to_release_releases_and_is_recorded(kz: Pair) -> None:
    release = ["stats", "release", "--dataset", WORKERS, "--period", "2024"]
    nobody = invoke(kz.kz, *release, as_="nobody")
    assert nobody.exit_code == NotAuthenticated.exit_code, nobody.output  # type: ignore[attr-defined]
    reader = invoke(kz.kz, *release, as_="reader")
    assert reader.exit_code == NotAuthorised.exit_code, reader.output  # type: ignore[attr-defined]
    with kz.kz.unit_of_work() as uow:
        assert count_releases(uow.session) == 0
    cli(kz.kz, *release)
    # The reader of another authority of the agreement may read, not send or export.
    shown = invoke(kz.kz, "stats", "show", "--dataset", WORKERS, "--period", "2024", as_="reader")
    assert shown.exit_code == 0, shown.output  # type: ignore[attr-defined]
    sent = invoke(kz.kz, "stats", "send", "--dataset", WORKERS, "--period", "2024", "--to",
                  "am-mcs", as_="reader")  # fmt: skip
    assert sent.exit_code == NotAuthorised.exit_code, sent.output  # type: ignore[attr-defined]
    with kz.kz.unit_of_work() as uow:
        stored_by = uow.session.scalars(select(ReleaseRow.stored_by)).all()
    assert stored_by == ["officer:supervisor"]


def test_a_period_without_records_is_refused_and_nothing_stored(kz: Pair) -> None:
    result = invoke(kz.kz, "stats", "release", "--dataset", WORKERS, "--period", "2019")
    assert result.exit_code == ReleaseInvalid.exit_code  # type: ignore[attr-defined]
    assert "no records" in result.output  # type: ignore[attr-defined]
    with kz.kz.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReleaseRow)) == 0


def test_the_release_travels_to_the_partner_and_is_compared_there(kz: Pair) -> None:
    for period in ("2024", "2025"):
        cli(kz.kz, "stats", "release", "--dataset", WORKERS, "--period", period)
        cli(kz.kz, "stats", "send", "--dataset", WORKERS, "--period", period, "--to", "am-mcs")
    deliver(kz.kz, kz.kz_trust, kz.am, kz.am_trust)
    agreement = kz.am.agreements[AGREEMENT]
    with kz.am.unit_of_work() as uow:
        stored = releases(uow.session, AGREEMENT, WORKERS)
        compared = year_over_year(uow.session, agreement, WORKERS, [2024, 2025])
        theirs = load(uow.session, agreement, WORKERS, 2024)
    with kz.kz.unit_of_work() as uow:
        ours = load(uow.session, kz.kz.agreements[AGREEMENT], WORKERS, 2024)
    assert {(r.period, r.origin, r.producer) for r in stored} == {
        (2024, PARTNER, "kz-mlsp"), (2025, PARTNER, "kz-mlsp"),
    }  # fmt: skip
    # The partner holds what we sent: every blank with the one confidential code.
    assert theirs.observations == ours.published().observations
    assert {o.status for o in theirs.observations} == {ConfStatus.FREE, ConfStatus.CONFIDENTIAL}
    assert compared.points == [(2024, 2623), (2025, 2134)]
    assert compared.changes[0][2].label() == "−18.6 %"


def _send_forged(pair: Pair, csv: bytes) -> str:
    release_dict = release_body(_one_release(pair))
    release_dict["attachments"] = [
        Attachment.of("forged.csv", SDMX_CSV, csv).model_dump(mode="json")
    ]
    with pair.kz.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.kz),
            OpenRequest(AGREEMENT, "kz-mlsp", "am-mcs", "statistical-information", release_dict,
                        "officer:test"),
            now(),
        )  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    return opened.message_id


def _one_release(pair: Pair):  # type: ignore[no-untyped-def]
    with pair.kz.unit_of_work() as uow:
        return prepare(sources.from_database(uow.session, "workers"),
                       pair.kz.agreements[AGREEMENT], WORKERS, 2024, now=now())  # fmt: skip


@pytest.mark.parametrize(
    "csv",
    [
        b"not,an,sdmx,file\n1,2,3,4\n",
        b"\xff\xfe garbage",
        b"STRUCTURE,STRUCTURE_ID,ACTION,FREQ,REF_AREA,CITIZENSHIP,REGION,SEX,AGE,OCCUPATION,"
        b"PERMIT,TIME_PERIOD,OBS_VALUE,CONF_STATUS,UNIT_MEASURE\n"
        b"dataflow,MIGREX:DF_AM_WORKERS_IN_KZ(1.0),I,A,KZ,AM,KZ-99,M,_T,_T,_T,2024,4,F,PS\n",
    ],
    ids=["not-sdmx", "not-utf8", "unknown-region"],
)
def test_a_malformed_release_is_refused_and_nothing_stored(kz: Pair, csv: bytes) -> None:
    message_id = _send_forged(kz, csv)
    with kz.am.unit_of_work() as uow:
        status = uow.session.scalar(
            select(InboxMessage.status).where(InboxMessage.message_id == message_id)
        )
        assert status == "quarantined"
        assert uow.session.scalar(select(func.count()).select_from(ReleaseRow)) == 0
        assert uow.session.scalar(select(func.count()).select_from(CaseRow)) == 0


def test_the_use_cases_check_the_officer_themselves(kz: Pair) -> None:
    """Whatever calls them, publishing and sending refuse an officer without the release
    right for the producer, and store, queue and audit nothing."""
    agreement = kz.kz.agreements[AGREEMENT]
    reader = Officer(1, "reader", "Reader", frozenset({Grant(Role.OFFICER, "kz-mlsp")}))
    before = _leaves(kz.kz)
    with kz.kz.unit_of_work() as uow, pytest.raises(NotAuthorised):
        command = Publish(agreement, WORKERS, 2024, sources.from_database(uow.session, "workers"))
        publish(uow, reader, command, now())
    with kz.kz.unit_of_work() as uow, pytest.raises(NotAuthorised):
        send_release(uow, context(kz.kz), reader, SendRelease(agreement, WORKERS, 2024, "am-mcs"),
                     now())  # fmt: skip
    with kz.kz.unit_of_work() as uow:
        assert count_releases(uow.session) == 0
    assert _leaves(kz.kz) == before


def _leaves(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0
