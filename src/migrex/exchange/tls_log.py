"""Security-log entries for TLS handshakes that fail: a client without a certificate, or with
one from a CA the node does not trust.

Such a connection never reaches the application, and asyncio reports the failure only in debug
mode, so the node's SSLContext creates its TLS objects from a subclass that notes each failed
handshake. The notes are written by one background thread through a bounded queue: a flood of
bad handshakes cannot block the event loop or grow memory; what does not fit is counted.
"""

from __future__ import annotations

import queue
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from migrex.exchange.tables import SecurityEvent
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)
QUEUE_SIZE = 1000


def note_handshake_failures(context: ssl.SSLContext, note: Callable[[str], None]) -> ssl.SSLContext:
    """Makes `context` call `note(reason)` for every server-side handshake that fails."""

    class NotedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise  # not a failure: the handshake needs more bytes
            except ssl.SSLError as error:
                note(error.reason or type(error).__name__)
                raise

    context.sslobject_class = NotedSSLObject
    return context


class SecurityLogWriter:
    """Writes handshake failures to the security log from a single background thread."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], on_drop: Callable[[], Any]) -> None:
        self._unit_of_work = unit_of_work
        self._on_drop = on_drop
        self._queue: queue.Queue[tuple[datetime, str]] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="migrex-security-log", daemon=True)
        self._thread.start()

    def note(self, reason: str) -> None:
        try:
            self._queue.put_nowait((datetime.now(UTC), reason))
        except queue.Full:
            self._on_drop()

    def _run(self) -> None:
        while True:
            at, reason = self._queue.get()
            try:
                with self._unit_of_work() as uow:
                    uow.session.add(
                        SecurityEvent(
                            at=at, reason="tls-handshake", detail=f"TLS handshake failed: {reason}",
                            peer=None, size=0, envelope_sha256=None,
                        )
                    )  # fmt: skip
                    uow.commit()
            except Exception as error:  # the log must not die with one failed write
                log.error("security event not written", reason=reason, error=type(error).__name__)
