"""The access log of every listener: one line per request on the `migrex.access` logger.

A line holds the method, the route's template (`/v1/cases/{case_id}`, never the path as
sent, and never the query string: both may carry a document number or a name, G8), the
status, the duration and the request's id (`web.request_ids`), which the response returns in
`X-Request-ID` so an operator can match a client's complaint to the line.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migrex.web.request_ids import request_id_of

log = logging.getLogger("migrex.access")

UNMATCHED = "(no route)"


def route_template(scope: Scope) -> str:
    """The template of the route that answered, or a fixed word: an unmatched path is what
    a client typed and is not logged."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # The framework's own pages (/docs, /openapi.json) answer without a routed scope; a path
    # that is exactly one of the app's fixed routes is its own template.
    sent = scope.get("path")
    routes = getattr(scope.get("app"), "routes", ())
    fixed = {getattr(r, "path", None) for r in routes if "{" not in str(getattr(r, "path", "{"))}
    return sent if isinstance(sent, str) and sent in fixed else UNMATCHED


FIELDS = ("listener", "method", "route", "status", "duration_ms", "request_id")


class AccessLineFormatter(logging.Formatter):
    """`access listener=... method=... route=... status=... duration_ms=... request_id=...`,
    for a process whose logging nobody configured (the JSON logs replace it)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{name}={getattr(record, name, '-')}" for name in FIELDS)
        return f"{self.formatTime(record)} access {fields}"


def ensure_written(stream: Any = None) -> None:
    """Sends the access log to `stream` (stderr) unless logging already sends it somewhere."""
    if log.hasHandlers() and logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessLineFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


class AccessLog:
    """Pure ASGI middleware, so it sees every answer, the framework's own errors included."""

    def __init__(self, app: ASGIApp, listener: str) -> None:
        self.app = app
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The id `RequestIdMiddleware`, outside this one, gave the request (and returns).
        rid = scope.get("state", {}).get("request_id") or request_id_of(
            list(scope.get("headers", []))
        )
        started = time.perf_counter()
        status = [500]

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            fields: dict[str, Any] = {
                "listener": self.listener,
                "method": scope.get("method", ""),
                "route": route_template(scope),
                "status": status[0],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": rid,
            }
            log.info("request", extra=fields)
