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

import psycopg
import structlog
from sqlalchemy import Engine

from migrex.exchange.outbox import OUTBOX_CHANNEL

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 1.0


class Doorbell:
    """Wakes idle relays: one per ring (a new message needs one relay, and waking them all
    would only have the others find nothing), or all of them (a backlog to share).

    A ring while no relay waits is kept, once, for the next relay that would wait, so a
    message committed during a round is never left for the next poll.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rung = False

    def ring(self) -> None:
        with self._condition:
            self._rung = True
            self._condition.notify()

    def ring_all(self) -> None:
        with self._condition:
            self._rung = True
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        """Returns when rung (at once if rung since the last wait), or after `timeout`."""
        with self._condition:
            if not self._rung:
                self._condition.wait(timeout)
            self._rung = False


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
