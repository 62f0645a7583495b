"""The channels' background job: kept leads forget the members whose records have left the
node's registers (G7), so a register refresh reaches every copy the channels made of it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

from migrex.channels.service import forget_departed
from migrex.jobs import start_periodic
from migrex.node import Node


class Running(Protocol):
    """What the job needs of the running node (an `ExchangeRuntime`)."""

    @property
    def node(self) -> Node: ...


def forget_departed_members(runtime: Running, stop: threading.Event) -> None:
    """Erases from the kept leads every member, edge and entity of a record no longer in
    the registers, every `retention_interval_seconds` (the node's erasure period), in one of
    the node's processes at a time."""

    def forgetting() -> int:
        with runtime.node.unit_of_work() as uow:
            return forget_departed(uow, datetime.now(UTC)).total

    start_periodic("channels-forgetting", forgetting, stop,
                   runtime.node.settings.retention_interval_seconds,
                   exclusive=runtime.node.engine)  # fmt: skip
