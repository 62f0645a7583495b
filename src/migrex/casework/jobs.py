"""Casework's background job: the filing clerk, which turns received messages into case work
and notes the partner's receipts of ours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from migrex.casework.context import NodeContext
from migrex.casework.filing import file_inbox
from migrex.jobs import start_periodic
from migrex.uow import UnitOfWork


def start_filing(
    unit_of_work: Callable[[], UnitOfWork], node: NodeContext, stop: threading.Event,
    interval: float = 0.5,
) -> threading.Thread:  # fmt: skip
    def run() -> int:
        with unit_of_work() as uow:
            return file_inbox(uow, node, datetime.now(UTC))

    return start_periodic("filing", run, stop, interval)
