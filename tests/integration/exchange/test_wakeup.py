"""Waking relays: the doorbell's rules, and PostgreSQL announcing each commit to the outbox."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from migrex.db import make_session_factory
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.wakeup import Doorbell, can_listen, start_listening

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def waits(bell: Doorbell, timeout: float = 1.0) -> float:
    started = time.monotonic()
    bell.wait(timeout)
    return time.monotonic() - started


def test_a_ring_while_nobody_waits_is_kept_once() -> None:
    bell = Doorbell()
    bell.ring()
    bell.ring()
    assert waits(bell) < 0.5
    assert waits(bell, 0.05) >= 0.05


def test_a_ring_wakes_one_relay_and_ring_all_wakes_every_one() -> None:
    bell = Doorbell()
    woken: list[float] = []

    def relay() -> None:
        woken.append(waits(bell, 1.0))

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    bell.ring()
    time.sleep(0.2)
    assert len(woken) == 1
    bell.ring_all()
    for thread in threads:
        thread.join()
    assert len(woken) == 3 and all(delay < 0.9 for delay in woken)


def test_a_committed_message_rings_the_listening_relays(engine: Engine) -> None:
    if not can_listen(engine):
        pytest.skip("SQLite relays poll")
    bell, stop = Doorbell(), threading.Event()
    start_listening(engine, bell, stop)
    try:
        bell.wait(5.0)  # the ring for whatever was committed before the listener started
        with make_session_factory(engine).begin() as session:
            enqueue(session, OutgoingMessage(
                message_id="00000000-0000-7000-8000-000000000001", agreement_id="kz-am-2024",
                sender="kz-mia", recipient="am-mcs", type="notice", body={}, issued_at=NOW,
                expires_at=NOW + timedelta(days=1),
            ), NOW)  # fmt: skip
        assert waits(bell, 5.0) < 4.0
    finally:
        stop.set()
