"""create_officer_app(): the officers' API, on its own listener inside the ministry's network.

Partners reach the node through the mutual-TLS door (`web.app`); officers, tools and the
future web UI use this app with bearer tokens. Keeping them apart means a partner certificate
never opens an officer route and an officer token is worth nothing at the partner door.
Served over TLS (`officer_tls_cert`), every answer tells browsers to use nothing else (HSTS).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from migrex import features
from migrex.casework.routes import CaseworkSetup, consultation_keys_of
from migrex.casework.routes.bodies import publish_message_bodies
from migrex.casework.service import node_context
from migrex.node import Node
from migrex.officers.passwords import bound_hashing
from migrex.web.access_log import AccessLog
from migrex.web.problems import install_problem_handlers
from migrex.web.request_ids import RequestIdMiddleware

HSTS = (b"strict-transport-security", b"max-age=31536000")


def create_officer_app(node: Node) -> FastAPI:
    app = FastAPI(
        title=f"migrex officers' API — node {node.settings.node_id}",
        summary="Casework under migration-cooperation agreements, for authorised officers",
    )
    app.state.unit_of_work = node.unit_of_work
    bound_hashing(node.settings.login_hash_concurrency)
    # What casework's routes need; moves to casework's package when casework is converted.
    app.state.casework = CaseworkSetup(
        node_context(node), node.settings.resolved_key_dir, consultation_keys_of(node)
    )

    install_problem_handlers(app)
    for router in features.officer_routers():
        app.include_router(router)
    publish_message_bodies(app)
    if node.settings.officer_tls_cert is not None:
        app.add_middleware(StrictTransportSecurity)
    app.add_middleware(AccessLog, listener="officers")
    # Outermost: the request's id is bound before anything below logs.
    app.add_middleware(RequestIdMiddleware)
    return app


class StrictTransportSecurity:
    """Adds HSTS to every answer: a browser that once reached the officers over TLS never
    sends a password or a session cookie to them in clear."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HSTS]
            await send(message)

        await self.app(scope, receive, send_with_hsts if scope["type"] == "http" else send)
