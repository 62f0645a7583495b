"""The node's background clerks: each a thread that does one round of work, then waits.

A round that found work is followed at once by the next (a backlog drains quickly); an idle
round waits `interval`. A failing round is logged and retried after the interval: one bad
round must not stop the clerk for good, and the next round starts from the database again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


def start_periodic(
    name: str, work: Callable[[], int], stop: threading.Event, interval: float,
    *, drain: bool = True,
) -> threading.Thread:  # fmt: skip
    """Run `work` until `stop` is set; `work` returns how much it did (0: idle). With
    `drain=False` the clerk always waits the interval (periodic duties such as checkpoints)."""

    def run() -> None:
        while not stop.is_set():
            try:
                done = work()
            except Exception as error:
                # The class only: a traceback's locals and many errors' own text (a
                # validation error quotes its input) may hold personal data (G8).
                log.error("background round failed", job=name, error=type(error).__name__)
                done = 0
            if not (drain and done):
                stop.wait(interval)

    thread = threading.Thread(target=run, name=f"migrex-{name}", daemon=True)
    thread.start()
    return thread
