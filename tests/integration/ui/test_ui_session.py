"""Signing in and out of the console, the idle limit, the language chosen, and the headers
every answer of the officers' listener carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from casework_scenes import officers_app
from console_client import PASSWORD, Browser, add_console_officer
from migrex.officers.model import Role
from migrex.officers.service import authenticate_token
from migrex.officers.sessions import COOKIE
from migrex.officers.tables import ApiTokenRow
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    yield officers_app(pair.am)


def test_the_front_page_leads_to_sign_in(app: FastAPI) -> None:
    browser = Browser(app)
    assert browser.get("/").headers["location"] == "/ui/"
    to_sign_in = browser.get("/ui/")
    assert to_sign_in.status_code == 303
    assert to_sign_in.headers["location"] == "/ui/sign-in"
    page = browser.get("/ui/sign-in")
    assert page.status_code == 200 and 'name="password"' in page.text


def test_sign_in_opens_a_session_and_sign_out_revokes_it(app: FastAPI, pair: Pair) -> None:
    browser = Browser(app)
    response = browser.sign_in("anna")
    assert response.status_code == 303 and response.headers["location"] == "/ui/"
    cookie = response.headers["set-cookie"]
    assert all(part in cookie for part in ("HttpOnly", "Secure", "SameSite=strict"))
    home = browser.get("/ui/")
    assert home.status_code == 200 and "Anna" in home.text and browser.csrf
    token = browser.cookies[COOKIE]

    out = browser.post("/ui/sign-out", htmx=True)
    assert out.status_code == 204 and out.headers["HX-Redirect"].startswith("/ui/sign-in")
    with pair.am.unit_of_work() as uow:
        revoked = uow.session.scalars(select(ApiTokenRow.revoked_at)).all()
    assert any(revoked), "the session token was not revoked"
    assert Browser(app).get("/ui/", headers={"Cookie": f"{COOKIE}={token}"}).status_code == 303


def test_console_sign_in_is_throttled_like_the_api_and_shares_its_count(
    app: FastAPI, pair: Pair
) -> None:
    """The console is a second way in: it must count failures and lock as the API does, and
    the count is the node's, not the page's (a new app, another process, sees it)."""
    browser = Browser(app)
    answers = [browser.sign_in("anna", "not the password").status_code for _ in range(6)]
    assert answers == [401] * 6
    locked = browser.sign_in("anna")  # even the right password waits out the lock
    assert locked.status_code == 429 and 1 <= int(locked.headers["retry-after"]) <= 30
    assert 'role="alert"' in locked.text and "set-cookie" not in locked.headers
    assert Browser(officers_app(pair.am)).sign_in("anna").status_code == 429


def test_a_wrong_password_shows_the_form_again(app: FastAPI) -> None:
    response = Browser(app).sign_in("anna", "not the password")
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "set-cookie" not in response.headers
    assert "not the password" not in response.text


def test_a_change_without_the_csrf_header_is_refused(app: FastAPI, pair: Pair) -> None:
    browser = Browser(app)
    browser.sign_in("anna")
    refused = browser.post("/ui/sign-out")  # the cookie, and no header: another site's form
    assert refused.status_code == 303 and refused.headers["location"] == "/ui/sign-in"
    with pair.am.unit_of_work() as uow:
        assert not any(uow.session.scalars(select(ApiTokenRow.revoked_at)).all())


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_another_sites_sign_in_form_is_refused(app: FastAPI, headers: dict[str, str]) -> None:
    response = Browser(app).post(
        "/ui/sign-in", form={"username": "anna", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_a_session_left_idle_ends(app: FastAPI, pair: Pair) -> None:
    browser = Browser(app)
    browser.sign_in("anna")
    token = browser.cookies[COOKIE]
    with pair.am.unit_of_work() as uow:
        row = uow.session.scalars(select(ApiTokenRow)).one()
        row.last_used_at = row.created_at - timedelta(minutes=16)
        uow.commit()
    assert browser.get("/ui/").status_code == 303
    # The same token still fails later: nothing but a new sign-in revives it.
    with pair.am.unit_of_work() as uow, pytest.raises(Exception, match="without use"):
        authenticate_token(uow, token, row.created_at, idle=timedelta(minutes=15))


def test_extending_the_session_records_its_use(app: FastAPI, pair: Pair) -> None:
    browser = Browser(app)
    browser.sign_in("anna")
    with pair.am.unit_of_work() as uow:
        row = uow.session.scalars(select(ApiTokenRow)).one()
        row.last_used_at = row.created_at - timedelta(minutes=10)
        uow.commit()
    assert browser.post("/ui/session/extend", htmx=True).status_code == 204
    with pair.am.unit_of_work() as uow:
        used = uow.session.scalars(select(ApiTokenRow.last_used_at)).one()
    assert used is not None and used > row.created_at


def test_the_language_chosen_is_remembered(app: FastAPI) -> None:
    browser = Browser(app)
    chosen = browser.get("/ui/language/hy?next=/ui/sign-in")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/ui/sign-in"
    page = browser.get("/ui/sign-in")
    assert '<html lang="hy">' in page.text and "Գաղտնաբառ" in page.text
    assert Browser(app).get("/ui/language/xx").status_code == 404
    away = browser.get("/ui/language/ru?next=https://elsewhere.example/")
    assert away.headers["location"] == "/ui/"


def test_the_browser_language_is_the_default(app: FastAPI) -> None:
    page = Browser(app).get("/ui/sign-in", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru">' in page.text and "Пароль" in page.text


def test_every_answer_carries_the_security_headers(app: FastAPI) -> None:
    browser = Browser(app)
    for url in ("/ui/sign-in", "/ui/static/console.js", "/openapi.json", "/v1/officers/me"):
        headers = browser.get(url).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_no_documentation_page_loads_from_a_cdn(app: FastAPI) -> None:
    browser = Browser(app)
    assert browser.get("/docs").status_code == 404
    assert browser.get("/redoc").status_code == 404
    assert browser.get("/openapi.json").json()["paths"]


def test_only_the_console_files_are_served(app: FastAPI) -> None:
    browser = Browser(app)
    served = browser.get("/ui/static/htmx.min.js")
    assert served.status_code == 200 and served.headers["content-type"].startswith(
        "text/javascript"
    )
    for name in ("htmx.LICENSE", "..%2F__init__.py", "nothing.js"):
        assert browser.get(f"/ui/static/{name}").status_code == 404


def test_pages_contain_no_inline_script_or_style(app: FastAPI) -> None:
    browser = Browser(app)
    browser.sign_in("anna")
    for url in ("/ui/sign-in", "/ui/"):
        text = browser.get(url).text
        assert "<script>" not in text and "<style" not in text and " style=" not in text
        assert not re.search(r"\son[a-z]+=", text), "an inline event handler"
