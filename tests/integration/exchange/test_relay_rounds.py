"""A relay round's transactions, on both databases: the claim commits before the messages
are sealed, and an envelope is stored, then sent, only while its claim still holds the row.

Armenia's node (on the parametrised database) sends; Kazakhstan's receives in-process.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import exc, select, text, update

from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.outbox import Claimed
from migrex.exchange.relay import Relay
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, outbox_table
from migrex.node import Node
from nodes import DirectTransport, Pair


def send(node: Node, n: int) -> str:
    with node.unit_of_work() as uow:
        return send_message(
            uow, SendMessage("kz-am-2024", "am-mcs", "kz-mia", "notice", {"n": n}, f"case-{n}"),
            agreements=node.agreements, hosted=node.settings.authorities, now=datetime.now(UTC),
        )  # fmt: skip


class Recording(DirectTransport):
    """Notes every envelope a relay tries to post, by relay, before it goes (or fails)."""

    def __init__(self, name: str, pair: Pair, posted: list[tuple[str, str]]) -> None:
        super().__init__(pair.kz, pair.kz_trust)
        self.name, self.posted = name, posted

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        self.posted += [(self.name, each) for each in envelopes]
        return super().post_batch(endpoint, envelopes)


def relay(name: str, pair: Pair, transport: DirectTransport, **kw: Any) -> Relay:
    return Relay(name, pair.am.unit_of_work, pair.am_trust, transport, rng=random.Random(0),
                 policy=RetryPolicy(base=timedelta(0)), **kw)  # fmt: skip


def can_write(node: Node, row_id: int) -> bool:
    """Whether another connection can write the outbox row now, without waiting: SQLite's
    one write lock is free, or (PostgreSQL) no open transaction holds the row."""
    if node.engine.dialect.name == "sqlite":
        # A plain connection that does not wait: neither the busy handler nor the process's
        # write turns (`write_turns`), which would wait for the relay in this same thread.
        probe = sqlite3.connect(str(node.engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("UPDATE exchange_outbox SET attempts = attempts WHERE id = ?", (row_id,))
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    with node.engine.connect() as connection:
        try:
            connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            connection.execute(
                update(outbox_table)
                .where(outbox_table.c.id == row_id)
                .values(attempts=outbox_table.c.attempts)
            )
            return True
        except exc.OperationalError:
            return False
        finally:
            connection.rollback()


def test_a_relay_seals_with_no_transaction_open(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [send(pair.am, n) for n in range(3)]
    writable: list[bool] = []
    envelope = Relay._envelope

    def sealing(self: Relay, row: Claimed, now: datetime) -> str:
        writable.append(can_write(pair.am, row.id))
        return envelope(self, row, now)

    monkeypatch.setattr(Relay, "_envelope", sealing)
    assert relay("relay", pair, DirectTransport(pair.kz, pair.kz_trust)).run_once() == 3
    assert writable == [True, True, True]
    with pair.am.unit_of_work() as uow:
        assert set(uow.session.scalars(select(OutboxMessage.status))) == {Status.DELIVERED}
        assert set(uow.session.scalars(select(Receipt.message_id))) == set(ids)


def test_a_message_claimed_again_while_sealed_goes_in_the_other_claims_envelope_only(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = send(pair.am, 1)
    posted: list[tuple[str, str]] = []
    slow = relay("slow", pair, Recording("slow", pair, posted))
    # The other relay's clock is past the slow relay's lease: to it, the slow one has died.
    lease = slow.policy.lease + timedelta(seconds=1)
    other_transport = Recording("other", pair, posted)
    other = relay("other", pair, other_transport, clock=lambda: datetime.now(UTC) + lease)
    other_transport.failing = True  # its first attempt fails: the row goes back in line
    envelope = Relay._envelope
    rounds: list[int] = []

    def sealing(self: Relay, row: Claimed, now: datetime) -> str:
        if self is slow and not rounds:
            rounds.append(other.run_once())  # while the slow relay seals
        return envelope(self, row, now)

    monkeypatch.setattr(Relay, "_envelope", sealing)
    assert slow.run_once() == 1
    assert rounds == [1]
    with pair.am.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == (Status.PENDING, 2)
        assert row.claimed_by is not None and row.claimed_by.startswith("other:")
        stored = row.envelope
    # The slow relay sent nothing: the only envelope ever tried is the other claim's.
    assert stored is not None and posted == [("other", stored)]
    other_transport.failing = False
    assert other.run_once() == 1
    assert posted == [("other", stored), ("other", stored)]
    digest = hashlib.sha256(stored.encode("ascii")).hexdigest()
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalars(select(OutboxMessage.status)).one() == Status.DELIVERED
        receipt = uow.session.scalars(select(Receipt)).one()
        assert (receipt.message_id, receipt.envelope_sha256) == (message_id, digest)
    with pair.kz.unit_of_work() as uow:
        assert list(uow.session.scalars(select(InboxMessage.message_id))) == [message_id]
