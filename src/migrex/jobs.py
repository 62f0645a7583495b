"""The node's background clerks: each a thread that does one round of work, then waits.

A round that found work is followed at once by the next (a backlog drains quickly); an idle
round waits `interval`. A failing round is logged and retried after the interval: one bad
round must not stop the clerk for good, and the next round starts from the database again.

A clerk given `exclusive` (the node's engine) runs its rounds only while it holds the job's
lease (`migrex.leases`): with several processes on one PostgreSQL database, one of them
does the job, and another takes over within `LEASE_RETRY_SECONDS` when it stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog
from sqlalchemy import Engine

from migrex.db import database_code
from migrex.leases import JobLease

log = structlog.get_logger(__name__)

# How often a process without the lease asks for it again.
LEASE_RETRY_SECONDS = 2.0


def start_periodic(
    name: str, work: Callable[[], int], stop: threading.Event, interval: float,
    *, drain: bool = True, exclusive: Engine | None = None,
    wake: Callable[[float], None] | None = None,
) -> threading.Thread:  # fmt: skip
    """Run `work` until `stop` is set; `work` returns how much it did (0: idle). With
    `drain=False` the clerk always waits the interval (periodic duties such as checkpoints).
    With `exclusive`, only while this process holds the job's lease on that database. With
    `wake`, an idle clerk waits by calling it with the interval instead, so that whoever has
    new work (the door, for filing) can end the wait at once; stopping must ring it too."""
    lease = JobLease(exclusive, name) if exclusive is not None else None

    def run() -> None:
        try:
            while not stop.is_set():
                try:
                    if lease is not None and not lease.held():
                        stop.wait(min(interval, LEASE_RETRY_SECONDS))
                        continue
                    done = work()
                except Exception as error:
                    # The class only: a traceback's locals and many errors' own text (a
                    # validation error quotes its input) may hold personal data (G8).
                    log.error(
                        "background round failed",
                        job=name,
                        error=type(error).__name__,
                        **database_code(error),
                    )
                    done = 0
                if not (drain and done):
                    (wake or stop.wait)(interval)
        finally:
            if lease is not None:
                lease.release()

    thread = threading.Thread(target=run, name=f"migrex-{name}", daemon=True)
    thread.start()
    return thread
