"""The node's listeners in one event loop, stopped together on SIGTERM or SIGINT.

uvicorn handles signals per server and, after a graceful stop, raises the signal again so the
process dies of it (exit 143 on SIGTERM): here the process owns its signals, every listener
stops together, and a node that stopped as asked exits 0.

Two waits made a stop take about 30 s. A closed TLS connection waits for the peer's
close_notify, up to asyncio's 30-second SSL shutdown timeout, and an idle partner holding a
keep-alive connection never sends it; uvicorn, with no graceful-shutdown timeout, waits for
that connection to go. So a stopping listener aborts the connections it has already closed
(idle ones; requests in flight run on), and gives those in flight `grace` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from migrex.console import err, out
from migrex.errors import ConfigurationError

# Once a stop begins, closed connections are given this long to say goodbye before they
# are aborted.
CLOSE_NOTIFY_WAIT_SECONDS = 0.2


class ClassOnly(logging.Filter):
    """Keeps uvicorn's error lines, without their tracebacks: an exception's text and frames
    may quote a request's body (G8). The exception's class is enough to find the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.getMessage()} ({record.exc_info[0].__name__})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_tracebacks() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ClassOnly) for f in logger.filters):
        logger.addFilter(ClassOnly())


@dataclass(frozen=True)
class Listener:
    """One of the node's HTTP listeners: what it serves, where, and over which TLS."""

    name: str
    app: ASGIApp
    host: str
    port: int
    ssl_context: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `run_listeners` and says where it listens."""

    def __init__(self, config: uvicorn.Config, listener: Listener) -> None:
        super().__init__(config)
        self.listener = listener

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets=sockets)  # type: ignore[arg-type]
        if self.started:
            out.print(f"listening on {self.listener.url} ({self.listener.name})", highlight=False)
            out.file.flush()  # a service manager's log should show it now, not at exit

    async def shutdown(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        aborting = asyncio.create_task(self._abort_closed_connections())
        try:
            await super().shutdown(sockets=sockets)  # type: ignore[arg-type]
        finally:
            aborting.cancel()

    async def _abort_closed_connections(self) -> None:
        await asyncio.sleep(CLOSE_NOTIFY_WAIT_SECONDS)
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None and transport.is_closing():
                transport.abort()


def _server(listener: Listener, grace: float) -> _Server:
    context = listener.ssl_context
    config = uvicorn.Config(
        listener.app,
        host=listener.host,
        port=listener.port,
        ssl_context_factory=(lambda _config, _default: context) if context else None,
        log_level="warning",
        # uvicorn's own logging set-up would give its loggers plain-text handlers of their own
        # (its "ERROR:    ..." lines): left alone, they go through the node's structured log.
        log_config=None,
        access_log=False,  # ours is `migrex.access`, with route templates and request ids
        timeout_graceful_shutdown=max(1, round(grace)),
        lifespan="off",
    )
    return _Server(config, listener)


def bind(listeners: Sequence[Listener]) -> list[socket.socket]:
    """Each listener's socket, bound before the node starts anything else: a port another
    process holds (a second `migrex serve` of the same node, most often) is then one clear
    error, before a background job has run, instead of uvicorn's bare line after they all did.
    Raises ConfigurationError, with every socket bound so far closed."""
    bound: list[socket.socket] = []
    try:
        for listener in listeners:
            bound.append(_bound(listener))
    except ConfigurationError:
        for sock in bound:
            sock.close()
        raise
    return bound


def _bound(listener: Listener) -> socket.socket:
    """Bound, not yet listening: until the listener serves, a connection is refused rather
    than left waiting on a process that may not have set up its signal handling yet."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listener.host, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        if sock is not None:
            sock.close()
        why = os.strerror(error.errno) if error.errno else str(error)
        raise ConfigurationError(
            f"cannot listen on {listener.url} ({listener.name}): {why}; is another process "
            "(a second migrex serve?) on that port, or is the host or port in node.toml wrong?"
        ) from None
    sock.set_inheritable(True)
    return sock


def run_listeners(
    listeners: Sequence[Listener],
    sockets: Sequence[socket.socket],
    *,
    grace: float,
    on_stop: Callable[[], None] = lambda: None,
) -> None:
    """Serves every listener, on its socket from `bind`, until SIGTERM or SIGINT, then stops
    them all: no new connections, requests in flight get `grace` seconds. `on_stop` runs at
    the signal (to stop the node's background work at the same time)."""
    quiet_tracebacks()
    servers = [_server(listener, grace) for listener in listeners]

    def stop(signum: int) -> None:
        if all(server.should_exit for server in servers):
            if signum == signal.SIGINT:  # a second Ctrl+C: do not wait any longer
                for server in servers:
                    server.force_exit = True
            return
        err.print(f"{signal.Signals(signum).name}: stopping", highlight=False)
        for server in servers:
            server.should_exit = True
        on_stop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        results = await asyncio.gather(
            *(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True)),
            return_exceptions=True,
        )
        for server in servers:  # one listener failed to start: the node stops whole
            server.should_exit = True
        for result in results:
            if isinstance(result, BaseException):
                raise result

    asyncio.run(main())
