"""A witness that rotates its key leaves its older cosignatures valid: `verify` checks each with
the key it was made with, found among every key the signed directories ever listed."""

from __future__ import annotations

from datetime import datetime, timedelta

from witness_steps import (
    OVERLAP,
    exchange_rounds,
    rotate_witness_key,
    some_traffic,
    verify_alone,
    witness_round,
)

from casework_steps import now
from migrex.audit import log as audit_log
from migrex.audit.cosigners import CosignerKey
from migrex.audit.findings import ProblemKind
from migrex.audit.log_keys import log_keys
from migrex.witness.keys import cosigner_keys
from nodes import Pair


def test_cosignatures_made_before_a_rotation_still_verify(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    before = verify_alone(pair.kz, pair.kz_trust)
    assert before.ok and before.cosignatures >= 1

    start = now()
    rotate_witness_key(pair, version=2, at=start)
    witness_round(pair.kz, pair.kz_trust)  # Kazakhstan keeps directory version 2
    report = verify_alone(pair.kz, pair.kz_trust)
    assert report.ok, report.problems
    assert report.cosignatures == before.cosignatures

    # What `verify` did before: only the witness's newest key. The old cosignatures fail.
    with pair.kz.unit_of_work() as uow:
        every = cosigner_keys(uow.session, pair.kz_trust)["am-police"]
        # The new key runs for its whole lifetime; the old one ends an overlap after `start`.
        newest = max(every, key=lambda key: key.not_after or start)
        newest_only = {"am-police": [newest]}
        old = audit_log.verify(uow.session, log_keys(pair.kz).verifiers, newest_only)
    assert {p.kind for p in old.problems} == {ProblemKind.COSIGNATURE}


def test_cosignatures_still_verify_once_the_old_key_has_left_the_directory(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    start = now()
    rotate_witness_key(pair, version=2, at=start)
    witness_round(pair.kz, pair.kz_trust)
    # After the overlap, version 3 lists only the new key.
    rotate_witness_key(pair, version=3, at=start + OVERLAP + timedelta(minutes=1))
    assert pair.kz_trust.directories["kz-am-2024"].version == 3
    current = pair.kz_trust.directories["kz-am-2024"].entry("am-police").signing_keys
    assert len(current) == 1

    report = verify_alone(pair.kz, pair.kz_trust)
    assert report.ok, report.problems
    assert report.cosignatures >= 1


def test_a_cosignature_dated_outside_its_keys_validity_fails(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    with pair.kz.unit_of_work() as uow:
        keys = cosigner_keys(uow.session, pair.kz_trust)["am-police"]
        ended = {"am-police": [CosignerKey(k.public_key, k.not_before, start_of(k)) for k in keys]}
        report = audit_log.verify(uow.session, log_keys(pair.kz).verifiers, ended)
    assert {p.kind for p in report.problems} == {ProblemKind.COSIGNATURE}
    assert all("not valid at the cosignature's time" in p.message for p in report.problems)


def start_of(key: CosignerKey) -> datetime:
    """An end for `key` that comes before any cosignature made with it, even one stating the
    second the key began in."""
    assert key.not_before is not None
    return key.not_before - timedelta(seconds=1)
