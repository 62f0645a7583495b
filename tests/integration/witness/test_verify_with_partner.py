"""`audit verify --with-partner`: a log rewritten so that it agrees with itself is caught by
what the partner holds of it (the checkpoints it cosigned, the heads our receipts stated).

Each test first shows that the log, verified alone, is intact: that is the gap these close.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from witness_steps import (
    DirectHeadsClient,
    decisions,
    exchange_rounds,
    last_checkpoint_size,
    leaves_of,
    rewrite_log,
    some_traffic,
    verify_alone,
    verify_with_partner,
)

from casework_steps import now
from migrex.audit.checkpoint import Checkpoint, format_checkpoint, sign_note
from migrex.audit.findings import ProblemKind
from migrex.audit.log_keys import log_keys
from migrex.audit.tables import AuditPartnerHead
from migrex.exchange.tables import SecurityEvent
from migrex.witness import partner_heads
from migrex.witness.node import witnessing_node
from migrex.witness.partner_heads import HeadsRequestRefused, sign_heads_request
from migrex.witness.with_partner import verify_with_partners
from nodes import Pair


def kinds(report: object) -> set[ProblemKind]:
    return {problem.kind for problem in report.problems}  # type: ignore[attr-defined]


def kz_heads_held_by_am(pair: Pair) -> list[int]:
    with pair.am.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(AuditPartnerHead.size)))


@pytest.fixture
def witnessed(pair: Pair) -> Pair:
    """Both logs cosigned by the partner, then more of Armenia's traffic: Armenia holds heads
    of Kazakhstan's log, from Kazakhstan's receipts, beyond Kazakhstan's last checkpoint."""
    some_traffic(pair)
    exchange_rounds(pair)
    some_traffic(pair)
    return pair


def test_an_untouched_log_agrees_with_everything_the_partner_holds(witnessed: Pair) -> None:
    report, held = verify_with_partner(witnessed)
    assert report.ok, report.problems
    assert held.asked == ["am-police"] and held.unverifiable == 0
    # Cosigned checkpoints and receipt heads, each checked against the rebuilt tree.
    assert report.partner_heads == len(held.heads) >= 3
    assert {h.source.split()[0] for h in held.heads} == {"the", "our"}


def test_a_removed_tail_is_a_rollback(witnessed: Pair) -> None:
    checkpointed = last_checkpoint_size(witnessed.kz)
    assert max(kz_heads_held_by_am(witnessed)) > checkpointed
    rewrite_log(witnessed.kz, leaves_of(witnessed.kz)[:checkpointed])
    assert verify_alone(witnessed.kz, witnessed.kz_trust).ok  # the log agrees with itself

    report, _ = verify_with_partner(witnessed)
    assert not report.ok
    assert kinds(report) == {ProblemKind.ROLLBACK}
    assert all(p.position and p.position > checkpointed for p in report.problems)


def test_a_tail_rewritten_past_the_partners_heads_is_a_fork(witnessed: Pair) -> None:
    checkpointed = last_checkpoint_size(witnessed.kz)
    kept = leaves_of(witnessed.kz)[:checkpointed]
    grown = max(kz_heads_held_by_am(witnessed)) + 5 - checkpointed
    rewrite_log(witnessed.kz, kept + decisions(grown, "rewritten"))
    assert verify_alone(witnessed.kz, witnessed.kz_trust).ok

    report, _ = verify_with_partner(witnessed)
    assert not report.ok
    assert kinds(report) == {ProblemKind.FORK}
    assert all(p.position and p.position > checkpointed for p in report.problems)


def test_a_whole_log_re_signed_without_its_cosignatures_is_a_fork(witnessed: Pair) -> None:
    leaves = leaves_of(witnessed.kz)
    # The first entry changed: who acted. Every checkpoint and cosignature is dropped and
    # the rewritten log signed afresh with the node's own key.
    leaves[0] = dataclasses.replace(leaves[0], actor="somebody-else")
    rewrite_log(witnessed.kz, leaves, resign=True)
    alone = verify_alone(witnessed.kz, witnessed.kz_trust)
    assert alone.ok and alone.checkpoints == 1 and alone.cosignatures == 0

    report, _ = verify_with_partner(witnessed)
    assert not report.ok
    assert kinds(report) == {ProblemKind.FORK}
    # Every head the partner holds is of a tree that held the original entry.
    assert len(report.problems) == report.partner_heads


def test_heads_are_given_only_to_the_node_whose_log_they_are(witnessed: Pair) -> None:
    client = DirectHeadsClient(witnessed.am, witnessed.am_trust)
    origin = log_keys(witnessed.kz).origin
    key = witnessed.kz_trust.signing_key("kz-mia", now())
    answer = client.ask("", sign_heads_request(origin, "kz-mia", 0, key, now()))
    assert answer["origin"] == origin and answer["receipts"] and answer["checkpoints"]
    # Armenia's own log, asked for by Kazakhstan; a request signed with another key; an old one.
    am_origin = log_keys(witnessed.am).origin
    refused = [
        sign_heads_request(am_origin, "kz-mia", 0, key, now()),
        sign_heads_request(origin, "kz-mlsp", 0, key, now()),
        sign_heads_request(origin, "kz-mia", 0, key, now().replace(year=2025)),
        "not.a.jws",
    ]
    for request in refused:
        with pytest.raises(HeadsRequestRefused):
            client.ask("", request)
    with witnessed.am.unit_of_work() as uow:  # each noted in Armenia's security log
        reasons = uow.session.scalars(select(SecurityEvent.reason)).all()
    assert reasons.count("heads-refused") == len(refused)


class ForgingClient(DirectHeadsClient):
    """A partner that adds heads of our log it made up to what it holds."""

    def ask(self, endpoint: str, request: str) -> Mapping[str, Any]:
        answer = dict(super().ask(endpoint, request))
        origin = str(answer["origin"])
        forged = Checkpoint(origin, 10_000, b"\x07" * 32)
        note = sign_note(format_checkpoint(forged), origin, Ed25519PrivateKey.generate())
        answer["checkpoints"] = [*answer["checkpoints"], note]
        answer["receipts"] = [*answer["receipts"], "eyJ9.e30.AAAA"]
        return answer


def test_heads_a_partner_makes_up_are_ignored(witnessed: Pair) -> None:
    client = ForgingClient(witnessed.am, witnessed.am_trust)
    with witnessed.kz.unit_of_work() as uow:
        report, held = verify_with_partners(
            uow.session, witnessed.kz_trust, witnessing_node(witnessed.kz, witnessed.kz_trust),
            log_keys(witnessed.kz), client, now=now(),
        )  # fmt: skip
    assert held.unverifiable == 2
    assert report.ok, report.problems


def test_the_heads_come_page_by_page(witnessed: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    _, whole = verify_with_partner(witnessed)
    monkeypatch.setattr(partner_heads, "PAGE_SIZES", 1)
    report, paged = verify_with_partner(witnessed)
    assert report.ok and len(paged.heads) == len(whole.heads) >= 3
    assert sorted(h.size for h in paged.heads) == sorted(h.size for h in whole.heads)
