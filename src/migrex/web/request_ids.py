"""A request id for every HTTP request: taken from the caller's `X-Request-ID` when it is a
plain token (a proxy's or a partner relay's), made otherwise, bound to every log line written
while the request is served, and returned in the response's `X-Request-ID`."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migrex.logs import bound_request_id, unbind_request_id

HEADER = b"x-request-id"
# Only what cannot carry a sentence (or a name) is taken from outside.
_ACCEPTED = re.compile(rb"[A-Za-z0-9._-]{8,64}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == HEADER and _ACCEPTED.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(list(scope.get("headers", [])))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        tokens = bound_request_id(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind_request_id(tokens)
