"""How the node's HTTP servers treat slow and oversized clients: the uvicorn settings every
listener of the node runs with (`server_options`).

uvicorn closes an idle kept-alive connection, but a client that trickles a request's head or
body a byte at a time (slowloris) keeps its connection, and the memory and file descriptor
behind it, for ever. The protocol here gives each request a deadline for its head, counted
from the connection or from the request's first byte, and another for its body, counted from
the end of the head; a client that misses one is disconnected. Once a request is complete the
application's own time is not limited.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

from migrex.settings import Settings

try:  # the faster parser, as uvicorn itself prefers it
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is in the lock file
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

log = structlog.get_logger("migrex.web.limits")
# The largest request head a client may send (h11 only; httptools has its own 80 KiB cap).
MAX_HEAD_BYTES = 64 * 1024


class _Deadlines:
    """The deadline of the current phase of a request: "head" or "body"."""

    header_timeout: float
    body_timeout: float
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None
    _phase: str | None = None

    def _enter(self, phase: str | None) -> None:
        if phase == self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            seconds = self.header_timeout if phase == "head" else self.body_timeout
            self._deadline = self.loop.call_later(seconds, self._expire, phase)

    def _expire(self, phase: str) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("slow client disconnected", phase=phase)
            self.transport.close()


class _GuardedH11(_Deadlines, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter("head")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:
            self._enter("head")
        elif state is h11.SEND_BODY:
            self._enter("body")
        else:
            self._enter(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(None)
        super().connection_lost(exc)


def _guarded_httptools() -> type[asyncio.Protocol] | None:
    if HttpToolsProtocol is None:  # pragma: no cover
        return None

    class _GuardedHttpTools(_Deadlines, HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._enter("head")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._enter("head")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._enter("body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._enter(None)

        def connection_lost(self, exc: Exception | None) -> None:
            self._enter(None)
            super().connection_lost(exc)

    return _GuardedHttpTools


def guarded_protocol(
    header_timeout: float, body_timeout: float, *, parser: str = "auto"
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (httptools when installed, else h11) with the deadlines."""
    base = _guarded_httptools() if parser in ("auto", "httptools") else None
    chosen: type[Any] = base if base is not None else _GuardedH11
    return type(
        f"Timed{chosen.__name__}",
        (chosen,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )


def server_options(settings: Settings, *, parser: str = "auto") -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` (or `uvicorn.run`) of every node listener:
    slow-client deadlines, the kept-alive idle time, the largest head, and logging left to
    `migrex.logs` (uvicorn's own configuration would bypass its chain)."""
    return {
        "http": guarded_protocol(
            settings.http_header_timeout_seconds,
            settings.http_body_timeout_seconds,
            parser=parser,
        ),
        "timeout_keep_alive": max(1, math.ceil(settings.http_keep_alive_seconds)),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "log_config": None,
    }
