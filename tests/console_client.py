"""A browser's worth of HTTP for the console's tests: one client per officer keeps the
session cookie, and sends the CSRF header htmx sends (read from the page, as the served
script reads it)."""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import Any
from unittest import mock

import httpx
from fastapi import FastAPI

from migrex.node import Node
from migrex.officers import service
from migrex.officers.model import Role
from migrex.officers.passwords import hash_password
from migrex.officers.service import add_officer

PASSWORD = "a long passphrase for the console"
_CSRF = re.compile(r'<meta name="migrex-csrf" content="([0-9a-f]+)">')


@cache
def _console_password_hash(password: str) -> str:
    return hash_password(password)


def add_console_officer(node: Node, username: str, roles: list[tuple[Role, str]]) -> None:
    """An officer who signs in with PASSWORD. The officers a test sets up share one real
    Argon2id hash of it, made once per test process: a hash costs a good part of a second,
    and a console test sets up several officers. Signing in still verifies the hash for real,
    and a password set through the console or the CLI is still hashed anew."""
    with (
        node.unit_of_work() as uow,
        mock.patch.object(service, "hash_password", _console_password_hash),
    ):
        add_officer(uow, username=username, display_name=username.title(), roles=roles,
                    password=PASSWORD, actor="test",
                    hosted_authorities=node.settings.authorities)  # fmt: skip


class Browser:
    """Requests to the officers' app over https (so the Secure cookie travels), in-process."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.cookies = httpx.Cookies()
        self.csrf: str | None = None

    def request(
        self, method: str, url: str, *, form: dict[str, Any] | None = None,
        htmx: bool = False, headers: dict[str, str] | None = None, raw: bytes | None = None,
    ) -> httpx.Response:  # fmt: skip
        """`raw` is sent as the form's bytes, as they are (a malformed form)."""
        sent = dict(headers or {})
        if raw is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            sent["HX-Request"] = "true"
            if self.csrf:
                sent["X-CSRF-Token"] = self.csrf

        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="https://node",
                                         cookies=self.cookies) as client:  # fmt: skip
                if raw is not None:
                    response = await client.request(method, url, content=raw, headers=sent)
                else:
                    response = await client.request(method, url, data=form, headers=sent)
                self.cookies.update(client.cookies)
                for name in [n for n in self.cookies if n not in client.cookies]:
                    self.cookies.delete(name)
                return response

        response = asyncio.run(run())
        if (found := _CSRF.search(response.text)) is not None:
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        response = self.post("/ui/sign-in", form={"username": username, "password": password})
        if response.status_code == 303:
            self.get("/ui/")
        return response
