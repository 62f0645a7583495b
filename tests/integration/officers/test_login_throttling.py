"""Logins under attack: wrong passwords in a row are throttled with 429 and Retry-After, per
account and per address, each failure is in the security log without the name typed, and
logout with a bearer token revokes that token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select

from at_once import beside
from migrex.db import make_session_factory
from migrex.errors import MigrexError
from migrex.officers import throttle
from migrex.officers.api import CurrentOfficer, sessions
from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.officers.tables import LoginThrottleRow
from migrex.officers.throttle import LoginThrottle
from migrex.security.tables import SecurityEvent
from migrex.uow import SqlUnitOfWork, UnitOfWork
from migrex.web.problems import problem_response

PASSWORD = "correct horse battery staple"
PLANTED = "ZZPLANTEDSURNAME"
SECRET = b"the node's login-throttle secret"


@pytest.fixture
def unit_of_work(engine: Engine) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as work:
        add_officer(
            work, username="anna", display_name="Anna", roles=[(Role.OFFICER, "kz-mia")],
            password=PASSWORD, actor="test", hosted_authorities=("kz-mia",),
        )  # fmt: skip
    return lambda: SqlUnitOfWork(factory)


@pytest.fixture
def app(unit_of_work: Callable[[], UnitOfWork]) -> FastAPI:
    return _app(unit_of_work)


def _app(unit_of_work: Callable[[], UnitOfWork]) -> FastAPI:
    app = FastAPI()
    app.state.unit_of_work = unit_of_work
    app.state.login_throttle = LoginThrottle(SECRET)

    @app.exception_handler(MigrexError)
    async def _problem(request: Request, error: MigrexError) -> JSONResponse:
        return problem_response(error, request.url.path)

    app.include_router(sessions)

    @app.get("/v1/whoami")
    def whoami(officer: CurrentOfficer) -> str:
        return officer.username

    return app


def run(app: FastAPI, steps: Callable[[Callable[..., Any]], Any], address: str) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="https://node") as client:
            return await steps(client)

    return asyncio.run(go())


def logins(app: FastAPI, attempts: list[dict[str, str]], address: str) -> list[httpx.Response]:
    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.post("/v1/session", json=attempt) for attempt in attempts]

    return list(run(app, steps, address))


def security_log(unit_of_work: Callable[[], UnitOfWork]) -> dict[tuple[str, str | None], int]:
    """Refusals counted per reason and address (over windows: a slow run may cross a minute)."""
    counts: dict[tuple[str, str | None], int] = {}
    with unit_of_work() as uow:
        rows = uow.session.scalars(select(SecurityEvent)).all()
        assert not [row for row in rows if PLANTED in row.detail or "wrong" in row.detail]
        for row in rows:
            counts[row.reason, row.peer] = counts.get((row.reason, row.peer), 0) + row.count
    return counts


def test_thirty_wrong_passwords_are_throttled_and_logged(
    app: FastAPI, unit_of_work: Callable[[], UnitOfWork]
) -> None:
    wrong = {"username": "anna", "password": "wrong"}
    answers = logins(app, [wrong] * 30 + [{"username": "anna", "password": PASSWORD}],
                     "192.0.2.10")  # fmt: skip
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert [a.status_code for a in answers[5:]] == [401] + [429] * 25
    throttled = answers[-1]  # even the right password waits out the lock
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 1 <= int(throttled.headers["retry-after"]) <= 30
    assert throttled.json()["type"] == "urn:migrex:problem:login-throttled"
    assert security_log(unit_of_work) == {
        ("failed-login", "192.0.2.10"): 6,
        ("login-throttled", "192.0.2.10"): 25,
    }
    with unit_of_work() as uow:
        details = uow.session.scalars(
            select(SecurityEvent.detail).where(SecurityEvent.reason == "failed-login")
        ).all()
    assert details and all(d.startswith("failed login for officer #") for d in details)


def test_an_address_spraying_accounts_is_throttled_without_naming_them(
    app: FastAPI, unit_of_work: Callable[[], UnitOfWork]
) -> None:
    attempts = [{"username": f"{PLANTED.lower()}{n}", "password": "x"} for n in range(22)]
    answers = logins(app, attempts, "198.51.100.20")
    assert [a.status_code for a in answers] == [401] * 21 + [429]
    # Another address still logs in.
    [ok] = logins(app, [{"username": "anna", "password": PASSWORD}], "198.51.100.21")
    assert ok.status_code == 200
    log = security_log(unit_of_work)
    assert log[("failed-login", "198.51.100.20")] == 21


def test_logout_with_a_bearer_token_revokes_it(
    app: FastAPI, unit_of_work: Callable[[], UnitOfWork]
) -> None:
    with unit_of_work() as uow:
        token = issue_token(uow, username="anna", name="script", ttl=timedelta(days=1),
                            actor="test").token  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}

    async def steps(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.get("/v1/whoami", headers=bearer),
            await client.delete("/v1/session", headers=bearer),
            await client.get("/v1/whoami", headers=bearer),
        ]

    before, logout, after = run(app, steps, "192.0.2.30")
    assert before.status_code == 200 and logout.status_code == 204
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_the_count_is_the_nodes_shared_by_processes_and_kept_over_a_restart(
    unit_of_work: Callable[[], UnitOfWork],
) -> None:
    """Two processes serving officers (two apps on one database) count together: an attacker
    gets no more tries by spreading them, nor by waiting for a restart."""
    wrong = {"username": "anna", "password": "wrong"}
    first, second = _app(unit_of_work), _app(unit_of_work)
    assert [a.status_code for a in logins(first, [wrong] * 3, "192.0.2.40")] == [401] * 3
    assert [a.status_code for a in logins(second, [wrong] * 3, "192.0.2.41")] == [401] * 3
    restarted = _app(unit_of_work)
    [locked] = logins(restarted, [{"username": "anna", "password": PASSWORD}], "192.0.2.42")
    assert locked.status_code == 429


def test_neither_the_name_typed_nor_the_address_is_stored(
    app: FastAPI, unit_of_work: Callable[[], UnitOfWork]
) -> None:
    typed = "correct horse battery staple typed as a username"
    logins(app, [{"username": typed, "password": "x"}], "203.0.113.77")
    with unit_of_work() as uow:
        rows = uow.session.scalars(select(LoginThrottleRow)).all()
    assert len(rows) == 2  # the account and the address
    stored = " ".join(f"{r.key} {r.failures}" for r in rows)
    assert "horse" not in stored and "203.0.113" not in stored
    # A node with another secret cannot tell which account the records are about.
    other = LoginThrottle(b"another node")
    assert {r.key for r in rows}.isdisjoint({other._key("account", typed), SECRET.hex()})


def test_two_first_wrong_passwords_at_once_both_count(
    app: FastAPI, unit_of_work: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double-clicked or a parallel wrong login of an account nobody failed with yet: each
    found no record and added one, and the second was a 500 (on PostgreSQL, where the two are
    not taken in turn). Both are counted, each a 401."""
    wrong = {"username": "anna", "password": "wrong"}
    others = beside(monkeypatch, throttle, "after_failure",
                    lambda: logins(app, [wrong], "192.0.2.51"))  # fmt: skip
    [first] = logins(app, [wrong], "192.0.2.50")
    [second] = others()
    assert [first.status_code] + [a.status_code for a in second] == [401, 401]
    with unit_of_work() as uow:
        [account] = [row for row in uow.session.scalars(select(LoginThrottleRow))
                     if len(json.loads(row.failures)) > 1]  # fmt: skip
    assert len(json.loads(account.failures)) == 2
