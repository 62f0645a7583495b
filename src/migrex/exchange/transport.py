"""Carrying batches of envelopes to a partner node over HTTPS with mutual TLS."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

ENVELOPES_PATH = "/v1/envelopes"


class TransportError(Exception):
    """The batch did not reach the partner, or its answer could not be read: retry later."""


class Transport(Protocol):
    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        """One outcome object per envelope, in order; raises TransportError."""
        ...

    def close(self) -> None: ...


class HttpsTransport:
    """A pooled httpx client with the node's own SSLContext (client certificate, CAs)."""

    def __init__(self, context: ssl.SSLContext, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            verify=context,
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=8, max_connections=16),
        )

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        try:
            response = self._client.post(
                endpoint.rstrip("/") + ENVELOPES_PATH, json={"envelopes": list(envelopes)}
            )
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error
        if response.status_code != 200:
            raise TransportError(f"HTTP {response.status_code}: {response.text[:500]}")
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError) as error:
            raise TransportError(f"unreadable answer: {error}") from error
        if not isinstance(results, list) or len(results) != len(envelopes):
            raise TransportError("the answer does not have one outcome per envelope")
        return [item if isinstance(item, dict) else {} for item in results]

    def close(self) -> None:
        self._client.close()
