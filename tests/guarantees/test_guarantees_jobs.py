"""The guarantee matrix on every background job (`features.jobs`): each `start(runtime, stop)`
is started against Armenia's node whose database fails its first rounds, as a database or a
bad message can; the job must go on with later rounds (G9, G10) and log no exception text,
which may quote personal data (G8)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exists, func, select, update
from structlog.testing import capture_logs

from casework_steps import context, now
from guarantee_channels import planted_lead_forgotten
from guarantee_linkage import ERASED, a_candidate
from guarantee_matrix import (
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
from guarantee_paths import Guarantee, jobs
from linkage_unit_steps import Linked, accepted_run, linked_nodes, unit_node
from migrex import features
from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.casework.reading import read_case_messages
from migrex.casework.request_keys import KEY_LIFETIME
from migrex.casework.tables import RequestKeyRow
from migrex.channels.tables import LeadMemberRow
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.trust import Trust, load_trust
from migrex.linkage.own_register import own_citizens
from migrex.linkage.party import send_encodings
from migrex.linkage.tables import CandidateRow
from migrex.linkage.unit import FOLDER, KEEP, LinkageUnit
from migrex.node import Node
from migrex.registry.tables import PersonPresentRow
from migrex.retention.tables import RetentionKeyRow

FAILING_ROUNDS = 3


def _run_with_failing_rounds(scene: Scene, target: str) -> tuple[int, list[dict[str, Any]]]:
    """Starts the job with every interval short; its first rounds fail with an error whose
    text names the planted person. Returns how many rounds it tried, and what it logged.
    The linkage unit's job runs on a unit's node (on a party's it starts nothing), its
    rounds failing in the unit's file system."""
    if target in UNIT_JOBS:
        return _unit_rounds_failing(scene, target)
    settings = scene.node.settings.model_copy(update={
        "witness_interval_seconds": 0.05, "witness_idle_interval_seconds": 0.05,
        "retention_interval_seconds": 0.05,
        "relay_poll_seconds": 0.05, "relay_threads": 1,
    })  # fmt: skip
    node = Node(settings)
    real = node.unit_of_work
    rounds = [0]

    def flaky() -> Any:
        if threading.current_thread() is not threading.main_thread():
            rounds[0] += 1
            if rounds[0] <= FAILING_ROUNDS:
                raise RuntimeError(f"cannot file the message about {PLANTED} {PLANTED_DOCUMENT}")
        return real()

    node.unit_of_work = flaky  # type: ignore[method-assign]
    runtime = ExchangeRuntime(node, scene.pair.am_trust)
    stop = threading.Event()
    with capture_logs() as logs:
        features.resolve(target)(runtime, stop)
        deadline = time.monotonic() + 20
        while rounds[0] <= FAILING_ROUNDS + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        runtime.stop()
    node.close()
    return rounds[0], logs


UNIT_JOBS = ("migrex.linkage.unit_jobs:expire_unit_files",)


def _unit_rounds_failing(scene: Scene, target: str) -> tuple[int, list[dict[str, Any]]]:
    unit = unit_node(scene.root / "unit-rounds")
    settings = unit.settings.model_copy(update={"retention_interval_seconds": 0.05})
    node = Node(settings)
    rounds = [0]
    real = LinkageUnit.expire

    def flaky(self: LinkageUnit, now: Any, keep: Any = KEEP) -> int:
        rounds[0] += 1
        if rounds[0] <= FAILING_ROUNDS:
            raise OSError(f"cannot delete the encodings of {PLANTED} {PLANTED_DOCUMENT}")
        return real(self, now, keep)

    runtime, stop = ExchangeRuntime(node, load_trust(settings, node.agreements)), threading.Event()
    with pytest.MonkeyPatch.context() as patch, capture_logs() as logs:
        patch.setattr(LinkageUnit, "expire", flaky)
        features.resolve(target)(runtime, stop)
        deadline = time.monotonic() + 20
        while rounds[0] <= FAILING_ROUNDS + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        runtime.stop()
    node.close()
    unit.close()
    return rounds[0], logs


def keeps_going(scene: Scene, target: str) -> None:
    """G9/G10: a job whose rounds fail goes on with the next round: nothing stops for good."""
    tried, _ = _run_with_failing_rounds(scene, target)
    assert tried > FAILING_ROUNDS + 1, f"{target} stopped after {tried} rounds"


def logs_no_error_text(scene: Scene, target: str) -> None:
    """G8: the failing rounds are logged without the error's text or a traceback."""
    _, logs = _run_with_failing_rounds(scene, target)
    failures = [e for e in logs if e.get("log_level") in {"error", "exception", "critical"}]
    assert failures, f"{target}: the failing rounds were not logged at all"
    for event in failures:
        assert PLANTED not in repr(event) and PLANTED_DOCUMENT not in repr(event), event
        assert not event.get("exc_info"), f"{target} logs the traceback: {event}"


def _run_until(
    node: Node, trust: Trust | None, target: str, done: Callable[[], bool], timeout: float = 20
) -> None:
    """Runs the job `target` on a copy of `node` with a short round interval until `done()`
    (or `timeout` seconds), then stops it; `trust` defaults to the node's own."""
    settings = node.settings.model_copy(update={"retention_interval_seconds": 0.05})
    running = Node(settings)
    runtime = ExchangeRuntime(running, trust or load_trust(settings, running.agreements))
    stop = threading.Event()
    features.resolve(target)(runtime, stop)
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runtime.stop()
    running.close()


def erases_what_expired(scene: Scene, target: str) -> None:
    """G7: once the retention job has run past a record's end, the received case's messages
    no longer open, whoever reads them."""
    case_id = scene.case_in_review  # received from Kazakhstan, sealed at the door
    with scene.node.unit_of_work() as uow:
        uow.session.execute(update(RetentionKeyRow).values(expires_at=now() - timedelta(days=1)))
        uow.commit()
    _run_until(scene.node, scene.pair.am_trust, target, lambda: _live_keys(scene) == 0)
    assert _live_keys(scene) == 0, "the retention job left keys of expired records"
    with scene.node.unit_of_work() as uow:
        views = read_case_messages(uow, context(scene.node), case_id, reader="officer:matrix",
                                   now=now())  # fmt: skip
    received = [v for v in views if v.direction == "received"]
    assert received and all(v.erased and v.body is None for v in received), received


def forgets_old_request_keys(scene: Scene, target: str) -> None:
    """G7: the keys of new requests are kept for their day only, whether or not anyone sends
    a keyed request again: the job's round deletes the older ones and keeps the others."""
    with scene.node.unit_of_work() as uow:
        for key, age in (("old", KEY_LIFETIME + timedelta(minutes=1)), ("new", timedelta(0))):
            uow.session.add(
                RequestKeyRow(
                    actor="officer:matrix",
                    key=key,
                    fingerprint="0" * 64,
                    case_id=scene.case_in_review,
                    created_at=now() - age,
                )
            )
        uow.commit()
    _run_until(scene.node, scene.pair.am_trust, target, lambda: _request_keys(scene) == ["new"])
    assert _request_keys(scene) == ["new"], "the casework job kept a request key past its day"


def _request_keys(scene: Scene) -> list[str]:
    with scene.node.unit_of_work() as uow:
        return list(uow.session.scalars(select(RequestKeyRow.key).order_by(RequestKeyRow.key)))


def forgets_departed_members(scene: Scene, target: str) -> None:
    """G7: once a record leaves the registers, the channels job's round erases it from the
    kept leads: no channels row names its record id, name or document."""

    def by_the_job(node: Node) -> None:
        _run_until(node, scene.pair.kz_trust, target, lambda: _departed_members(node) == 0)

    planted_lead_forgotten(scene, by_the_job)


def unit_expires_what_waited(scene: Scene, target: str) -> None:
    """G7 at the linkage unit: the encodings of a run whose other party never sent its own
    are deleted by the job once they waited longer than the unit keeps anything, and the
    deletion is logged."""
    for linked in linked_nodes(scene.root / "unit", f"sqlite:///{scene.root / 'unit-am.db'}"):
        case_id = accepted_run(linked)
        with linked.pair.kz.unit_of_work() as uow, linked.client("KZ") as client:
            send_encodings(uow, linked.party("KZ"), case_id, register=own_citizens(uow.session),
                           client=client, actor="officer:x", now=now())  # fmt: skip
        linked.unit_process.stop()
        kept = list((linked.unit.settings.data_dir / FOLDER).rglob("*"))
        assert any(p.name == "opening.jws" for p in kept)
        waited = time.time() - KEEP.total_seconds() - 3600
        for path in kept:
            os.utime(path, (waited, waited))
        _run_until(linked.unit, None, target, partial(_expiry_logged, linked))
        assert _unit_openings(linked) == []
        assert _expiry_logged(linked)


def _expiry_logged(linked: Linked) -> bool:
    with linked.unit.unit_of_work() as uow:
        leaves = [AuditLeaf.decode(d) for d in uow.session.scalars(select(AuditLeafRow.data))]
    return any("encodings-deleted:expired" in (leaf.reference or "") for leaf in leaves)


def _unit_openings(linked: Linked) -> list[Path]:
    return list((linked.unit.settings.data_dir / FOLDER).rglob("opening.jws"))


def forgets_erased_candidates(scene: Scene, target: str) -> None:
    """G7: the linkage job's round deletes the candidate of a record no longer in the
    citizens' register: no candidate row names it."""
    a_candidate(scene, ERASED)
    assert _erased_candidates(scene.node) == 1
    _run_until(scene.node, scene.pair.am_trust, target,
               lambda: _erased_candidates(scene.node) == 0)  # fmt: skip
    assert _erased_candidates(scene.node) == 0, "the linkage job kept an erased person's candidate"


def _erased_candidates(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(CandidateRow)
                                  .where(CandidateRow.national_id == ERASED)) or 0  # fmt: skip


def _departed_members(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(LeadMemberRow).where(
            ~exists().where(PersonPresentRow.record_id == LeadMemberRow.record_id)
        )) or 0  # fmt: skip


def _live_keys(scene: Scene) -> int:
    with scene.node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(RetentionKeyRow)
                                  .where(RetentionKeyRow.erased_at.is_(None))) or 0  # fmt: skip


_ = NotApplicable
JOB: Row = {
    **{g: _("a job moves what the use cases made: the guarantee is checked on those paths")
       for g in Guarantee},
    Guarantee.G8: Check(logs_no_error_text),
    Guarantee.G9: Check(keeps_going),
    Guarantee.G10: Check(keeps_going),
    Guarantee.G11: _("runs as the node itself (actor 'relay', 'filing', 'retention', 'channels', "
                     "'linkage'), "
                     "started by `migrex serve`, an administration command"),
    Guarantee.G12: _("moves no statistics release of its own"),
}  # fmt: skip
ROWS: dict[str, Row] = {
    "migrex.rotation.jobs:file_updates": row(JOB),
    "migrex.exchange.jobs:start_relays": row(JOB),
    "migrex.casework.jobs:file_received_messages": row(JOB),
    "migrex.casework.jobs:forget_request_keys": row(JOB, G7=Check(forgets_old_request_keys)),
    "migrex.witness.jobs:start_witnessing": row(JOB),
    "migrex.retention.jobs:erase_expired": row(JOB, G7=Check(erases_what_expired)),
    "migrex.channels.jobs:forget_departed_members": row(JOB, G7=Check(forgets_departed_members)),
    "migrex.linkage.jobs:forget_candidates_job": row(JOB, G7=Check(forgets_erased_candidates)),
    "migrex.linkage.unit_jobs:expire_unit_files": row(JOB, G7=Check(unit_expires_what_waited)),
    "migrex.linkage.unit_witness:witness_units_job": row(JOB),
}


def test_every_job_has_a_row() -> None:
    assert jobs() == list(ROWS)


@pytest.mark.parametrize(("path", "guarantee"), cells(ROWS))
def test_background_job(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, ROWS, path, guarantee)
