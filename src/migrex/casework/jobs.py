"""Casework's background job: the filing clerk, which turns received messages into case work
and notes the partner's receipts of ours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from migrex.casework.context import NodeContext, node_context
from migrex.casework.filing import file_inbox
from migrex.exchange.runtime import ExchangeRuntime
from migrex.jobs import start_periodic
from migrex.uow import UnitOfWork


def start_filing(
    unit_of_work: Callable[[], UnitOfWork], node: NodeContext, stop: threading.Event,
    interval: float = 0.5, *, exclusive: Engine | None = None,
) -> threading.Thread:  # fmt: skip
    def run() -> int:
        with unit_of_work() as uow:
            return file_inbox(uow, node, datetime.now(UTC))

    return start_periodic("filing", run, stop, interval, exclusive=exclusive)


def file_received_messages(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Casework's job in the feature list: the filing clerk, whatever runs the relay, in one
    of the node's processes at a time."""
    start_filing(runtime.node.unit_of_work, node_context(runtime.node), stop,
                 exclusive=runtime.node.engine)  # fmt: skip
