"""Requests that meet on the same rows, on both databases: two relays settling one message, an
operator's discard or re-issue while a relay claims it. Each race is played out in a fixed
order: the second request runs inside a step of the first, where a real one could come.

Armenia's node (on the parametrised database) sends; Kazakhstan's receives, in-process.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.exchange import relay as relay_module
from migrex.exchange.delivery import RetryPolicy
from migrex.exchange.relay import Relay
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import Receipt
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
