"""The access log: one line per request with the route's template, never the path as sent or
its query string (G8), and a request id the response carries."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI

from migrex.web.access_log import AccessLog
from migrex.web.request_ids import RequestIdMiddleware

REQUEST_ID_HEADER = "X-Request-ID"


class Client:
    """Requests to an app with the access log, in-process."""

    def __init__(self) -> None:
        self.app = FastAPI()

        @self.app.get("/v1/persons/{document}")
        def person(document: str) -> str:
            return "ok"

        # As the node's apps stack them: the request id outermost, the access log inside it.
        self.app.add_middleware(AccessLog, listener="test")
        self.app.add_middleware(RequestIdMiddleware)

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(call())


@pytest.fixture
def client() -> Client:
    return Client()


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "migrex.access"]


def test_a_line_names_the_route_template_and_echoes_the_request_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="migrex.access"):
        answer = client.get("/v1/persons/AM1234567?name=Hovhannisyan")
        missing = client.get("/v1/Hovhannisyan")
        docs = client.get("/openapi.json")
    first, second, third = lines(caplog)
    assert answer.headers[REQUEST_ID_HEADER] == first.request_id  # type: ignore[attr-defined]
    assert len(answer.headers.get_list(REQUEST_ID_HEADER)) == 1  # one id, not one per layer
    assert (first.listener, first.method, first.route, first.status) == (  # type: ignore[attr-defined]
        "test", "GET", "/v1/persons/{document}", 200,
    )  # fmt: skip
    assert first.duration_ms >= 0  # type: ignore[attr-defined]
    assert (second.route, second.status) == ("(no route)", 404)  # type: ignore[attr-defined]
    assert missing.status_code == 404 and docs.status_code == 200
    assert third.route == "/openapi.json"  # type: ignore[attr-defined]
    everything = repr([vars(r) for r in lines(caplog)])
    assert "AM1234567" not in everything and "Hovhannisyan" not in everything


def test_a_callers_request_id_is_kept_only_when_it_is_an_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="migrex.access"):
        kept = client.get("/v1/persons/x", headers={REQUEST_ID_HEADER: "abc-123-def-456"})
        replaced = client.get("/v1/persons/x", headers={REQUEST_ID_HEADER: "Aram Hovhannisyan"})
    assert kept.headers[REQUEST_ID_HEADER] == "abc-123-def-456"
    assert "Hovhannisyan" not in replaced.headers[REQUEST_ID_HEADER]
    assert all("Hovhannisyan" not in r.request_id for r in lines(caplog))  # type: ignore[attr-defined]
