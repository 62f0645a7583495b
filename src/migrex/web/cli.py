"""`migrex serve` and `migrex relay`: the node's processes, which wire every feature together."""

from __future__ import annotations

import gc
import sys
import threading
from typing import Annotated

import typer
import uvicorn

from migrex.context import node_from
from migrex.exchange.runtime import ExchangeRuntime
from migrex.web.app import create_app
from migrex.web.officers_app import create_officer_app


def serve(ctx: typer.Context) -> None:
    """Run the node: the partner-facing HTTPS door (mutual TLS), the outbox relay, the filing
    of received messages, and the officers' API when officer_listen_port is set."""
    node = node_from(ctx)
    runtime = ExchangeRuntime.start_up(node)
    context = runtime.server_context()
    if node.settings.officer_listen_port is not None:
        # A second server in a thread: uvicorn leaves signal handling to the main thread's
        # server, whose exit ends the process.
        officers = uvicorn.Server(
            uvicorn.Config(
                create_officer_app(node),
                host=node.settings.officer_listen_host,
                port=node.settings.officer_listen_port,
                log_level="warning",
                access_log=False,
            )
        )
        threading.Thread(target=officers.run, name="migrex-officers-api", daemon=True).start()
    app = create_app(runtime)
    settle_process()
    uvicorn.run(
        app,
        host=node.settings.listen_host,
        port=node.settings.listen_port,
        ssl_context_factory=lambda _config, _default: context,
        log_level="warning",
        access_log=False,
    )


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
    """Run an outbox relay on its own; several may share a PostgreSQL outbox."""
    node = node_from(ctx)
    runtime = ExchangeRuntime.start_up(node)
    runtime.listen_for_messages()
    settle_process()
    try:
        runtime.new_relay(relay_id).run_forever(
            runtime.stopping, runtime.wake, runtime.relay_poll_seconds()
        )
    except KeyboardInterrupt:
        runtime.stop()
