"""Background jobs of features that do not yet start their own: erasure (retention).

Each is a `start(runtime, stop)` named in `migrex.features`; each moves into its feature's
package when that feature is converted, and its entry in the list follows it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from migrex.exchange.runtime import ExchangeRuntime
from migrex.jobs import start_periodic
from migrex.retention.run import run_retention


def erase_expired(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Erases received personal data whose retention has run out."""

    def retention() -> int:
        with runtime.node.unit_of_work() as uow:
            return len(run_retention(uow, datetime.now(UTC)))

    start_periodic("retention", retention, stop, runtime.node.settings.retention_interval_seconds)
