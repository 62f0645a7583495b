"""Background jobs of features that do not yet start their own: witnessing and checkpoints
(audit), and erasure (retention).

Each is a `start(runtime, stop)` named in `migrex.features`; each moves into its feature's
package when that feature is converted, and its entry in the list follows it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from migrex.audit.witnessing_exchange import (
    file_audit_messages,
    send_checkpoints,
    witnessing_node,
)
from migrex.exchange.runtime import ExchangeRuntime
from migrex.jobs import start_periodic
from migrex.retention.run import run_retention


def witness(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Answers partners' checkpoints and keeps their cosignatures of ours; sends the node's
    signed checkpoint to its partners once per witness interval."""
    witnessing = witnessing_node(runtime.node, runtime.trust)

    def answer() -> int:
        with runtime.node.unit_of_work() as uow:
            return file_audit_messages(uow, witnessing, datetime.now(UTC))

    def checkpoints() -> int:
        with runtime.node.unit_of_work() as uow:
            return len(send_checkpoints(uow, witnessing, datetime.now(UTC)))

    start_periodic("witness-clerk", answer, stop, 0.5)
    start_periodic("checkpoints", checkpoints, stop,
                   runtime.node.settings.witness_interval_seconds, drain=False)  # fmt: skip


def erase_expired(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Erases received personal data whose retention has run out."""

    def retention() -> int:
        with runtime.node.unit_of_work() as uow:
            return len(run_retention(uow, datetime.now(UTC)))

    start_periodic("retention", retention, stop, runtime.node.settings.retention_interval_seconds)
