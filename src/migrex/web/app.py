"""create_app(): the node's FastAPI application."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from migrex.casework.filing import start_filing
from migrex.casework.service import node_context
from migrex.exchange.api import router as exchange_router
from migrex.exchange.runtime import ExchangeRuntime
from migrex.web.problems import install_problem_handlers


def create_app(runtime: ExchangeRuntime, *, run_relay: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_filing = threading.Event()
        if run_relay and runtime.node.settings.relay_enabled:
            runtime.start_relays()
            node = runtime.node
            start_filing(
                node.unit_of_work,
                node_context(node),
                stop_filing,
            )
        try:
            yield
        finally:
            stop_filing.set()
            runtime.stop()

    app = FastAPI(
        title=f"migrex node {runtime.node.settings.node_id}",
        summary="Protected exchange under intergovernmental migration-cooperation agreements",
        lifespan=lifespan,
    )
    app.state.exchange = runtime

    install_problem_handlers(app)
    app.include_router(exchange_router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, object]:
        with runtime.node.engine.connect() as connection:
            connection.execute(text("select 1"))
        return {
            "status": "ok",
            "node": runtime.node.settings.node_id,
            "state": runtime.node.settings.state,
            "agreements": sorted(runtime.trust.directories),
            "outbox": runtime.outbox_depth(),
        }

    @app.get("/metrics", tags=["operations"])
    def metrics() -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
