"""Retention's background job: erasure of received personal data whose retention ran out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

from migrex.jobs import start_periodic
from migrex.node import Node
from migrex.retention.run import run_retention


class Running(Protocol):
    """What retention needs of the running node (an `ExchangeRuntime`, which stands above
    retention: the exchange seals what it receives under retention's keys)."""

    @property
    def node(self) -> Node: ...


def erase_expired(runtime: Running, stop: threading.Event) -> None:
    """Erases received personal data whose retention has run out, every
    `retention_interval_seconds`, in one of the node's processes at a time."""

    def retention() -> int:
        with runtime.node.unit_of_work() as uow:
            return len(run_retention(uow, datetime.now(UTC)))

    start_periodic("retention", retention, stop, runtime.node.settings.retention_interval_seconds,
                   exclusive=runtime.node.engine)  # fmt: skip
