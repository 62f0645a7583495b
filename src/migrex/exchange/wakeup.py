"""Waking idle relays: when a round finds a backlog, and as soon as a message is added to
the outbox (PostgreSQL LISTEN/NOTIFY).

A transaction that adds to the outbox notifies `OUTBOX_CHANNEL` (`outbox.announce`), and
PostgreSQL delivers the notification when the transaction commits, whichever process wrote it.
One thread per node listens and rings the relays' `Doorbell`: a message leaves within a
round trip of its commit instead of at the next poll, and idle relays need not poll often.
If the listening connection is lost, the thread connects again; meanwhile the relays still
poll, only less often, so nothing waits longer than a poll.
"""

from __future__ import annotations

import threading
import time

import psycopg
import structlog
from sqlalchemy import Engine

from migrex.exchange.outbox import OUTBOX_CHANNEL

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 1.0


# How long a ring may wait for a busy lead relay before another relay takes it: longer than
# the lead's rounds under a steady flow (at 0.2 s the others came in at 100 msg/s on
# PostgreSQL, and with them the waits this is for), short beside what a round sending to a
# partner that does not answer takes (the transport's timeout).
STEP_IN_SECONDS = 1.0


class Doorbell:
    """Wakes idle relays: the lead one at each ring, or all of them (a backlog to share).

    A new message needs one relay. Waking another for each message while the first is busy
    puts every relay on one message at a time, each round its own transactions in both nodes,
    all queueing for the two nodes' audit log heads: at 100 msg/s on PostgreSQL, four relays
    so woken took more than twice as long to deliver as the lead alone. So a ring is the
    lead's, and what rings while it works is taken by its next round together. The others
    join when a round finds a full batch (`ring_all`), which is a backlog, and take a ring
    the lead has left for `STEP_IN_SECONDS` (its round waits on a partner that does not
    answer, and messages to other partners must not wait for it).

    A ring while the relays it is for are not waiting is kept, once, for the next of them
    that would wait, so a message committed during a round is never left for the next poll.
    """

    def __init__(self) -> None:
        lock = threading.Lock()
        self._lead, self._others = threading.Condition(lock), threading.Condition(lock)
        self._rung = self._backlog = False
        self._rung_at = 0.0

    def ring(self) -> None:
        with self._lead:
            if not self._rung:
                self._rung, self._rung_at = True, time.monotonic()
            self._lead.notify()

    def ring_all(self) -> None:
        with self._lead:
            if not self._rung:
                self._rung_at = time.monotonic()
            self._rung = self._backlog = True
            self._lead.notify_all()
            self._others.notify_all()

    def answer(self) -> None:
        """The lead starts a round: it takes every message rung for so far, whether or not
        it waited in between (a busy lead goes from round to round)."""
        with self._lead:
            self._rung = False

    def wait(self, timeout: float, *, lead: bool = True) -> None:
        """Returns when rung (at once if rung since the last wait), or after `timeout`: the
        lead at any ring, the others at `ring_all` or a ring the lead left unanswered."""
        if lead:
            with self._lead:
                if not self._rung:
                    self._lead.wait(timeout)
                self._rung = False
            return
        deadline = time.monotonic() + timeout
        with self._others:
            while not self._backlog:
                now = time.monotonic()
                if self._rung and now - self._rung_at >= STEP_IN_SECONDS:
                    self._rung = False  # the lead is held up: this relay takes the ring
                    return
                if now >= deadline:
                    return
                self._others.wait(min(deadline - now, STEP_IN_SECONDS))
            self._backlog = False


def can_listen(engine: Engine) -> bool:
    """Whether this database delivers notifications (PostgreSQL does, SQLite does not)."""
    return engine.dialect.name == "postgresql"


def start_listening(engine: Engine, wake: Doorbell, stop: threading.Event) -> threading.Thread:
    """A daemon thread that rings `wake` at each outbox notification until `stop` is set."""

    def run() -> None:
        while not stop.is_set():
            try:
                _listen(engine, wake, stop)
            except Exception as error:  # the listener must outlive a database restart
                log.error("outbox listener lost its connection", error=type(error).__name__)
                stop.wait(RECONNECT_SECONDS)

    thread = threading.Thread(target=run, name="migrex-outbox-listener", daemon=True)
    thread.start()
    return thread


def _listen(engine: Engine, wake: Doorbell, stop: threading.Event) -> None:
    # A connection of its own, outside the pool: it stays in LISTEN for the node's lifetime.
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    with psycopg.connect(*args, **kwargs, autocommit=True) as connection:
        connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        wake.ring()  # for whatever was committed while nobody listened
        while not stop.is_set():
            # The timeout only bounds how long `stop` goes unnoticed.
            for _notification in connection.notifies(timeout=0.5, stop_after=1):
                wake.ring()
