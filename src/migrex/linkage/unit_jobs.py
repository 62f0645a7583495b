"""The linkage unit's background job: what waited too long is deleted (`LinkageUnit.expire`).

On a node that is no agreement's linkage unit the job starts no thread at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from migrex.exchange.runtime import ExchangeRuntime
from migrex.jobs import start_periodic
from migrex.linkage.unit import LinkageUnit


def expire_unit_files(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    node = runtime.node
    if not any(a.linkage is not None and a.linkage.unit in node.settings.authorities
               for a in node.agreements.values()):  # fmt: skip
        return
    unit = LinkageUnit.of(node, runtime.trust)
    start_periodic("linkage-unit-expiry", lambda: unit.expire(datetime.now(UTC)), stop,
                   node.settings.retention_interval_seconds, exclusive=node.engine)  # fmt: skip
