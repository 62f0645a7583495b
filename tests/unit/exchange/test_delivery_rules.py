"""The delivery rules, without a database: which refusals are final, the statuses' moves, and
which waiting messages get new times when their case's head is re-issued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migrex.envelope.model import REJECTION_REASONS
from migrex.exchange.delivery import (
    FINAL_REFUSALS,
    NEEDS_OPERATOR,
    REDATE_MARGIN,
    SETTLEABLE,
    TRANSITIONS,
    UNFINISHED,
    Status,
    is_final,
    needs_new_times,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_refusals_the_same_envelope_cannot_overcome_are_final() -> None:
    for reason in ("expired", "unknown-agreement", "wrong-recipient", "not-a-party",
                   "not-yet-valid"):  # fmt: skip
        assert is_final(reason), reason
    # A directory the receiver has not updated yet heals without a new envelope: retried.
    assert not is_final("unknown-sender-key") and not is_final("bad-signature")
    # What the receiver did not say, or says in a later version, is retried like a network
    # error: never set aside on a guess.
    assert not is_final(None) and not is_final("a-reason-from-the-future")
    assert FINAL_REFUSALS < REJECTION_REASONS


def test_refused_and_parked_messages_hold_their_case_until_an_operator_moves_them() -> None:
    assert set(NEEDS_OPERATOR) <= set(UNFINISHED)
    assert Status.DISCARDED not in UNFINISHED and Status.DELIVERED not in UNFINISHED
    assert TRANSITIONS[Status.IN_FLIGHT] >= {Status.REFUSED}
    for status in NEEDS_OPERATOR:
        assert TRANSITIONS[status] == {Status.PENDING, Status.DISCARDED}
    assert Status.IN_FLIGHT not in SETTLEABLE and Status.DELIVERED not in SETTLEABLE
    assert not TRANSITIONS[Status.DISCARDED] and not TRANSITIONS[Status.DELIVERED]


def test_a_waiting_message_gets_new_times_only_when_its_own_would_be_refused() -> None:
    week = timedelta(days=7)
    assert not needs_new_times(NOW - timedelta(days=1), NOW + timedelta(days=6), NOW)
    assert needs_new_times(NOW - week - timedelta(days=1), NOW - timedelta(days=1), NOW)
    # About to expire: it would be refused on the way.
    assert needs_new_times(NOW - week, NOW + REDATE_MARGIN, NOW)
    # Sealed by a clock that was ahead: issued in the future.
    assert needs_new_times(NOW + timedelta(hours=3), NOW + week, NOW)
