"""The exchange side of a running node: trust, metrics, receiver policy and the relay thread."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy import func, select

from migrex.audit.message_kinds import AUDIT_TYPES
from migrex.exchange.delivery import RetryPolicy
from migrex.exchange.gauges import NodeGauges
from migrex.exchange.metrics import ExchangeMetrics
from migrex.exchange.receiver import DoorSealing, ReceiverPolicy
from migrex.exchange.relay import Relay
from migrex.exchange.tables import OutboxMessage
from migrex.exchange.tls_log import note_handshake_failures
from migrex.exchange.transport import HttpsTransport
from migrex.exchange.trust import Trust, load_trust
from migrex.exchange.wakeup import Doorbell, can_listen, start_listening
from migrex.identity.node_secrets import node_secret
from migrex.node import Node
from migrex.retention.service import RETENTION_KEY
from migrex.security.model import Refusal
from migrex.security.writer import SecurityLogWriter

DEFAULT_MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
MAX_BATCH = 1000


def receiver_policy(node: Node, agreements: frozenset[str]) -> ReceiverPolicy:
    """What the node's door accepts, and how it seals what it accepts: every node process
    and every test receives through this one policy."""
    known = node.agreements.values()
    limits = [a.max_envelope_bytes for a in known]
    return ReceiverPolicy(
        agreements=agreements,
        max_envelope_bytes=max(limits, default=DEFAULT_MAX_ENVELOPE_BYTES),
        max_lifetime={a.id: a.message_lifetime for a in known},
        parties={a.id: frozenset(a.authorities) for a in known},
        sealing=DoorSealing(
            node_secret(node.settings.resolved_key_dir, RETENTION_KEY),
            retention={a.id: a.data_protection.retention for a in known},
            clear_types=AUDIT_TYPES,
        ),
    )


@dataclass
class ExchangeRuntime:
    node: Node
    trust: Trust
    metrics: ExchangeMetrics = field(default_factory=ExchangeMetrics)
    wake: Doorbell = field(default_factory=Doorbell)
    # Rung when the door has stored new messages: the filing clerk in this process files them
    # at once instead of at its next poll.
    received: Doorbell = field(default_factory=Doorbell)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _listener: threading.Thread | None = None

    @classmethod
    def start_up(cls, node: Node) -> ExchangeRuntime:
        runtime = cls(node, load_trust(node.settings, node.agreements))
        runtime.metrics.watch_outbox(runtime.outbox_depth)
        runtime.metrics.registry.register(NodeGauges(node.unit_of_work))
        return runtime

    @cached_property
    def receiver_policy(self) -> ReceiverPolicy:
        return receiver_policy(self.node, frozenset(self.trust.directories))

    @property
    def max_request_bytes(self) -> int:
        return self.receiver_policy.max_envelope_bytes * 4 + 65_536

    @cached_property
    def security_log(self) -> SecurityLogWriter:
        """Where the door notes refusals that happen outside a transaction (handshakes,
        requests refused before they are read)."""
        return SecurityLogWriter(self.node.unit_of_work, self.metrics.security_log_dropped.inc)

    def server_context(self) -> ssl.SSLContext:
        """The TLS context of the partner-facing door, noting every refused handshake."""
        writer = self.security_log

        def note(reason: str) -> None:
            self.metrics.tls_failures.inc()
            writer.note(Refusal("tls-handshake", f"TLS handshake failed: {reason}"))

        return note_handshake_failures(self.trust.server_context(), note)

    def outbox_depth(self) -> dict[str, int]:
        with self.node.unit_of_work() as uow:
            rows = uow.session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.not_in(("delivered", "discarded")))
                .group_by(OutboxMessage.status)
            )
            return {str(status): int(count) for status, count in rows}

    def new_relay(self, relay_id: str) -> Relay:
        settings = self.node.settings
        return Relay(
            relay_id=relay_id,
            unit_of_work=self.node.unit_of_work,
            trust=self.trust,
            transport=HttpsTransport(self.trust.client_context()),
            policy=RetryPolicy(
                max_attempts=settings.relay_max_attempts,
                lease=timedelta(seconds=settings.relay_lease_seconds),
                cap=timedelta(seconds=settings.relay_backoff_cap_seconds),
            ),
            batch_size=settings.relay_batch_size,
            metrics=self.metrics,
        )

    @property
    def stopping(self) -> threading.Event:
        """Set when the node shuts down; the relays and the listener then end."""
        return self._stop

    def relay_poll_seconds(self) -> float:
        """How often an idle relay looks at the outbox: seldom where the database wakes the
        relays (`listen_for_messages`), often where it cannot."""
        settings = self.node.settings
        if can_listen(self.node.engine):
            return settings.relay_notified_poll_seconds
        return settings.relay_poll_seconds

    def listen_for_messages(self) -> None:
        """Where the database can (PostgreSQL), ring `wake` at each message added to the
        outbox, by whichever process."""
        if self._listener is None and can_listen(self.node.engine):
            self._listener = start_listening(self.node.engine, self.wake, self._stop)

    def start_relays(self) -> None:
        settings = self.node.settings
        self.listen_for_messages()
        poll = self.relay_poll_seconds()
        for n in range(settings.relay_threads):
            relay = self.new_relay(f"{settings.node_id}-relay-{n}")
            thread = threading.Thread(
                target=relay.run_forever,
                args=(self._stop, self.wake, poll),
                kwargs={"lead": n == 0},
                name=f"migrex-relay-{n}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the relays: each finishes its batch in flight, within `timeout` seconds in
        all. A batch still out then is left to its lease (`relay_lease_seconds`): another
        relay, or this one after a restart, sends it again and the receiver answers the
        redelivery with its first receipt."""
        self._stop.set()
        self.wake.ring_all()
        self.received.ring_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
