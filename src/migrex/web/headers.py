"""The security headers every response of the officers' listener carries.

The console's pages load only what the node itself serves: scripts and styles from files, never
inline, so a strict Content-Security-Policy costs nothing and turns an injected `<script>` or
`style=` into an inert string. JSON answers get the same headers: they do no harm there, and a
browser that is tricked into rendering one as a page gets nothing to run.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Older browsers that ignore frame-ancestors.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Sent only over TLS (RFC 6797 §7.2: a browser ignores it over plain HTTP anyway).
HSTS: Final = "max-age=31536000; includeSubDomains"


def security_headers(scheme: str) -> dict[str, str]:
    """The headers for a response served over `scheme` ("https" adds HSTS)."""
    return HEADERS | {"Strict-Transport-Security": HSTS} if scheme == "https" else dict(HEADERS)


class SecurityHeaders:
    """ASGI middleware setting `security_headers` on every HTTP response (a header a route
    set itself is kept: a page may narrow its own policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(scope.get("scheme", "http"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
