"""The witness holds a partner's checkpoints to the heads the partner's receipts stated: a
checkpoint smaller than a head seen well before it, or one that does not extend a head, is a
split view, refused and reported; an honest log is cosigned once it proves each head."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from witness_steps import (
    decisions,
    exchange_rounds,
    last_checkpoint_size,
    leaves_of,
    rewrite_log,
    some_traffic,
    witness_round,
)

from casework_steps import deliver, now
from migrex.audit.log_keys import log_keys
from migrex.audit.tables import AuditCheckpoint, AuditPartnerHead, AuditWitnessed
from migrex.exchange.tables import SecurityEvent
from nodes import Pair


@pytest.fixture
def witnessed(pair: Pair) -> Pair:
    some_traffic(pair)
    exchange_rounds(pair)
    some_traffic(pair)  # Armenia now holds heads of Kazakhstan's log beyond its checkpoints
    return pair


def kz_round_to_am(pair: Pair) -> None:
    """Kazakhstan sends its checkpoint; Armenia witnesses it and answers."""
    witness_round(pair.kz, pair.kz_trust)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    witness_round(pair.am, pair.am_trust)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def split_views(pair: Pair) -> list[str]:
    with pair.am.unit_of_work() as uow:
        return list(uow.session.scalars(
            select(SecurityEvent.detail).where(SecurityEvent.reason == "split-view")))  # fmt: skip


def kz_witnessed_sizes(pair: Pair) -> list[int]:
    origin = log_keys(pair.kz).origin
    with pair.am.unit_of_work() as uow:
        return sorted(uow.session.scalars(
            select(AuditWitnessed.size).where(AuditWitnessed.origin == origin)))  # fmt: skip


def largest_kz_head(pair: Pair) -> int:
    with pair.am.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.max(AuditPartnerHead.size))) or 0)


def test_an_honest_log_proves_every_head_and_is_cosigned(witnessed: Pair) -> None:
    head = largest_kz_head(witnessed)
    assert kz_witnessed_sizes(witnessed)[-1] < head
    for _ in range(2):  # the first answer asks for proofs from the heads, the second cosigns
        kz_round_to_am(witnessed)
    assert split_views(witnessed) == []
    assert kz_witnessed_sizes(witnessed)[-1] >= head
    with witnessed.am.unit_of_work() as uow:
        waiting = uow.session.scalars(
            select(AuditPartnerHead.size).where(
                AuditPartnerHead.reconciled_at.is_(None),
                AuditPartnerHead.size <= kz_witnessed_sizes(witnessed)[-1],
            )
        ).all()
    assert waiting == []  # every head up to the last cosigned checkpoint was proven


def test_under_steady_traffic_each_checkpoint_is_proven_and_cosigned(witnessed: Pair) -> None:
    # New heads reach the witness between every checkpoint and its second showing.
    cosigned = []
    for _ in range(4):
        some_traffic(witnessed)
        kz_round_to_am(witnessed)
        some_traffic(witnessed)
        kz_round_to_am(witnessed)
        cosigned.append(kz_witnessed_sizes(witnessed)[-1])
    assert split_views(witnessed) == []
    assert cosigned == sorted(set(cosigned))  # a larger checkpoint cosigned every time


def test_a_checkpoint_shown_again_later_is_judged_by_when_it_was_signed(
    witnessed: Pair,
) -> None:
    kz_round_to_am(witnessed)  # a new checkpoint; Armenia asks for proofs from its heads
    with witnessed.kz.unit_of_work() as uow:
        shown = uow.session.scalars(
            select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
        ).one()
        size = shown.size
        shown.created_at = now() - timedelta(minutes=10)  # signed a while ago
        uow.commit()
    assert kz_witnessed_sizes(witnessed)[-1] < size
    some_traffic(witnessed)  # heads beyond it, from receipts given after it was signed
    with witnessed.am.unit_of_work() as uow:
        uow.session.execute(
            update(AuditPartnerHead)
            .where(AuditPartnerHead.size > size)
            .values(signed_at=now() - timedelta(minutes=5))
        )
        uow.commit()
    kz_round_to_am(witnessed)  # the same checkpoint again, with the proofs
    assert split_views(witnessed) == []
    assert kz_witnessed_sizes(witnessed)[-1] == size


def test_a_checkpoint_smaller_than_an_earlier_receipt_head_is_a_rollback(witnessed: Pair) -> None:
    checkpointed = last_checkpoint_size(witnessed.kz)
    head = largest_kz_head(witnessed)
    assert head > checkpointed
    with witnessed.am.unit_of_work() as uow:  # the receipts were given a while ago
        uow.session.execute(update(AuditPartnerHead).values(signed_at=now() - timedelta(minutes=5)))
        uow.commit()
    # The tail removed, and one new entry written, so the log has something to show.
    rewrite_log(witnessed.kz, leaves_of(witnessed.kz)[:checkpointed] + decisions(1, "new"))
    kz_round_to_am(witnessed)
    [detail] = split_views(witnessed)
    assert "rolled back" in detail
    assert kz_witnessed_sizes(witnessed)[-1] <= checkpointed


def test_a_checkpoint_that_does_not_extend_a_receipt_head_is_a_fork(witnessed: Pair) -> None:
    checkpointed = last_checkpoint_size(witnessed.kz)
    kept = leaves_of(witnessed.kz)[:checkpointed]
    rewritten = decisions(largest_kz_head(witnessed) + 5 - checkpointed, "rewritten")
    rewrite_log(witnessed.kz, kept + rewritten)
    for _ in range(2):  # the first answer asks for proofs; the proofs do not hold
        kz_round_to_am(witnessed)
    [detail] = split_views(witnessed)
    assert "another history" in detail
    assert kz_witnessed_sizes(witnessed)[-1] <= checkpointed
