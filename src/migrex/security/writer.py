"""Noting refusals from where no transaction is at hand (a TLS handshake, a request refused
before it is read) through one background thread and a bounded queue: a flood of refusals
cannot block the event loop or grow memory, what does not fit is counted by `on_drop`, and
what waits in the queue is written in one transaction, aggregated (`migrex.security.model`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from migrex.security.model import Refusal
from migrex.security.service import note
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)
QUEUE_SIZE = 1000
# At most this many refusals are written in one transaction.
DRAIN = 500


class SecurityLogWriter:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], on_drop: Callable[[], Any]) -> None:
        self._unit_of_work = unit_of_work
        self._on_drop = on_drop
        self._queue: queue.Queue[Refusal] = queue.Queue(QUEUE_SIZE)
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="migrex-security-log", daemon=True)
        self._thread.start()

    def note(self, refusal: Refusal) -> None:
        try:
            self._idle.clear()
            self._queue.put_nowait(refusal)
        except queue.Full:
            self._on_drop()

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until everything noted so far is written (for tests and shutdown)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < DRAIN:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self._unit_of_work() as uow:
                    note(uow.session, batch, datetime.now(UTC))
                    uow.commit()
            except Exception as error:  # the log must not die with one failed write
                log.error("security events not written", count=len(batch),
                          error=type(error).__name__)  # fmt: skip
            if self._queue.empty():
                self._idle.set()
