"""Security-log entries for TLS handshakes that fail: a client without a certificate, or with
one from a CA the node does not trust.

Such a connection never reaches the application, and asyncio reports the failure only in debug
mode, so the node's SSLContext creates its TLS objects from a subclass that notes each failed
handshake. The notes go through the security log's background writer
(`migrex.security.writer`): a flood of bad handshakes cannot block the event loop or grow
memory, and is one counted entry per window.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable


def note_handshake_failures(context: ssl.SSLContext, note: Callable[[str], None]) -> ssl.SSLContext:
    """Makes `context` call `note(reason)` for every server-side handshake that fails."""

    class NotedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise  # not a failure: the handshake needs more bytes
            except ssl.SSLError as error:
                note(error.reason or type(error).__name__)
                raise

    context.sslobject_class = NotedSSLObject
    return context
