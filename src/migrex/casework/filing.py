"""The node's filing clerk: a background thread that turns received messages into case work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from migrex.casework.service import NodeContext, file_inbox
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)


def start_filing(
    unit_of_work: Callable[[], UnitOfWork], node: NodeContext, stop: threading.Event,
    interval: float = 0.5,
) -> threading.Thread:  # fmt: skip
    def run() -> None:
        while not stop.is_set():
            try:
                with unit_of_work() as uow:
                    filed = file_inbox(uow, node, datetime.now(UTC))
            except Exception:  # one bad round must not stop filing for good
                log.exception("filing round failed")
                filed = 0
            if not filed:
                stop.wait(interval)

    thread = threading.Thread(target=run, name="migrex-filing", daemon=True)
    thread.start()
    return thread
