"""Receiving and relaying without a network: the relay's transport hands batches straight to
the other node's receiver, so both ends run for real against real databases."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, exc, func, select
from structlog.testing import capture_logs

from migrex import db
from migrex.envelope import MessageClaims, new_message_id, seal, verify_receipt
from migrex.exchange import receiver
from migrex.exchange import relay as relay_module
from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.receiver import ReceiverPolicy, receive_batch
from migrex.exchange.relay import Relay
from migrex.exchange.service import SendMessage, retry, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, SecurityEvent
from nodes import DirectTransport, Pair


def now() -> datetime:
    # The demo keys are made when the fixture runs, so "now" must be taken after that.
    return datetime.now(UTC)


POLICY = ReceiverPolicy({"kz-am-2024"}, 1_000_000, {"kz-am-2024": timedelta(days=7)})


def envelope(
    pair: Pair,
    message_id: str | None = None,
    *,
    recipient: str = "am-mcs",
    lifetime: timedelta = timedelta(days=1),
    body: dict[str, Any] | None = None,
    case_id: str = "case-1",
    issued_at: datetime | None = None,
) -> str:
    issued_at = issued_at or now()
    claims = MessageClaims(
        sender="kz-mia", recipient=recipient, agreement="kz-am-2024",
        message_id=message_id or new_message_id(), type="notice", case_id=case_id,
        in_reply_to=None, issued_at=issued_at, expires_at=issued_at + lifetime,
    )  # fmt: skip
    return seal(
        claims,
        body or {"text": "hello"},
        signing_key=pair.kz_trust.signing_key("kz-mia", now()),
        recipient_key=pair.kz_trust.recipient_key("kz-am-2024", recipient, now()),
    )


def receive(pair: Pair, tokens: Sequence[str]) -> list[dict[str, Any]]:
    with pair.am.unit_of_work() as uow:
        outcomes = receive_batch(uow, pair.am_trust, tokens, policy=POLICY, now=now(), peer="test")
    return [o.as_json() for o in outcomes]


def counts(pair: Pair) -> tuple[int, int]:
    with pair.am.unit_of_work() as uow:
        inbox = uow.session.scalar(select(func.count()).select_from(InboxMessage)) or 0
        events = uow.session.scalar(select(func.count()).select_from(SecurityEvent)) or 0
    return inbox, events


def test_accepted_envelope_is_stored_and_receipted(pair: Pair) -> None:
    token = envelope(pair)
    [outcome] = receive(pair, [token])
    assert outcome["status"] == "accepted"
    receipt = verify_receipt(
        outcome["receipt"],
        resolve_signing_key=pair.kz_trust.resolve_signing_key,
        expected_envelope_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expected_receiver="am-mcs",
    )
    assert receipt.message_id == outcome["message_id"]
    assert counts(pair) == (1, 0)


def test_the_door_stores_what_it_received_before_it_locks_the_log(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the lock on the log's head to the commit every other writer of the log waits: the
    door writes its inbox rows before, and only the receipts (which need the log's positions)
    after; each row then holds the receipt its sender was answered with."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    def bulk_insert(session: Any, table: Any, rows: Any) -> None:
        # PostgreSQL's COPY goes past SQLAlchemy's events: noted here for both databases.
        statements.append(f"bulk insert into {table.name}")
        db.bulk_insert(session, table, rows)

    monkeypatch.setattr(receiver, "bulk_insert", bulk_insert)
    tokens = [envelope(pair) for _ in range(3)]
    event.listen(pair.am.engine, "before_cursor_execute", seen)
    try:
        outcomes = receive(pair, tokens)
    finally:
        event.remove(pair.am.engine, "before_cursor_execute", seen)
    locked = next(n for n, s in enumerate(statements) if s.startswith("update audit_head"))
    assert statements.index("bulk insert into exchange_inbox") < locked
    assert not any("insert into exchange_inbox" in s for s in statements[locked:])
    with pair.am.unit_of_work() as uow:
        kept = dict(
            uow.session.execute(select(InboxMessage.message_id, InboxMessage.receipt)).all()
        )
    assert [o["status"] for o in outcomes] == ["accepted"] * 3
    assert kept == {o["message_id"]: o["receipt"] for o in outcomes}


def test_the_same_envelope_twice_is_stored_once_and_answered_with_the_same_receipt(
    pair: Pair,
) -> None:
    token = envelope(pair)
    first, second = receive(pair, [token, token])
    [third] = receive(pair, [token])
    assert (first["status"], second["status"], third["status"]) == (
        "accepted",
        "duplicate",
        "duplicate",
    )
    assert first["receipt"] == second["receipt"] == third["receipt"]
    assert counts(pair) == (1, 0)


def test_a_new_envelope_reusing_a_message_id_for_another_message_is_a_replay(pair: Pair) -> None:
    message_id = new_message_id()
    receive(pair, [envelope(pair, message_id)])
    [outcome] = receive(pair, [envelope(pair, message_id, case_id="case-2")])
    assert outcome["status"] == "rejected"
    assert outcome["problem"]["reason"] == "replayed"
    assert counts(pair) == (1, 1)


def test_a_message_reissued_in_a_new_envelope_is_answered_with_the_first_receipt(
    pair: Pair,
) -> None:
    """The sender sealed the message anew (new times, new bytes) as it had no receipt: the
    receiver holds it already, so it stores nothing and answers with the receipt it signed."""
    message_id = new_message_id()
    [first] = receive(pair, [envelope(pair, message_id)])
    reissued = envelope(pair, message_id, issued_at=now() + timedelta(minutes=2))
    [second] = receive(pair, [reissued])
    assert (first["status"], second["status"]) == ("accepted", "duplicate")
    assert second["receipt"] == first["receipt"]
    assert counts(pair) == (1, 0)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: "not an envelope at all", "malformed"),
        (lambda p: envelope(p)[:-8] + "AAAAAAAA", "undecryptable"),
        (lambda p: envelope(p, lifetime=timedelta(days=30)), "bad-claims"),
        (lambda p: "x" * 1_000_001, "oversized"),
    ],
)
def test_bad_envelopes_leave_only_a_security_event(pair: Pair, make: Any, reason: str) -> None:
    [outcome] = receive(pair, [make(pair)])
    assert outcome["status"] == "rejected"
    assert outcome["problem"]["reason"] == reason
    assert counts(pair) == (0, 1)


def relay_for(pair: Pair, transport: DirectTransport) -> Relay:
    return Relay(
        "test-relay", pair.kz.unit_of_work, pair.kz_trust, transport,
        policy=RetryPolicy(max_attempts=2, base=timedelta(0)), rng=random.Random(0),
    )  # fmt: skip


def send(pair: Pair, n: int, case: str) -> str:
    with pair.kz.unit_of_work() as uow:
        return send_message(
            uow, SendMessage("kz-am-2024", "kz-mia", "am-mcs", "notice", {"n": n}, case),
            agreements=pair.kz.agreements, hosted=pair.kz.settings.authorities,
            now=datetime.now(UTC),
        )  # fmt: skip


def test_relay_delivers_in_case_order_and_stores_receipts(pair: Pair) -> None:
    ids = [send(pair, n, f"case-{n % 2}") for n in range(6)]
    relay = relay_for(pair, DirectTransport(pair.am, pair.am_trust))
    while relay.run_once():
        pass
    with pair.kz.unit_of_work() as uow:
        assert set(uow.session.scalars(select(OutboxMessage.status))) == {Status.DELIVERED}
        assert set(uow.session.scalars(select(Receipt.message_id))) == set(ids)
    with pair.am.unit_of_work() as uow:
        received = uow.session.execute(
            select(InboxMessage.case_id, InboxMessage.message_id).order_by(InboxMessage.id)
        ).all()
    for case in ("case-0", "case-1"):
        assert [m for c, m in received if c == case] == [
            m for n, m in enumerate(ids) if f"case-{n % 2}" == case
        ]


def test_an_unreachable_partner_means_retry_then_park_never_loss(pair: Pair) -> None:
    message_id = send(pair, 1, "case-x")
    transport = DirectTransport(pair.am, pair.am_trust)
    transport.failing = True
    relay = relay_for(pair, transport)
    with capture_logs() as logs:
        relay.run_once()
        relay.run_once()
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts, row.last_error) == (
            Status.PARKED,
            2,
            "connection refused",
        )
    # The operator reads both in the log: a failed try, then the message parked.
    assert [(e["log_level"], e["event"][:24], e["causes"]) for e in logs] == [
        ("warning", "delivery failed, tried a", {"connection refused": 1}),
        ("error", "messages parked after th", {"connection refused": 1}),
    ]
    assert (logs[0]["tries"], logs[1]["messages"]) == (1, 1)
    assert logs[1]["first"] == [message_id]
    transport.failing = False
    assert relay.run_once() == 0  # parked messages wait for an operator
    with pair.kz.unit_of_work() as uow:
        assert retry(uow, [message_id], datetime.now(UTC)) == 1
    relay.run_once()
    assert counts(pair) == (1, 0)


def _settling_fails_once(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The relay's next settling (after it posted: the partner holds the message) fails."""
    real, failed = relay_module.mark_delivered, []

    def failing_once(*args: Any, **kwargs: Any) -> None:
        if not failed:
            failed.append(error)
            raise error
        real(*args, **kwargs)

    monkeypatch.setattr(relay_module, "mark_delivered", failing_once)


def _outbox_row(pair: Pair) -> tuple[str, int]:
    with pair.kz.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        return row.status, row.attempts


def test_a_round_the_database_fails_puts_its_messages_back_in_line(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(pair, 1, "case-db")
    relay = relay_for(pair, DirectTransport(pair.am, pair.am_trust))
    dropped = exc.OperationalError("UPDATE exchange_outbox", {}, Exception("connection lost"))
    _settling_fails_once(monkeypatch, dropped)
    with pytest.raises(exc.OperationalError):
        relay.run_once()
    assert _outbox_row(pair) == (Status.IN_FLIGHT, 1)  # its lease runs for a minute
    assert relay.run_once() == 1  # put back in line, claimed and sent again at once
    assert _outbox_row(pair) == (Status.DELIVERED, 2)
    assert counts(pair) == (1, 0)  # the partner answered the second sending as a duplicate


def test_a_round_a_fault_in_the_code_fails_leaves_its_messages_to_their_lease(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(pair, 1, "case-fault")
    relay = relay_for(pair, DirectTransport(pair.am, pair.am_trust))
    _settling_fails_once(monkeypatch, RuntimeError("a fault"))
    with pytest.raises(RuntimeError):
        relay.run_once()
    assert relay.run_once() == 0  # not sent again every round: it waits for its lease
    assert _outbox_row(pair) == (Status.IN_FLIGHT, 1)


def test_the_same_envelope_received_twice_at_once_is_stored_once(pair: Pair) -> None:
    if pair.am.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    token = envelope(pair)
    barrier = threading.Barrier(2)
    outcomes: list[dict[str, Any]] = []

    def deliver() -> None:
        barrier.wait()
        outcomes.extend(receive(pair, [token]))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o["status"] for o in outcomes) == ["accepted", "duplicate"]
    assert outcomes[0]["receipt"] == outcomes[1]["receipt"]
    assert counts(pair) == (1, 0)


def test_a_batch_overtaken_twice_by_requests_carrying_its_messages_answers_them_all(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of two messages whose first is stored by another request while the batch is
    read, then its second by a third request while the batch is read again (relays that each
    sent one of them again after a timeout): each message is answered with its receipt."""
    tokens = [envelope(pair), envelope(pair)]
    real, calls, inside_other = receiver._inbox_row, [0], [False]
    # The batch's first pass makes a row of each message (calls 1 and 2), its second pass one
    # of the second only (call 3): the other requests come at calls 1 and 3.
    overtaking = {1: tokens[0], 3: tokens[1]}

    def another_request_stores_it_first(*args: Any) -> dict[str, Any]:
        if inside_other[0]:  # a row of the other request's own
            return real(*args)
        calls[0] += 1
        token = overtaking.pop(calls[0], None)
        if token is not None:
            inside_other[0] = True
            [outcome] = receive(pair, [token])
            inside_other[0] = False
            assert outcome["status"] == "accepted"
        return real(*args)

    monkeypatch.setattr(receiver, "_inbox_row", another_request_stores_it_first)
    outcomes = receive(pair, tokens)
    assert [o["status"] for o in outcomes] == ["duplicate", "duplicate"]
    with pair.am.unit_of_work() as uow:
        kept = dict(
            uow.session.execute(select(InboxMessage.message_id, InboxMessage.receipt)).all()
        )
    assert kept == {o["message_id"]: o["receipt"] for o in outcomes}
