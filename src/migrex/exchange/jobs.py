"""The exchange's background job: the outbox relays of a running node."""

from __future__ import annotations

import threading

from migrex.exchange.runtime import ExchangeRuntime


def start_relays(runtime: ExchangeRuntime, _stop: threading.Event) -> None:
    """The node's relay threads; they end with the runtime (`runtime.stop()`)."""
    runtime.start_relays()
