"""The node's listeners log uvicorn's errors without tracebacks (an exception's text and
frames may quote a request body, G8), and name each listener's URL."""

from __future__ import annotations

import logging

import pytest

from migrex.web.servers import Listener, quiet_tracebacks


def test_an_error_in_a_request_is_logged_by_its_class_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_tracebacks()
    logger = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        try:
            raise ValueError("Aram Hovhannisyan AM1234567")
        except ValueError:
            logger.exception("Exception in ASGI application")
    [record] = [r for r in caplog.records if r.name == "uvicorn.error"]
    assert record.getMessage() == "Exception in ASGI application (ValueError)"
    assert "Hovhannisyan" not in caplog.text and "Traceback" not in caplog.text


def test_a_listener_says_its_scheme_host_and_port() -> None:
    app = object()
    assert Listener("operator", app, "127.0.0.1", 9100).url == "http://127.0.0.1:9100"  # type: ignore[arg-type]
    assert Listener("x", app, "::1", 1, ssl_context=object()).url == "https://[::1]:1"  # type: ignore[arg-type]
