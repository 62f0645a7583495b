"""The outbox on both databases: claiming, order within a case, retries, parking, leases."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from migrex.db import make_engine, make_session_factory
from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.outbox import (
    OutgoingMessage,
    claim,
    enqueue,
    mark_delivered,
    mark_failed,
    mark_refused,
    retry_parked,
    store_envelopes,
)
from migrex.exchange.tables import OutboxMessage

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def message(n: int, case: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"00000000-0000-7000-8000-{n:012d}",
        agreement_id="kz-am-2024",
        sender="kz-mia",
        recipient="am-mcs",
        type="notice",
        body={"n": n},
        issued_at=NOW,
        expires_at=NOW + timedelta(days=1),
        case_id=case,
    )


def fill(engine: Engine, messages: list[OutgoingMessage]) -> None:
    with make_session_factory(engine).begin() as session:
        for each in messages:
            enqueue(session, each, NOW)


def claim_ids(engine: Engine, relay: str = "r1", at: datetime = NOW, limit: int = 100) -> list[str]:
    with make_session_factory(engine).begin() as session:
        return [
            row.message_id
            for row in claim(session, relay_id=relay, now=at, limit=limit, lease=LEASE)
        ]


def claims_held(engine: Engine) -> dict[str, str | None]:
    """Each message's claim token as the outbox names it now."""
    with make_session_factory(engine)() as session:
        return {row.message_id: row.claimed_by for row in session.scalars(select(OutboxMessage))}


def statuses(engine: Engine) -> dict[str, str]:
    with make_session_factory(engine)() as session:
        return {row.message_id: row.status for row in session.scalars(select(OutboxMessage))}


def test_only_the_head_of_each_case_is_claimed(engine: Engine) -> None:
    fill(engine, [message(1, "case-a"), message(2, "case-a"), message(3, "case-b"), message(4)])
    first = claim_ids(engine)
    assert first == [message(1).message_id, message(3).message_id, message(4).message_id]
    assert claim_ids(engine) == []  # case-a's second message waits for its first
    with make_session_factory(engine).begin() as session:
        mark_delivered(session, [message(1).message_id], NOW)
    assert claim_ids(engine) == [message(2).message_id]


def test_failures_back_off_then_park_and_block_their_case(engine: Engine) -> None:
    fill(engine, [message(1, "case-a"), message(2, "case-a")])
    policy = RetryPolicy(max_attempts=2, base=timedelta(seconds=10))
    rng = random.Random(1)
    at = NOW
    for attempt in (1, 2):
        assert claim_ids(engine, at=at) == [message(1).message_id]
        with make_session_factory(engine).begin() as session:
            parked = mark_failed(
                session,
                {message(1).message_id: "connection refused"},
                claims=claims_held(engine),
                now=at,
                policy=policy,
                rng=rng,
            )
        assert parked == ([] if attempt == 1 else [message(1).message_id])
        at += timedelta(minutes=5)
    assert statuses(engine)[message(1).message_id] == Status.PARKED
    assert claim_ids(engine, at=at + timedelta(hours=1)) == []  # parked head blocks its case
    with make_session_factory(engine).begin() as session:
        assert retry_parked(session, None, at) == 1
    assert claim_ids(engine, at=at) == [message(1).message_id]


def test_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    fill(engine, [message(1)])
    assert claim_ids(engine, relay="dead") == [message(1).message_id]
    assert claim_ids(engine, relay="other") == []
    assert claim_ids(engine, relay="other", at=NOW + LEASE + timedelta(seconds=1)) == [
        message(1).message_id
    ]
    with make_session_factory(engine)() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert (
            row.attempts == 2 and row.claimed_by is not None and row.claimed_by.startswith("other:")
        )


def test_a_claim_whose_lease_ran_out_cannot_settle_a_failure(engine: Engine) -> None:
    """A relay that failed a message after its lease ran out, while another relay claimed it
    again, or after that relay delivered it, leaves the row as the other claim has it."""
    fill(engine, [message(1, "case-a"), message(2, "case-a")])
    first = message(1).message_id
    assert claim_ids(engine, relay="slow") == [first]
    slow = claims_held(engine)
    assert claim_ids(engine, relay="quick", at=NOW + LEASE + timedelta(seconds=1)) == [first]
    quick = claims_held(engine)
    assert quick[first] != slow[first]
    policy = RetryPolicy(max_attempts=1)
    with make_session_factory(engine).begin() as session:
        parked = mark_failed(session, {first: "timeout"}, claims=slow, now=NOW, policy=policy,
                             rng=random.Random(1))  # fmt: skip
        refused = mark_refused(session, {first: ("expired", "too late")}, claims=slow, now=NOW)
    assert (parked, refused) == ([], [])
    assert statuses(engine)[first] == Status.IN_FLIGHT and claims_held(engine) == quick
    with make_session_factory(engine).begin() as session:
        mark_delivered(session, [first], NOW)
        mark_failed(session, {first: "timeout"}, claims=quick, now=NOW, policy=policy,
                    rng=random.Random(1))  # fmt: skip
    # Delivered stays delivered: the case's next message is not held behind it again.
    assert statuses(engine)[first] == Status.DELIVERED
    assert claim_ids(engine, at=NOW + LEASE * 3) == [message(2).message_id]
    # The claim that holds the row settles it.
    with make_session_factory(engine).begin() as session:
        parked = mark_failed(session, {message(2).message_id: "timeout"},
                             claims=claims_held(engine), now=NOW, policy=policy,
                             rng=random.Random(1))  # fmt: skip
    assert parked == [message(2).message_id]


@pytest.mark.postgres
def test_a_claim_is_planned_for_the_values_it_binds(postgres_database: str) -> None:
    """PostgreSQL may plan a prepared statement once for any values after five runs; the
    claim's plan made so scans the outbox once per candidate row. The claim is never
    prepared, so each run is planned for its values; the node's other statements still are
    prepared after five runs, and the connection keeps its threshold."""
    engine = make_engine(postgres_database)
    prepared = text("SELECT statement FROM pg_prepared_statements")
    try:
        with make_session_factory(engine).begin() as session:
            for _ in range(7):
                claim(session, relay_id="r1", now=NOW, limit=10, lease=LEASE)
                session.scalar(select(OutboxMessage.id).limit(1))
            statements = list(session.scalars(prepared))
            assert not [s for s in statements if s.startswith("UPDATE exchange_outbox")]
            assert [s for s in statements if s.startswith("SELECT exchange_outbox.id")]
            driver = session.connection().connection.driver_connection
            assert driver.prepare_threshold == 5
    finally:
        engine.dispose()


def test_a_retry_waits_for_its_backoff(engine: Engine) -> None:
    fill(engine, [message(1)])
    claim_ids(engine)
    policy = RetryPolicy(base=timedelta(seconds=100))
    with make_session_factory(engine).begin() as session:
        mark_failed(
            session, {message(1).message_id: "503"}, claims=claims_held(engine), now=NOW,
            policy=policy, rng=random.Random(3),
        )  # fmt: skip
        due = session.scalars(select(OutboxMessage.next_attempt_at)).one()
    assert due.tzinfo is not None and NOW < due <= NOW + timedelta(seconds=100)
    assert claim_ids(engine, at=due - timedelta(microseconds=1)) == []
    assert claim_ids(engine, at=due) == [message(1).message_id]


def test_concurrent_relays_never_claim_the_same_message(engine: Engine) -> None:
    fill(engine, [message(n) for n in range(400)])
    barrier = threading.Barrier(4)
    claimed: list[list[str]] = []

    def relay(name: str) -> None:
        barrier.wait()
        for _ in range(3):
            claimed.append(claim_ids(engine, relay=name, limit=40))

    threads = [threading.Thread(target=relay, args=(f"r{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for batch in claimed for message_id in batch]
    assert (
        len(everything)
        == len(set(everything))
        == 400 - sum(1 for status in statuses(engine).values() if status == Status.PENDING)
    )
    assert len(everything) > 0


def test_expired_leases_are_looked_for_only_when_asked(engine: Engine) -> None:
    fill(engine, [message(1), message(2)])
    assert claim_ids(engine, relay="dead", limit=1) == [message(1).message_id]
    later = NOW + LEASE + timedelta(seconds=1)
    with make_session_factory(engine).begin() as session:
        rows = claim(session, relay_id="r", now=later, limit=10, lease=LEASE, expired=False)
        assert [row.message_id for row in rows] == [message(2).message_id]
    assert claim_ids(engine, relay="r", at=later) == [message(1).message_id]


def test_sealed_envelopes_are_kept_for_every_retry(engine: Engine) -> None:
    fill(engine, [message(1)])
    with make_session_factory(engine).begin() as session:
        [row] = claim(session, relay_id="r", now=NOW, limit=10, lease=LEASE)
        assert row.envelope is None
        row.envelope, row.envelope_sha256 = "sealed", "0" * 64
        store_envelopes(session, [row])
    later = NOW + LEASE + timedelta(seconds=1)
    with make_session_factory(engine).begin() as session:
        [again] = claim(session, relay_id="r", now=later, limit=10, lease=LEASE)
    assert (again.envelope, again.envelope_sha256, again.attempts) == ("sealed", "0" * 64, 2)


def test_an_envelope_is_stored_only_where_its_claim_still_holds_the_row(engine: Engine) -> None:
    fill(engine, [message(1), message(2)])
    with make_session_factory(engine).begin() as session:
        first, second = claim(session, relay_id="slow", now=NOW, limit=10, lease=LEASE)
    later = NOW + LEASE + timedelta(seconds=1)
    with make_session_factory(engine).begin() as session:
        # The slow relay's lease has run out: another claims the first message, seals it.
        [taken] = claim(session, relay_id="other", now=later, limit=1, lease=LEASE)
        taken.envelope, taken.envelope_sha256 = "theirs", "1" * 64
        assert store_envelopes(session, [taken]) == {first.id}
    for row in (first, second):
        row.envelope, row.envelope_sha256 = "ours", "2" * 64
    with make_session_factory(engine).begin() as session:
        assert store_envelopes(session, [first, second]) == {second.id}
    with make_session_factory(engine).begin() as session:
        # Stored once, never replaced, even by the claim that holds the row.
        assert store_envelopes(session, [second]) == {second.id}
        taken.envelope, taken.envelope_sha256 = "again", "3" * 64
        assert store_envelopes(session, [taken]) == set()
    with make_session_factory(engine)() as session:
        stored = dict(
            session.execute(select(OutboxMessage.message_id, OutboxMessage.envelope)).all()
        )
    assert stored == {message(1).message_id: "theirs", message(2).message_id: "ours"}
