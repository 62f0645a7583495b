"""The rotation feature's background job: the clerk of directory updates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from migrex.exchange.runtime import ExchangeRuntime
from migrex.jobs import start_periodic
from migrex.rotation.filing import file_directory_updates

INTERVAL_SECONDS = 0.5


def file_updates(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Files the partners' directory updates, whatever runs the relay."""
    node, trust = runtime.node, runtime.trust

    def run() -> int:
        with node.unit_of_work() as uow:
            return file_directory_updates(uow, node, trust, datetime.now(UTC))

    # In one of the node's processes at a time, as every job but the relays.
    start_periodic("directory-updates", run, stop, INTERVAL_SECONDS, exclusive=node.engine)
