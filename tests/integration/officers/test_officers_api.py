"""Bearer tokens and permissions through FastAPI: 401 and 403 as RFC 9457 problems, else 200."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from migrex.db import make_session_factory
from migrex.errors import MigrexError
from migrex.officers.api import CurrentOfficer, requires, router
from migrex.officers.model import Action, Officer, Role
from migrex.officers.service import add_officer, issue_token, list_tokens, revoke_token
from migrex.uow import SqlUnitOfWork, UnitOfWork
from migrex.web.problems import problem_response

HOSTED = ("kz-mia", "kz-mlsp")


def build_app(unit_of_work: Callable[[], UnitOfWork]) -> FastAPI:
    """The wiring create_app needs: the unit-of-work factory, the problem handler, the router."""
    app = FastAPI()
    app.state.unit_of_work = unit_of_work

    @app.exception_handler(MigrexError)
    async def _problem(request: Request, error: MigrexError) -> JSONResponse:
        response = problem_response(error, request.url.path)
        response.headers.update(getattr(error, "headers", {}))
        return response

    app.include_router(router)

    # Stand-ins for feature routes, one per way a route names its authority.
    @app.get("/v1/authorities/{authority}/inbox")
    def inbox(authority: str, officer: Annotated[Officer, requires(Action.VIEW_INBOX)]) -> str:
        return f"{officer.username}@{authority}"

    @app.get("/v1/overdue")
    def overdue(authority: str, officer: Annotated[Officer, requires(Action.VIEW_OVERDUE)]) -> str:
        return f"{officer.username}@{authority}"

    @app.get("/v1/audit/verify")
    def verify(officer: Annotated[Officer, requires(Action.VERIFY_AUDIT)]) -> str:
        return officer.username

    @app.get("/v1/whoami")
    def whoami(officer: CurrentOfficer) -> str:
        return officer.username

    return app


@pytest.fixture
def uow(engine: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(factory)


@pytest.fixture
def tokens(uow: Callable[[], UnitOfWork]) -> dict[Role, str]:
    """One officer per role, each for kz-mia, and a token for each."""
    issued = {}
    for role in Role:
        username = f"{role.value}-1"
        with uow() as work:
            add_officer(
                work, username=username, display_name=role.name.title(),
                roles=[(role, "kz-mia")], password=None, actor="test", hosted_authorities=HOSTED,
            )  # fmt: skip
        with uow() as work:
            token = issue_token(
                work, username=username, name="api", ttl=timedelta(days=1), actor="test"
            )
        issued[role] = token.token
    return issued


class ApiClient:
    """A synchronous client over httpx's ASGI transport.

    Starlette's own TestClient now asks for the `httpx2` package, which the lock does not
    hold, and warns (an error under our warning filter) without it.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                return await client.get(url, headers=headers)

        return asyncio.run(call())


@pytest.fixture
def client(uow: Callable[[], UnitOfWork]) -> ApiClient:
    return ApiClient(build_app(uow))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:migrex:problem:{slug}"
    assert body["status"] == status


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YXJhbTpwYXNzd29yZA=="},
        {"Authorization": "Bearer "},
        bearer("mgx_00000000_" + "A" * 43),
        bearer("not-a-token"),
    ],
)
def test_no_or_bad_token_is_401(client: ApiClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/officers/me", headers=headers)
    assert_problem(response, 401, "not-authenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="migrex"'
    assert response.json()["instance"] == "/v1/officers/me"


def test_a_revoked_token_is_401(
    client: ApiClient, tokens: dict[Role, str], uow: Callable[[], UnitOfWork]
) -> None:
    token = tokens[Role.OFFICER]
    assert client.get("/v1/whoami", headers=bearer(token)).json() == "officer-1"
    with uow() as work:
        [info] = list_tokens(work, "officer-1")
        revoke_token(work, token_id=info.id, actor="test", now=datetime.now(UTC))
    response = client.get("/v1/whoami", headers=bearer(token))
    assert_problem(response, 401, "not-authenticated")
    assert response.json()["detail"] == "the token was revoked"


def test_me_shows_roles_and_permissions(client: ApiClient, tokens: dict[Role, str]) -> None:
    response = client.get("/v1/officers/me", headers=bearer(tokens[Role.AUDITOR]))
    assert response.status_code == 200
    assert response.json() == {
        "id": response.json()["id"],
        "username": "auditor-1",
        "display_name": "Auditor",
        "active": True,
        "roles": [{"role": "auditor", "authority": "kz-mia"}],
        "permissions": {"*": ["verify-audit", "view-audit", "view-security-log"]},
    }


def test_only_administrators_list_officers(client: ApiClient, tokens: dict[Role, str]) -> None:
    response = client.get("/v1/officers", headers=bearer(tokens[Role.ADMINISTRATOR]))
    assert response.status_code == 200
    assert [o["username"] for o in response.json()] == sorted(f"{r.value}-1" for r in Role)
    refused = client.get("/v1/officers", headers=bearer(tokens[Role.SUPERVISOR]))
    assert_problem(refused, 403, "not-authorised")
    assert refused.json()["detail"] == "supervisor-1 may not manage-users"


# Role/endpoint matrix for the stand-in routes; every officer works for kz-mia only.
ENDPOINTS = ("/v1/authorities/kz-mia/inbox", "/v1/overdue?authority=kz-mia", "/v1/audit/verify")
EXPECTED = {
    Role.OFFICER: (200, 200, 403),
    Role.REVIEWER: (200, 200, 403),
    Role.SUPERVISOR: (200, 200, 403),
    Role.DATA_PROTECTION_OFFICER: (403, 403, 200),
    Role.AUDITOR: (403, 403, 200),
    Role.ADMINISTRATOR: (403, 403, 403),
    Role.STATISTICIAN: (403, 403, 403),
    Role.ANALYST: (403, 403, 403),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_endpoints(
    client: ApiClient, tokens: dict[Role, str], role: Role
) -> None:
    statuses = tuple(client.get(url, headers=bearer(tokens[role])).status_code for url in ENDPOINTS)
    assert statuses == EXPECTED[role]


@pytest.mark.parametrize("url", ["/v1/authorities/kz-mlsp/inbox", "/v1/overdue?authority=am-mcs"])
def test_a_role_for_one_authority_does_not_reach_another(
    client: ApiClient, tokens: dict[Role, str], url: str
) -> None:
    assert_problem(client.get(url, headers=bearer(tokens[Role.SUPERVISOR])), 403, "not-authorised")


def test_a_route_without_its_authority_is_refused(
    client: ApiClient, tokens: dict[Role, str]
) -> None:
    response = client.get("/v1/overdue", headers=bearer(tokens[Role.SUPERVISOR]))
    assert_problem(response, 403, "not-authorised")


def test_openapi_describes_the_bearer_scheme_and_problems(client: ApiClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    responses = document["paths"]["/v1/officers"]["get"]["responses"]
    assert set(responses["403"]["content"]) == {"application/problem+json"}
