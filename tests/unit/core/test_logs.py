"""The node's logs: one chain for structlog's and the standard library's loggers, request ids,
the log file, and no traceback with local variables or an error's message (G8)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI

from migrex.errors import ConfigurationError
from migrex.logs import configure_logging
from migrex.web.request_ids import RequestIdMiddleware

SECRET = "ZZPLANTEDSURNAME"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    yield out
    configure_logging("warning", "json")


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def fail_with_local() -> None:
    person = {"surname": SECRET}  # a local variable a traceback renderer would show
    raise ValueError(f"cannot read {person['surname']}")


def test_structlog_and_stdlib_lines_are_the_same_json(stream: io.StringIO) -> None:
    structlog.get_logger("migrex.relay").info("batch sent", count=3)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("migrex.access").info("%s %s %d", "GET", "/health", 200)
    first, second, third = lines(stream)
    assert first["event"] == "batch sent" and first["count"] == 3
    assert first["level"] == "info" and first["logger"] == "migrex.relay"
    assert second == {**second, "level": "warning", "logger": "uvicorn.error",
                      "event": "Invalid HTTP request received."}  # fmt: skip
    assert third["event"] == "GET /health 200" and third["logger"] == "migrex.access"
    assert all("timestamp" in line for line in (first, second, third))


@pytest.mark.parametrize("log_format", ["json", "console"])
@pytest.mark.parametrize("source", ["structlog", "stdlib"])
def test_no_traceback_shows_locals_or_the_error_message(
    log_format: str, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chain alone: a listener started earlier in this process (`web.servers`) leaves
    # uvicorn's error logger a filter that drops tracebacks altogether, frames included.
    monkeypatch.setattr(logging.getLogger("uvicorn.error"), "filters", [])
    out = io.StringIO()
    configure_logging("debug", log_format, stream=out)  # type: ignore[arg-type]
    try:
        fail_with_local()
    except ValueError:
        if source == "structlog":
            structlog.get_logger("migrex.jobs").exception("round failed")
        else:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = out.getvalue()
    configure_logging("warning", "json")
    assert SECRET not in text, text
    assert "ValueError" in text and "fail_with_local" in text  # where it happened stays


def test_the_log_file_is_written(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "node.log"
    configure_logging("info", "json", log_file, stream=io.StringIO())
    structlog.get_logger("migrex.test").info("written", n=1)
    logging.getLogger("uvicorn.error").info("Started server process")
    configure_logging("warning", "json")
    written = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["event"] for line in written] == ["written", "Started server process"]


def test_the_level_setting_holds_for_both_kinds(stream: io.StringIO) -> None:
    configure_logging("warning", "json", stream=stream)
    structlog.get_logger("a").info("hidden")
    logging.getLogger("b").info("hidden too")
    structlog.get_logger("a").warning("shown")
    assert [line["event"] for line in lines(stream)] == ["shown"]


def test_every_line_of_a_request_carries_its_id(stream: io.StringIO) -> None:
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)

    @app.get("/work")
    def work() -> dict[str, str]:  # a sync route runs in a worker thread
        structlog.get_logger("migrex.test").info("inside")
        logging.getLogger("migrex.access").info("stdlib inside")
        return {}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            given = await client.get("/work", headers={"X-Request-ID": "relay-0001-abcd"})
            made = await client.get("/work")
            hostile = await client.get("/work", headers={"X-Request-ID": f"{SECRET} was here"})
            return [given, made, hostile]

    given, made, hostile = asyncio.run(run())
    assert given.headers["x-request-id"] == "relay-0001-abcd"
    assert len(made.headers["x-request-id"]) == 32
    assert SECRET not in hostile.headers["x-request-id"]
    ours = [line for line in lines(stream) if str(line["logger"]).startswith("migrex")]
    ids = [line.get("request_id") for line in ours]
    assert (
        ids
        == ["relay-0001-abcd"] * 2
        + [made.headers["x-request-id"]] * 2
        + [hostile.headers["x-request-id"]] * 2
    )
    structlog.get_logger("migrex.test").info("after")
    assert "request_id" not in lines(stream)[-1]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("verbose")


def test_an_unwritable_log_file_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="cannot write the log file"):
        configure_logging("info", "json", blocker / "node.log", stream=io.StringIO())
    configure_logging("warning", "json")


def test_a_client_s_request_urls_are_not_logged(stream: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: GET %s", f"http://node/cases?q={SECRET}")
    logging.getLogger("httpx").warning("a warning stays")
    assert [line["event"] for line in lines(stream)] == ["a warning stays"]


def test_an_access_line_carries_its_fields_and_no_other_extra(stream: io.StringIO) -> None:
    fields = {"listener": "officers", "method": "GET", "route": "/v1/cases/{case_id}",
              "status": 200, "duration_ms": 1.5, "request_id": "abc12345"}  # fmt: skip
    logging.getLogger("migrex.access").info("request", extra={**fields, "surname": SECRET})
    (line,) = lines(stream)
    assert line == {**line, **fields}
    assert SECRET not in json.dumps(line)
