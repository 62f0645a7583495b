"""Requests that meet on the same rows, on both databases: two relays settling one message, an
operator's discard or re-issue while a relay claims it. Each race is played out in a fixed
order: the second request runs inside a step of the first, where a real one could come.

Armenia's node (on the parametrised database) sends; Kazakhstan's receives, in-process.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.exchange import outbox as outbox_module
from migrex.exchange import relay as relay_module
from migrex.exchange import service
from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.outbox import Claimed, claim
from migrex.exchange.relay import Relay
from migrex.exchange.service import (
    NotAwaitingOperator,
    SendMessage,
    discard,
    retry,
    send_message,
)
from migrex.exchange.tables import OutboxMessage, Receipt
from migrex.node import Node
from nodes import DirectTransport, Pair

AGREEMENT = "kz-am-2024"
LEASE = timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def send(node: Node, case: str, at: datetime) -> str:
    with node.unit_of_work() as uow:
        return send_message(
            uow, SendMessage(AGREEMENT, "am-mcs", "kz-mia", "notice", {"n": 1}, case),
            agreements=node.agreements, hosted=node.settings.authorities, now=at,
        )  # fmt: skip


def relay(pair: Pair, name: str, clock: Clock) -> Relay:
    return Relay(name, pair.am.unit_of_work, pair.am_trust, DirectTransport(pair.kz, pair.kz_trust),
                 clock=clock, rng=random.Random(0), policy=RetryPolicy(lease=LEASE))  # fmt: skip


def logged(node: Node, message_id: str) -> Counter[str]:
    """The node's log entries about the message, by kind."""
    with node.unit_of_work() as uow:
        return Counter(uow.session.scalars(
            select(AuditLeafRow.kind).where(AuditLeafRow.message_id == message_id)
        ))  # fmt: skip


def test_a_receipt_two_relays_settle_at_once_is_stored_and_logged_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first relay's lease ran out while it waited for the partner; a second relay sent the
    message again and got the same receipt. The second stores it while the first, which has
    looked and found none stored, is about to."""
    clock = Clock()
    message_id = send(pair.am, "case-r", clock.now)
    first, second = relay(pair, "first", clock), relay(pair, "second", clock)
    real, raced = relay_module._receipted, []

    def second_settles_meanwhile(session: Session, message_ids: list[str]) -> Any:
        known = real(session, message_ids)
        if not raced:
            raced.append(True)
            clock.now += 2 * LEASE  # the first relay's lease has run out
            assert second.run_once() == 1
        return known

    monkeypatch.setattr(relay_module, "_receipted", second_settles_meanwhile)
    assert first.run_once() == 1
    assert raced
    with pair.am.unit_of_work() as uow:
        assert list(uow.session.scalars(select(Receipt.message_id))) == [message_id]
    assert logged(pair.am, message_id) == {LeafKind.MESSAGE_SENT: 1, LeafKind.RECEIPT: 1}


@pytest.fixture
def claims_meanwhile(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], list[Claimed]]]:
    """A relay of the running node claims what is due just after the operator's command has
    read the rows it settles; the function returns what it claimed, once it is done."""
    real, claimed, threads = service.settleable, [], []

    def read_then_relay_claims(session: Session, message_ids: Sequence[str]) -> Any:
        rows = real(session, message_ids)

        def relay_claims() -> None:
            with pair.am.unit_of_work() as uow:
                claimed.extend(claim(uow.session, relay_id="relay", now=datetime.now(UTC),
                                     limit=10, lease=LEASE))  # fmt: skip
                uow.commit()

        thread = threading.Thread(target=relay_claims)
        threads.append(thread)
        thread.start()
        thread.join(0.5)  # at once, unless the command holds the relay off until it is done
        return rows

    def relay_claimed() -> list[Claimed]:
        for thread in threads:
            thread.join()
        return claimed

    monkeypatch.setattr(service, "settleable", read_then_relay_claims)
    yield relay_claimed
    relay_claimed()


def outbox_row(node: Node, message_id: str) -> OutboxMessage:
    with node.unit_of_work() as uow:
        return uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()


def administered(node: Node) -> list[bytes]:
    with node.unit_of_work() as uow:
        return list(uow.session.scalars(
            select(AuditLeafRow.data).where(AuditLeafRow.kind == LeafKind.ADMINISTRATION)
        ))  # fmt: skip


def test_a_message_discarded_as_a_relay_claims_it_is_not_also_sent(
    pair: Pair, claims_meanwhile: Callable[[], list[Claimed]]
) -> None:
    message_id = send(pair.am, "case-d", datetime.now(UTC))
    try:
        with pair.am.unit_of_work() as uow:
            discard(uow, message_id, "sent by mistake", now=datetime.now(UTC), actor="cli:op")
    except NotAwaitingOperator:
        pass  # the relay claimed it first: it is in flight, and not discarded
    held = [c.message_id for c in claims_meanwhile()]
    row = outbox_row(pair.am, message_id)
    # One of the two has it, never both: a discarded message the relay sends anyway reaches
    # the partner while its case is told it never will.
    assert (row.status, held) in [
        (Status.DISCARDED, []), (Status.IN_FLIGHT, [message_id])
    ]  # fmt: skip
    discards = [leaf for leaf in administered(pair.am) if b"outbox-discarded" in leaf]
    assert len(discards) == (row.status == Status.DISCARDED)


def test_a_parked_message_retried_twice_at_once_is_retried_and_logged_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two operators (or a double click on the case page) put one parked message back in line
    at once: the second reads it parked just after the first did."""
    message_id = send(pair.am, "case-p", datetime.now(UTC))
    down = DirectTransport(pair.kz, pair.kz_trust)
    down.failing = True
    Relay("relay", pair.am.unit_of_work, pair.am_trust, down,
          policy=RetryPolicy(max_attempts=1)).run_once()  # fmt: skip
    assert outbox_row(pair.am, message_id).status == Status.PARKED

    def retry_now() -> int | str:
        try:
            with pair.am.unit_of_work() as uow:
                return retry(uow, [message_id], datetime.now(UTC), actor="cli:op")
        except NotAwaitingOperator as refused:
            return refused.type_slug

    real, answers = service.settleable, []
    second = threading.Thread(target=lambda: answers.append(retry_now()))

    def the_second_reads_it_too(session: Session, message_ids: Sequence[str]) -> Any:
        rows = real(session, message_ids)
        if second.ident is None:
            second.start()
            second.join(0.5)  # at once, unless the first holds it off until it is done
        return rows

    monkeypatch.setattr(service, "settleable", the_second_reads_it_too)
    answers.append(retry_now())
    second.join()
    assert sorted(answers, key=str) == [1, "not-awaiting-operator"]
    retried = [leaf for leaf in administered(pair.am) if b"retried-" in leaf]
    assert len(retried) == 1


def test_a_failure_settled_as_another_relay_claims_the_message_leaves_that_claim_alone(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first relay's lease runs out as it settles a failed delivery: another relay claims
    the message just after the first found it still held by its claim."""
    clock = Clock()
    message_id = send(pair.am, "case-f", clock.now)
    down = DirectTransport(pair.kz, pair.kz_trust)
    down.failing = True
    first = Relay("first", pair.am.unit_of_work, pair.am_trust, down, clock=clock,
                  rng=random.Random(0), policy=RetryPolicy(lease=LEASE))  # fmt: skip
    real, claimed = outbox_module._still_held, []

    def claim_as_another_relay() -> None:
        with pair.am.unit_of_work() as uow:
            claimed.extend(claim(uow.session, relay_id="second", now=clock.now, limit=10,
                                 lease=LEASE))  # fmt: skip
            uow.commit()

    second = threading.Thread(target=claim_as_another_relay)

    def the_second_claims_it_meanwhile(*args: Any) -> Any:
        rows = real(*args)
        if second.ident is None:
            clock.now += 2 * LEASE  # the first relay's lease has run out
            second.start()
            second.join(0.5)  # at once, unless the first holds it off until it is done
        return rows

    monkeypatch.setattr(outbox_module, "_still_held", the_second_claims_it_meanwhile)
    assert first.run_once() == 1
    second.join()
    row = outbox_row(pair.am, message_id)
    # Held by the second claim, or put back in line by the first's failure and not claimed:
    # never put back in line under a relay that holds it.
    if claimed:
        assert (row.status, row.claimed_by) == (Status.IN_FLIGHT, claimed[0].claimed_by)
    else:
        assert row.status == Status.PENDING and (row.claimed_by or "").startswith("first:")
