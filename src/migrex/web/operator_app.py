"""create_operator_app(): the operator's listener, on loopback unless set otherwise.

The node's own monitoring reads it without a partner's certificate, and a partner never
reaches it: `/health` says the process answers, `/ready` whether it can work (its database,
its own keys, each feature's own check, and each partner's door, one by one), `/metrics` the
Prometheus figures.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from migrex.checks import check_database
from migrex.errors import MigrexError
from migrex.exchange.readiness import key_problems, reach_partners
from migrex.exchange.runtime import ExchangeRuntime
from migrex.features import readiness_checks
from migrex.leases import HELD
from migrex.web.access_log import AccessLog
from migrex.web.request_ids import RequestIdMiddleware


def create_operator_app(runtime: ExchangeRuntime) -> FastAPI:
    settings = runtime.node.settings
    app = FastAPI(
        title=f"migrex operator listener — node {settings.node_id}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: the process answers. Nothing it depends on is asked, so a database
        outage does not get a healthy process restarted."""
        return {"status": "ok", "node": settings.node_id}

    @app.get("/ready", tags=["operations"])
    def ready() -> JSONResponse:
        """Readiness: 200 when the database is reachable and current, every hosted authority
        has valid keys and each feature's own check passes (no partner's witness refuses
        our log); each partner's door is reported, and a partner that does not answer does
        not make this node unready (its messages wait in the outbox)."""
        checks: dict[str, Any] = {}
        try:
            check_database(settings, "current")
            checks["database"] = {"ok": True, "outbox": runtime.outbox_depth()}
        except MigrexError as error:
            checks["database"] = {"ok": False, "reason": error.detail}
        except Exception as error:  # an outage mid-query: its class, never its text (G8)
            checks["database"] = {"ok": False, "reason": type(error).__name__}
        keys = key_problems(runtime.trust, datetime.now(UTC))
        checks["keys"] = {"ok": not keys, **({"reason": "; ".join(keys)} if keys else {})}
        checks["partners"] = [
            {"node": door.node_id, "state": door.state, "endpoint": door.endpoint,
             "reachable": door.reachable, **({"reason": door.reason} if door.reason else {})}
            for door in reach_partners(runtime.trust, settings.state)
        ]  # fmt: skip
        for name, check in readiness_checks().items():
            try:
                checks[name] = check(runtime.node)
            except Exception as error:  # as for the database: its class only (G8)
                checks[name] = {"ok": False, "reason": type(error).__name__}
        ok = all(checks[name]["ok"] for name in ("database", "keys", *readiness_checks()))
        body = {"status": "ready" if ok else "not-ready", "node": settings.node_id, **checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"])
    def metrics() -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    _watch_leases(runtime.metrics.registry)
    app.add_middleware(AccessLog, listener="operator")
    # Outermost: the request's id is bound before anything below logs.
    app.add_middleware(RequestIdMiddleware)
    return app


class JobLeases(Collector):
    """`migrex_job_lease_held{job}`: 1 where this process runs the job (holds its lease)."""

    def collect(self) -> Any:
        family = GaugeMetricFamily(
            "migrex_job_lease_held", "1 where this process holds the job's lease", labels=["job"]
        )
        for job, held in sorted(HELD.items()):
            family.add_metric([job], 1.0 if held else 0.0)
        yield family


def _watch_leases(registry: CollectorRegistry) -> None:
    # Registered once per registry: an earlier app on the same runtime may have done it.
    with contextlib.suppress(ValueError):
        registry.register(JobLeases())
