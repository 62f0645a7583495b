"""Waking relays: the doorbell's rules, and PostgreSQL announcing each commit to the outbox."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from migrex.db import make_session_factory
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.wakeup import STEP_IN_SECONDS, Doorbell, can_listen, start_listening

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def waits(bell: Doorbell, timeout: float = 1.0, *, lead: bool = True) -> float:
    started = time.monotonic()
    bell.wait(timeout, lead=lead)
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


def test_a_ring_is_the_lead_relays_and_a_backlog_wakes_the_others() -> None:
    bell = Doorbell()
    woken: dict[str, float] = {}

    def relay(name: str, *, lead: bool) -> None:
        woken[name] = waits(bell, 10.0, lead=lead)

    relays = [threading.Thread(target=relay, args=(name,), kwargs={"lead": name == "lead"})
              for name in ("lead", "other-0", "other-1")]  # fmt: skip
    for thread in relays:
        thread.start()
    time.sleep(0.1)
    bell.ring()  # a new message: the lead's
    time.sleep(1.5 * STEP_IN_SECONDS)
    assert set(woken) == {"lead"}  # the lead took it: no other relay stepped in
    bell.ring_all()  # a full batch: a backlog for everyone
    for thread in relays:
        thread.join()
    assert set(woken) == {"lead", "other-0", "other-1"} and max(woken.values()) < 9


def test_a_ring_the_lead_leaves_unanswered_is_taken_by_another_relay() -> None:
    # The lead's round waits on a partner that does not answer: a message to another
    # partner is carried by another relay after a moment, not after the lead's timeout.
    bell = Doorbell()
    taken: list[float] = []
    other = threading.Thread(target=lambda: taken.append(waits(bell, 5.0, lead=False)))
    other.start()
    time.sleep(0.05)
    bell.ring()
    other.join()
    assert STEP_IN_SECONDS <= taken[0] + 0.05 < 3 * STEP_IN_SECONDS
    assert waits(bell, 0.05) >= 0.05  # taken: the lead, back, finds no ring left


def test_a_backlog_rung_while_the_others_work_is_kept_for_the_next_of_them() -> None:
    bell = Doorbell()
    bell.ring_all()
    assert waits(bell, 1.0, lead=False) < 0.5
    assert waits(bell, 0.05, lead=False) >= 0.05


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
