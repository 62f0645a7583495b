"""create_app(): the node's FastAPI application."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from migrex.casework.filing import start_filing
from migrex.casework.service import node_context
from migrex.exchange.api import router as exchange_router
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.trust import Trust
from migrex.jobs import start_periodic
from migrex.node import Node
from migrex.retention.run import run_retention
from migrex.web.problems import install_problem_handlers
from migrex.witness import router as witness_router
from migrex.witness import start_witnessing


def start_proof_clerks(node: Node, trust: Trust, stop: threading.Event) -> None:
    """Witnessing (answer partners' checkpoints, keep their cosignatures, send ours) and the
    retention run, each on its own interval."""
    settings = node.settings
    start_witnessing(node, trust, stop)

    def retention() -> int:
        with node.unit_of_work() as uow:
            return len(run_retention(uow, datetime.now(UTC)))

    start_periodic("retention", retention, stop, settings.retention_interval_seconds)


def create_app(runtime: ExchangeRuntime, *, run_relay: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_clerks = threading.Event()
        if run_relay and runtime.node.settings.relay_enabled:
            runtime.start_relays()
            start_filing(runtime.node.unit_of_work, node_context(runtime.node), stop_clerks)
            start_proof_clerks(runtime.node, runtime.trust, stop_clerks)
        try:
            yield
        finally:
            stop_clerks.set()
            runtime.stop()

    app = FastAPI(
        title=f"migrex node {runtime.node.settings.node_id}",
        summary="Protected exchange under intergovernmental migration-cooperation agreements",
        lifespan=lifespan,
    )
    app.state.exchange = runtime

    install_problem_handlers(app)
    app.include_router(exchange_router)
    app.include_router(witness_router)

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
