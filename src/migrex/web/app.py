"""create_app(): the partners' mutual-TLS door, which serves partners the routes they need
(envelopes, the heads of their logs we hold) and nothing else: no documentation, no health or
metrics, which are the operator's (`web.operator_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from migrex import features
from migrex.exchange.runtime import ExchangeRuntime
from migrex.web.access_log import AccessLog
from migrex.web.problems import install_problem_handlers
from migrex.web.request_ids import RequestIdMiddleware


def create_app(runtime: ExchangeRuntime) -> FastAPI:
    app = FastAPI(
        title=f"migrex node {runtime.node.settings.node_id}",
        summary="Protected exchange under intergovernmental migration-cooperation agreements",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.exchange = runtime
    install_problem_handlers(app)
    for router in features.partner_routers():
        app.include_router(router)
    app.add_middleware(AccessLog, listener="partners")
    # Outermost: the request's id is bound before anything below logs.
    app.add_middleware(RequestIdMiddleware)
    return app
