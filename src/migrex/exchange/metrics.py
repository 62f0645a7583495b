"""Prometheus metrics of the exchange, in a registry of the node's own (not the global one),
so several nodes can run in one process, as the tests do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class ExchangeMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.sent = Counter(
            "migrex_messages_sent", "Messages delivered and receipted", registry=self.registry
        )
        self.received = Counter(
            "migrex_messages_received", "Envelopes accepted into the inbox", registry=self.registry
        )
        self.duplicates = Counter(
            "migrex_messages_redelivered",
            "Envelopes received again and answered with the stored receipt",
            registry=self.registry,
        )
        self.rejected = Counter(
            "migrex_messages_rejected",
            "Envelopes refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.failed_attempts = Counter(
            "migrex_delivery_failures", "Delivery attempts that failed", registry=self.registry
        )
        self.parked = Counter(
            "migrex_messages_parked",
            "Messages parked after their last attempt",
            registry=self.registry,
        )
        self.refused = Counter(
            "migrex_messages_refused",
            "Messages the receiver refused for good (re-issue or discard them), by reason",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "migrex_delivery_latency_seconds",
            "From outbox to stored receipt",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.tls_failures = Counter(
            "migrex_tls_handshake_failures",
            "TLS handshakes refused (no or untrusted certificate)",
            registry=self.registry,
        )
        self.security_log_dropped = Counter(
            "migrex_security_log_dropped",
            "Security events not written: the queue was full",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "migrex_outbox_depth",
            "Messages not yet delivered, by status",
            ["status"],
            registry=self.registry,
        )

    def watch_outbox(self, depth: Callable[[], dict[str, int]]) -> None:
        """Reads the outbox depth when scraped, so the gauge is never stale."""
        for status in ("pending", "in_flight", "parked", "refused"):
            self.outbox_depth.labels(status).set_function(_reader(depth, status))


def _reader(depth: Callable[[], dict[str, int]], status: str) -> Callable[[], float]:
    return lambda: float(depth().get(status, 0))
