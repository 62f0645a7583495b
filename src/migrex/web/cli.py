"""`migrex serve` and `migrex relay`: the node's processes, which wire every feature together.

`serve` runs the partners' mutual-TLS door, the operator listener, the officers' API (when
their ports are set) and every feature's background jobs: filing, witnessing, checkpoints
and retention always, the built-in relays when `relay_enabled`. `relay` runs relays only,
beside a `serve` with `relay_enabled = false` or as extra relays on a PostgreSQL outbox: a
node's jobs never depend on where its relays run. On PostgreSQL several `serve` processes
may share one node: each job takes a lease (`migrex.jobs`) so it runs in one of them at a time.

Both stop on SIGTERM or SIGINT: no new connections or batches, what is in flight finishes
within `shutdown_grace_seconds`, and the process exits 0.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from migrex import features
from migrex.console import err, out
from migrex.context import node_from
from migrex.exchange.readiness import checked_runtime
from migrex.exchange.runtime import ExchangeRuntime
from migrex.identity.tls import officer_ssl_context
from migrex.node import Node
from migrex.web.access_log import ensure_written
from migrex.web.app import create_app
from migrex.web.officers_app import create_officer_app
from migrex.web.operator_app import create_operator_app
from migrex.web.servers import Listener, bind, run_listeners


def serve(ctx: typer.Context) -> None:
    """Run the node: the partners' HTTPS door (mutual TLS), the operator listener (/health,
    /ready, /metrics) and the officers' API when their ports are set, and the background jobs."""
    node = node_from(ctx)
    runtime = checked_runtime(node, datetime.now(UTC))
    ensure_written()
    listeners = node_listeners(node, runtime)
    sockets = bind(listeners)
    if node.settings.operator_listen_port is None:
        err.print("no operator listener (/health, /ready, /metrics): set operator_listen_port")
    stop_jobs = threading.Event()
    for start in features.jobs():
        start(runtime, stop_jobs)
    settle_process()
    grace = node.settings.shutdown_grace_seconds

    def stop() -> None:
        stop_jobs.set()
        runtime.stopping.set()
        runtime.wake.ring_all()

    try:
        run_listeners(listeners, sockets, grace=grace, on_stop=stop)
    finally:
        stop()
        runtime.stop(timeout=grace)
    out.print("stopped")


def node_listeners(node: Node, runtime: ExchangeRuntime) -> list[Listener]:
    settings = node.settings
    listeners = [
        Listener(
            "partners, mutual TLS",
            create_app(runtime),
            settings.listen_host,
            settings.listen_port,
            runtime.server_context(),
        )
    ]
    if settings.operator_listen_port is not None:
        listeners.append(
            Listener(
                "operator",
                create_operator_app(runtime),
                settings.operator_listen_host,
                settings.operator_listen_port,
            )
        )
    if settings.officer_listen_port is not None:
        context = None
        if settings.officer_tls_cert is not None and settings.officer_tls_key is not None:
            context = officer_ssl_context(
                settings.officer_tls_cert, settings.officer_tls_key, settings.officer_tls_client_ca
            )
        listeners.append(
            Listener(
                "officers",
                create_officer_app(node),
                settings.officer_listen_host,
                settings.officer_listen_port,
                context,
            )
        )
    return listeners


# A node's threads mostly wait on sockets (the partner, the database) and compute briefly in
# between. CPython passes the interpreter lock to a waiting thread only every switch interval,
# 5 ms by default, so an answer could sit unread behind a thread that is sealing envelopes;
# at 1 ms both nodes kept their CPUs busier (about +15% messages/s in `migrex bench exchange`).
SWITCH_INTERVAL_SECONDS = 0.001


def settle_process() -> None:
    """Interpreter settings for a node process whose start-up is done.

    Also exempts what start-up built (modules, tables, keys, the app) from garbage collection:
    a full collection walks every live object, in a node some hundred thousand, about 90 ms
    during which no request or relay moves, which showed in the p99 of delivery. Objects
    frozen here are never walked again; what requests create is collected as usual.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()


def relay(
    ctx: typer.Context,
    relay_id: Annotated[str, typer.Option(help="name of this relay in the outbox")] = "relay",
) -> None:
    """Run an outbox relay on its own; several may share a PostgreSQL outbox. SIGTERM or
    SIGINT: the batch in flight is finished, then the relay exits 0."""
    node = node_from(ctx)
    runtime = checked_runtime(node, datetime.now(UTC))
    runtime.listen_for_messages()

    def stop(signum: int, _frame: object) -> None:
        if runtime.stopping.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: do not wait for the batch
        err.print(f"{signal.Signals(signum).name}: stopping", highlight=False)
        runtime.stopping.set()
        runtime.wake.ring_all()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    settle_process()
    out.print(f"relay {relay_id} running", highlight=False)
    started = time.monotonic()
    runtime.new_relay(relay_id).run_forever(
        runtime.stopping, runtime.wake, runtime.relay_poll_seconds()
    )
    runtime.stop(timeout=node.settings.shutdown_grace_seconds)
    out.print(f"stopped after {time.monotonic() - started:.0f}s", highlight=False)
