"""create_app(): the node's FastAPI application: the partners' mutual-TLS door, the operator
routes, and every feature's background jobs."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from migrex import features
from migrex.exchange.runtime import ExchangeRuntime
from migrex.web.problems import install_problem_handlers


def create_app(runtime: ExchangeRuntime, *, run_relay: bool = True) -> FastAPI:
    # Imported here, before `serve` freezes what start-up built (`settle_process`).
    jobs = list(features.jobs())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_clerks = threading.Event()
        if run_relay and runtime.node.settings.relay_enabled:
            # Each feature's background jobs: the relays, filing, witnessing, retention.
            for start in jobs:
                start(runtime, stop_clerks)
        try:
            yield
        finally:
            stop_clerks.set()
            runtime.stop()

    app = FastAPI(
        title=f"migrex node {runtime.node.settings.node_id}",
        summary="Protected exchange under intergovernmental migration-cooperation agreements",
        lifespan=lifespan,
        # No Swagger UI or ReDoc (CDN scripts); the description stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.exchange = runtime

    install_problem_handlers(app)
    for router in features.partner_routers():
        app.include_router(router)

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
