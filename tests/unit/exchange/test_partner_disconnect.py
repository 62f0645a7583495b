"""A partner that disconnects mid-batch (it stopped, or the body deadline cut it off) gets a
problem answer nobody reads, and the node logs one routine line: never an unhandled
`ClientDisconnect` with a traceback at error level."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request
from structlog.testing import capture_logs

from migrex.exchange.api import PartnerDisconnected, _capped_body


def _request(messages: list[dict[str, Any]]) -> Request:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/v1/envelopes", "headers": []}
    return Request(scope, receive)


def test_a_batch_cut_off_midway_is_refused_as_incomplete() -> None:
    request = _request([
        {"type": "http.request", "body": b'{"envelopes": ["eyJ', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip
    with capture_logs() as logs, pytest.raises(PartnerDisconnected) as refused:
        asyncio.run(_capped_body(request, limit=10_000))
    assert refused.value.status == 400
    assert [entry["log_level"] for entry in logs] == ["info"]
    assert logs[0]["received_bytes"] == len(b'{"envelopes": ["eyJ')


def test_a_whole_batch_is_read() -> None:
    request = _request([
        {"type": "http.request", "body": b'{"envelopes": ', "more_body": True},
        {"type": "http.request", "body": b'["x"]}', "more_body": False},
    ])  # fmt: skip
    assert asyncio.run(_capped_body(request, limit=10_000)) == b'{"envelopes": ["x"]}'
