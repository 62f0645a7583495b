"""The exchange's background job: the outbox relays of a running node."""

from __future__ import annotations

import threading

from migrex.exchange.runtime import ExchangeRuntime


def start_relays(runtime: ExchangeRuntime, _stop: threading.Event) -> None:
    """The node's relay threads, unless `relay_enabled` is off (relays run apart, as
    `migrex relay`); they end with the runtime (`runtime.stop()`). Relays need no lease:
    several share an outbox, each claiming its own messages."""
    if runtime.node.settings.relay_enabled:
        runtime.start_relays()
