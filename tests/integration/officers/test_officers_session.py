"""Session login for the web: a password gives an HttpOnly cookie; changes need the CSRF
header; logout revokes the session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from migrex.db import make_session_factory
from migrex.errors import MigrexError
from migrex.officers.api import CurrentOfficer, requires, sessions
from migrex.officers.model import Action, Officer, Role
from migrex.officers.service import add_officer
from migrex.officers.sessions import COOKIE, CSRF_HEADER
from migrex.officers.throttle import LoginThrottle
from migrex.uow import SqlUnitOfWork, UnitOfWork
from migrex.web.problems import problem_response


def build_app(unit_of_work: Callable[[], UnitOfWork]) -> FastAPI:
    app = FastAPI()
    app.state.unit_of_work = unit_of_work
    app.state.login_throttle = LoginThrottle(b"test")

    @app.exception_handler(MigrexError)
    async def _problem(request: Request, error: MigrexError) -> JSONResponse:
        return problem_response(error, request.url.path)

    app.include_router(sessions)

    @app.get("/v1/whoami")
    def whoami(officer: CurrentOfficer) -> str:
        return officer.username

    @app.post("/v1/authorities/{authority}/requests")
    def change(authority: str, officer: Annotated[Officer, requires(Action.SEND_REQUEST)]) -> str:
        return f"{officer.username}@{authority}"

    return app


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as work:
        add_officer(
            work, username="anna", display_name="Anna", roles=[(Role.OFFICER, "kz-mia")],
            password="correct horse battery staple", actor="test", hosted_authorities=("kz-mia",),
        )  # fmt: skip
    return build_app(lambda: SqlUnitOfWork(factory))


def run(app: FastAPI, steps: Callable[[httpx.AsyncClient], Any]) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        # https: the cookie is Secure, so the client sends it only over TLS.
        async with httpx.AsyncClient(transport=transport, base_url="https://node") as client:
            return await steps(client)

    return asyncio.run(go())


async def _replayed(client: httpx.AsyncClient, session: str) -> httpx.Response:
    """The old cookie presented again after logout (a copy someone kept)."""
    client.cookies.clear()
    return await client.get("/v1/whoami", headers={"Cookie": f"{COOKIE}={session}"})


def test_login_then_read_and_change_with_the_csrf_header(app: FastAPI) -> None:
    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        login = await client.post("/v1/session", json={
            "username": "anna", "password": "correct horse battery staple"})  # fmt: skip
        csrf = login.json()["csrf_token"]
        return [
            login,
            await client.get("/v1/whoami"),
            await client.post("/v1/authorities/kz-mia/requests"),  # no CSRF header
            await client.post("/v1/authorities/kz-mia/requests", headers={CSRF_HEADER: csrf}),
            await client.delete("/v1/session", headers={CSRF_HEADER: csrf}),
            await _replayed(client, login.cookies[COOKIE]),
        ]

    login, read, unprotected, protected, logout, after = run(app, steps)
    assert login.status_code == 200 and login.json()["officer"]["username"] == "anna"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert read.status_code == 200 and read.json() == "anna"
    assert unprotected.status_code == 401
    assert protected.status_code == 200 and protected.json() == "anna@kz-mia"
    assert logout.status_code == 204
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


@pytest.mark.parametrize(
    "login", [{"username": "anna", "password": "wrong"}, {"username": "nobody", "password": "x"}]
)
def test_a_wrong_login_is_one_401_and_sets_no_cookie(app: FastAPI, login: dict[str, str]) -> None:
    async def steps(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/session", json=login)

    response = run(app, steps)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in response.headers


def test_a_username_with_a_nul_byte_is_a_client_error(app: FastAPI) -> None:
    async def steps(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/session", json={"username": "\x00", "password": "x"})

    assert run(app, steps).status_code == 422
