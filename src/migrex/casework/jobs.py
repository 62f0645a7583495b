"""Casework's background job: the filing clerk, which turns received messages into case work
and notes the partner's receipts of ours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from migrex.casework.context import NodeContext, node_context
from migrex.casework.filing import ROUND_LIMIT, file_inbox
from migrex.casework.request_keys import forget_old_keys
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.wakeup import Doorbell
from migrex.jobs import start_periodic
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)


def start_filing(
    unit_of_work: Callable[[], UnitOfWork], node: NodeContext, stop: threading.Event,
    interval: float = 0.5, *, exclusive: Engine | None = None,
    received: Doorbell | None = None,
) -> threading.Thread:  # fmt: skip
    """The filing clerk: a round after round while messages wait; idle, it waits `interval`,
    or less when `received` is rung (the door in this process stored messages), so a message
    is filed within a round of its arrival, not at the next poll."""

    def run() -> int:
        with unit_of_work() as uow:
            taken = file_inbox(uow, node, datetime.now(UTC))
        # A round that took fewer than it may left nothing waiting, and what the door stores
        # meanwhile rings `received`: the clerk waits for the ring instead of looking again at
        # once (at a steady 100 msg/s half its rounds looked, found nothing and cost three
        # statements each). Without a door in this process it looks again at once.
        return taken if received is None or taken >= ROUND_LIMIT else 0

    wake = received.wait if received is not None else None
    return start_periodic("filing", run, stop, interval, exclusive=exclusive, wake=wake)


def file_received_messages(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Casework's job in the feature list: the filing clerk, whatever runs the relay, in one
    of the node's processes at a time; woken by the door when it runs in the same process."""
    start_filing(runtime.node.unit_of_work, node_context(runtime.node), stop,
                 exclusive=runtime.node.engine, received=runtime.received)  # fmt: skip


def forget_request_keys(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Casework's second job: the keys of new requests past their day are deleted every
    `retention_interval_seconds`, in one of the node's processes at a time, whether or not
    anyone sends a keyed request again (`casework.request_keys`)."""

    def forgetting() -> int:
        with runtime.node.unit_of_work() as uow:
            forgotten = forget_old_keys(uow.session, datetime.now(UTC))
            uow.commit()
        return forgotten

    start_periodic("request-key-forgetting", forgetting, stop,
                   runtime.node.settings.retention_interval_seconds, drain=False,
                   exclusive=runtime.node.engine)  # fmt: skip
