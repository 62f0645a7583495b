"""create_officer_app(): the officers' API, on its own listener inside the ministry's network.

Partners reach the node through the mutual-TLS door (`web.app`); officers, tools and the
future web UI use this app with bearer tokens. Keeping them apart means a partner certificate
never opens an officer route and an officer token is worth nothing at the partner door.
Every answer carries the console's security headers (`web.headers`); served over TLS
(`officer_tls_cert`), HSTS tells browsers to use nothing else.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from migrex import features
from migrex.casework.routes import CaseworkSetup, consultation_keys_of
from migrex.casework.routes.bodies import publish_message_bodies
from migrex.casework.service import node_context
from migrex.identity.node_secrets import node_secret
from migrex.node import Node
from migrex.officers.passwords import bound_hashing
from migrex.officers.throttle import LOGIN_THROTTLE_KEY, LoginThrottle
from migrex.web.access_log import AccessLog
from migrex.web.headers import SecurityHeaders
from migrex.web.problems import install_problem_handlers
from migrex.web.request_ids import RequestIdMiddleware


def create_officer_app(node: Node) -> FastAPI:
    app = FastAPI(
        title=f"migrex officers' API — node {node.settings.node_id}",
        summary="Casework under migration-cooperation agreements, for authorised officers",
        # No Swagger UI or ReDoc: both load their scripts from a CDN, which a closed network
        # cannot reach and the console's policy forbids. The description is /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.unit_of_work = node.unit_of_work
    # For the pages that need the node's own keys (the auditor's verify and proofs).
    app.state.node = node
    bound_hashing(node.settings.login_hash_concurrency)
    app.state.login_throttle = LoginThrottle(
        node_secret(node.settings.resolved_key_dir, LOGIN_THROTTLE_KEY)
    )
    app.state.session_idle = timedelta(minutes=node.settings.session_idle_minutes)
    # What casework's routes need; moves to casework's package when casework is converted.
    app.state.casework = CaseworkSetup(
        node_context(node), node.settings.resolved_key_dir, consultation_keys_of(node)
    )

    install_problem_handlers(app)
    app.add_middleware(SecurityHeaders)
    for router in features.officer_routers():
        app.include_router(router)
    publish_message_bodies(app)
    app.add_middleware(AccessLog, listener="officers")
    # Outermost: the request's id is bound before anything below logs.
    app.add_middleware(RequestIdMiddleware)
    return app
