"""A linkage run through a linkage unit running as its own process, over HTTPS with mutual
TLS: both parties send their encodings, the unit compares them, each party collects only its
own candidates, and the unit keeps nothing: no encoding, no result, no key, no name."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casework_steps import now
from linkage_unit_steps import AGREEMENT, UNIT, Linked, accepted_run, linked_nodes
from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.errors import NotFound
from migrex.exchange.trust import load_trust
from migrex.linkage import party as party_module
from migrex.linkage import unit as unit_module
from migrex.linkage.chunks import TransferRefused
from migrex.linkage.layout import DECOYS
from migrex.linkage.own_register import national_ids, own_citizens
from migrex.linkage.party import Collected, collect_candidates, outgoing_dir, send_encodings
from migrex.linkage.results import open_result, result_digest, sign_receipt
from migrex.linkage.runs import run_key, run_of
from migrex.linkage.transfer import encoding_parameters
from migrex.linkage.unit import FOLDER, LinkageUnit, RunConflict
from migrex.linkage.unit_client import UnitRefused


@pytest.fixture
def linked(tmp_path: Path, database_url: str) -> Iterator[Linked]:
    yield from linked_nodes(tmp_path, database_url)


def send(linked: Linked, state: str, case_id: str, unit: Any = None) -> None:
    """`state` sends its encodings to the unit process, or to `unit` in this process."""
    node = linked.pair.kz if state == "KZ" else linked.pair.am
    to = linked.client(state) if unit is None else nullcontext(InProcess(unit))
    with node.unit_of_work() as uow, to as client:
        register = own_citizens(uow.session)
        sent = send_encodings(
            uow, linked.party(state), case_id, register=register, client=client,
            actor="officer:x", now=now(), chunk_records=1000,
        )  # fmt: skip
    # The run's hardening mixes in a decoy per record: the unit holds twice as many.
    assert sent.complete and sent.records == len(register) + round(DECOYS * len(register))
    assert not outgoing_dir(linked.party(state), sent.run_id).exists()


def collect(linked: Linked, state: str, case_id: str, timeout: float = 120) -> Collected:
    node = linked.pair.kz if state == "KZ" else linked.pair.am
    deadline = time.monotonic() + timeout
    while True:
        with node.unit_of_work() as uow, linked.client(state) as client:
            found = collect_candidates(
                uow, linked.party(state), case_id,
                national_ids=lambda: list(national_ids(uow.session)), client=client,
                actor="officer:x", now=now(),
            )  # fmt: skip
        if found is not None:
            return found
        assert time.monotonic() < deadline, "the unit did not compare the run in time"
        time.sleep(0.5)


def unit_files(linked: Linked) -> list[Path]:
    root = linked.unit.settings.data_dir / FOLDER
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_unit_finds_the_planted_dual_citizens_and_keeps_nothing(linked: Linked) -> None:
    case_id = accepted_run(linked)
    send(linked, "KZ", case_id)
    send(linked, "AM", case_id)
    kz, am = collect(linked, "KZ", case_id), collect(linked, "AM", case_id)

    # One pair id per pair, the same at both sides; each side holds only its own ids. A pair
    # one side holds alone pairs its person with the other side's decoy, which the decoy's
    # owner dropped as no one: rare, and wrong for the side that holds it.
    kz_by_pair = {c.pair_id: c.national_id for c in kz.candidates}
    am_by_pair = {c.pair_id: c.national_id for c in am.candidates}
    both = kz_by_pair.keys() & am_by_pair.keys()
    alone = kz_by_pair.keys() ^ am_by_pair.keys()
    # Our unresolved pseudonyms: our decoys, paired with the partner's people or decoys.
    assert kz.unresolved >= len(am_by_pair.keys() - both)
    assert am.unresolved >= len(kz_by_pair.keys() - both)
    found = {(kz_by_pair[p], am_by_pair[p]) for p in both}
    truth = linked.truth()
    hits = len(found & truth)
    assert hits / (len(found) + len(alone)) >= 0.95, (hits, len(found), len(alone))
    assert hits / len(truth) >= 0.95, (hits, len(truth))
    assert {c.band for c in kz.candidates} <= {"strong", "probable", "possible"}

    # The unit deleted both transfers once compared and each result once receipted.
    leftovers = [p.name for p in unit_files(linked) if p.name not in ("run.json", ".lock")]
    assert leftovers == []
    with linked.unit.unit_of_work() as uow:
        leaves = [AuditLeaf.decode(d) for d in uow.session.scalars(select(AuditLeafRow.data))]
    references = [leaf.reference for leaf in leaves]
    steps = [r.split(":", 2)[2] for r in references if r and r.startswith("linkage:")]
    assert any(s.startswith("compared:pairs=") for s in steps)
    assert sum(s.startswith("encodings-deleted:compared") for s in steps) == 1
    assert sum(s.startswith("result-deleted:collected-by:") for s in steps) == 2

    # Nothing the unit stored or logged holds the run's key or any name of either register.
    with linked.pair.kz.unit_of_work() as uow:
        key = run_key(uow, linked.party("KZ"), case_id, actor="officer:x", now=now())
        surnames = own_citizens(uow.session).columns["surname_latin"].to_pylist()
    names = set(surnames[:200])
    stored = [p.read_bytes() for p in linked.unit.settings.data_dir.rglob("*") if p.is_file()]
    assert not any(key in blob for blob in stored)
    assert not any(name.encode() in blob for blob in stored for name in names if len(name) > 5)


def test_a_result_is_sealed_to_its_party_and_a_party_cannot_act_for_the_other(
    linked: Linked,
) -> None:
    case_id = accepted_run(linked)
    send(linked, "KZ", case_id)
    send(linked, "AM", case_id)
    am = linked.party("AM")
    with linked.pair.am.unit_of_work() as uow:
        run_id = run_of(uow, am.casework, case_id).proposal.run_id
    deadline = time.monotonic() + 120
    with linked.client("AM") as client:
        while (sealed := client.result(run_id, "kz-mia")) is None:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        # Armenia can fetch Kazakhstan's result, but not open it: it is sealed to kz-mia.
        with pytest.raises(TransferRefused) as refused:
            open_result(sealed, run_id=run_id, unit=UNIT, party="am-mcs",
                        decryption_keys=am.trust.decryption_keys(now()),
                        resolve_signing_key=am.trust.resolve_signing_key, now=now())  # fmt: skip
        assert refused.value.reason == "wrong-recipient"
        # Nor receipt it in Kazakhstan's name to have it deleted.
        forged = sign_receipt(
            run_id=run_id, party="kz-mia", result_sha256=result_digest(sealed),
            signing_key=am.trust.signing_key("am-mcs", now()), now=now(),
        )  # fmt: skip
        with pytest.raises(UnitRefused):
            client.receipt(run_id, "kz-mia", forged)
        # Nor open a transfer for Kazakhstan in the run.
        with pytest.raises(UnitRefused):
            client.put(run_id, "kz-mia", "opening", b"x.y.z")
    # Kazakhstan still collects its result.
    assert collect(linked, "KZ", case_id).candidates


def test_parties_that_encoded_differently_are_told_and_the_unit_keeps_nothing(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = accepted_run(linked)
    send(linked, "KZ", case_id)
    honest = encoding_parameters
    monkeypatch.setattr(party_module, "encoding_parameters", lambda: {**honest(), "salted": False})
    send(linked, "AM", case_id)
    deadline = time.monotonic() + 60
    while True:
        try:
            collect(linked, "KZ", case_id, timeout=1)
        except UnitRefused as refused:
            assert "409" in str(refused) and "could not be compared" in str(refused)
            break
        except AssertionError:
            assert time.monotonic() < deadline
    with pytest.raises(UnitRefused):
        collect(linked, "AM", case_id, timeout=1)
    leftovers = [p.name for p in unit_files(linked) if p.name not in ("run.json", ".lock")]
    assert leftovers == []


class InProcess:
    """A party's client of a linkage unit in this process: the unit's own calls, no HTTP."""

    def __init__(self, unit: LinkageUnit) -> None:
        self.unit = unit

    def step(self, run_id: str, sender: str) -> dict[str, Any] | None:
        try:
            return self.unit.step(AGREEMENT, run_id, sender).as_json()
        except NotFound:
            return None

    def put(self, run_id: str, sender: str, what: str, data: bytes) -> dict[str, Any]:
        unit = self.unit
        if what.startswith("chunks/"):
            index = int(what.removeprefix("chunks/"))
            return unit.put_chunk(AGREEMENT, run_id, sender, index, data).as_json()
        put = unit.put_opening if what == "opening" else unit.put_manifest
        return put(AGREEMENT, run_id, sender, data).as_json()


class AtOnce:
    """A thread that runs its work when started, before `start` returns: the comparison
    done (and both transfers deleted) before the manifest that started it is answered."""

    def __init__(self, target: Callable[[], None], **_: Any) -> None:
        self.target = target

    def start(self) -> None:
        self.target()


def test_the_manifest_that_ends_a_refused_run_is_answered_as_received(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = LinkageUnit.of(linked.unit, load_trust(linked.unit.settings, linked.unit.agreements))
    monkeypatch.setattr(unit_module.threading, "Thread", AtOnce)
    case_id = accepted_run(linked)
    send(linked, "KZ", case_id, unit)
    honest = encoding_parameters
    monkeypatch.setattr(party_module, "encoding_parameters", lambda: {**honest(), "salted": False})
    # Armenia's manifest completes the run, which is compared and refused at once: Armenia
    # is told its transfer arrived whole (`send` checks it), not that it is missing.
    send(linked, "AM", case_id, unit)
    with linked.pair.am.unit_of_work() as uow:
        run_id = run_of(uow, linked.party("AM").casework, case_id).proposal.run_id
    # Asked afterwards, the unit says the run is over, not that it never had a transfer.
    for sender in ("kz-mia", "am-mcs"):
        with pytest.raises(RunConflict, match="compared or refused already"):
            unit.step(AGREEMENT, run_id, sender)
    assert not (unit.root / AGREEMENT / run_id / "kz-mia").exists()


def test_a_receipt_sent_twice_at_once_deletes_the_result_once(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = LinkageUnit.of(linked.unit, load_trust(linked.unit.settings, linked.unit.agreements))
    monkeypatch.setattr(unit_module.threading, "Thread", AtOnce)
    case_id = accepted_run(linked)
    send(linked, "KZ", case_id, unit)
    send(linked, "AM", case_id, unit)
    kz = linked.party("KZ")
    with linked.pair.kz.unit_of_work() as uow:
        run_id = run_of(uow, kz.casework, case_id).proposal.run_id
    sealed = unit.result(AGREEMENT, run_id, "kz-mia")
    assert sealed is not None
    receipt = sign_receipt(
        run_id=run_id, party="kz-mia", result_sha256=result_digest(sealed),
        signing_key=kz.trust.signing_key("kz-mia", now()), now=now(),
    )  # fmt: skip
    # The retry of a receipt whose answer was lost arrives while the first is checked: it
    # runs whole inside the first one's check, which then finds the result gone.
    checked = unit_module.check_receipt
    retried = []

    def check_while_the_retry_runs(*args: Any, **kwargs: Any) -> None:
        checked(*args, **kwargs)
        if not retried:
            retried.append(True)
            unit.collected(AGREEMENT, run_id, "kz-mia", receipt)

    monkeypatch.setattr(unit_module, "check_receipt", check_while_the_retry_runs)
    unit.collected(AGREEMENT, run_id, "kz-mia", receipt)
    assert retried
    with linked.unit.unit_of_work() as uow:
        leaves = [AuditLeaf.decode(d) for d in uow.session.scalars(select(AuditLeafRow.data))]
    ours = f"linkage:{run_id}:result-deleted:collected-by:kz-mia"
    deleted = [leaf for leaf in leaves if leaf.reference == ours]
    assert len(deleted) == 1
    with pytest.raises(NotFound, match="collected"):
        unit.result(AGREEMENT, run_id, "kz-mia")
