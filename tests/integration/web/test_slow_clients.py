"""Slow clients (issue 11, item 9): a client trickling a request's head or body was never timed
out. With `web.limits.server_options` a real uvicorn server on loopback disconnects it once the
head or body deadline passes, and still serves ordinary clients, kept alive or not."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from migrex.exchange.processes import free_port
from migrex.settings import Settings
from migrex.web.limits import server_options

HEAD_TIMEOUT, BODY_TIMEOUT = 1.5, 2.0
PARSERS = ["httptools", "h11"]


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


def _serve(options: dict[str, Any]) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(params=PARSERS)
def guarded(request: pytest.FixtureRequest) -> Iterator[int]:
    settings = Settings(http_header_timeout_seconds=HEAD_TIMEOUT,
                        http_body_timeout_seconds=BODY_TIMEOUT)  # fmt: skip
    yield from _serve(server_options(settings, parser=request.param))


def trickle(port: int, pieces: list[bytes], every: float, limit: float) -> float | None:
    """Sends `pieces` one by one, `every` seconds apart, for at most `limit` seconds; returns
    when the server closed the connection (seconds after connecting), None if it never did."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(every)
        for piece in pieces:
            if time.monotonic() - started > limit:
                return None
            try:
                connection.sendall(piece)
                if connection.recv(4096) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
    return None


HEAD = [b"GET /health HTTP/1.1\r\n", *[f"X-Slow-{n}: x\r\n".encode() for n in range(100)]]
BODY = [b"POST /echo HTTP/1.1\r\nHost: node\r\nContent-Length: 1000\r\n\r\n", *[b"x"] * 999]


def test_a_trickled_head_is_cut_off(guarded: int) -> None:
    closed = trickle(guarded, HEAD, every=0.25, limit=10)
    assert closed is not None and closed < HEAD_TIMEOUT + 1.5, closed


def test_a_trickled_body_is_cut_off(guarded: int) -> None:
    closed = trickle(guarded, BODY, every=0.25, limit=10)
    assert closed is not None and closed < BODY_TIMEOUT + 1.5, closed


def test_a_silent_connection_is_cut_off(guarded: int) -> None:
    closed = trickle(guarded, [b""] * 40, every=0.25, limit=10)
    assert closed is not None and closed < HEAD_TIMEOUT + 1.5, closed


def response(connection: socket.socket) -> tuple[bytes, bytes]:
    """Reads one whole response, head and `content-length` bytes of body: the server may send
    them in separate segments, so one `recv` can end between the two."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += _more(connection)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += _more(connection)
    return head, body


def _more(connection: socket.socket) -> bytes:
    piece = connection.recv(4096)
    assert piece, "the server closed the connection mid-response"
    return piece


def test_ordinary_requests_are_served_kept_alive(guarded: int) -> None:
    with socket.create_connection(("127.0.0.1", guarded)) as connection:
        connection.settimeout(5)
        for _ in range(3):
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: node\r\n\r\n")
            head, body = response(connection)
            assert head.startswith(b"HTTP/1.1 200") and body == b'{"status":"ok"}'
            time.sleep(0.5 * HEAD_TIMEOUT)  # idle between requests is the keep-alive's
        connection.sendall(BODY[0] + b"x" * 1000)
        assert response(connection)[1] == b'{"size":1000}'


def test_without_the_limits_a_trickled_head_is_never_cut_off() -> None:
    """What the node ran before: uvicorn's own protocol waits for the head for ever."""
    for port in _serve({"log_config": None}):
        assert trickle(port, HEAD, every=0.25, limit=HEAD_TIMEOUT + 3) is None
