"""Session login for the web: a password exchanged for a short-lived token in a cookie.

A session is an API token named "web session" that lives eight hours, so revoking, expiry
and the disabled-account check are the tokens' own. It travels in an HttpOnly, Secure,
SameSite=Strict cookie that scripts cannot read; a request that changes anything with the
cookie must also carry the session's CSRF value in `X-CSRF-Token` (derived from the token, so
nothing more is stored), which another site cannot know.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from migrex.officers.model import NotAuthenticated, Officer
from migrex.officers.service import (
    IssuedToken,
    authenticate_password,
    authenticate_token,
    issue_token,
)
from migrex.uow import UnitOfWork

COOKIE = "migrex_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL = timedelta(hours=8)
# A session nobody used for this long ends (the console warns before and offers to extend);
# a node may set its own (`session_idle_minutes`).
SESSION_IDLE = timedelta(minutes=15)
SESSION_NAME = "web session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_value(token: str) -> str:
    return hashlib.sha256(b"migrex-csrf:" + token.encode("ascii")).hexdigest()[:40]


def check_csrf(method: str, token: str, header: str | None) -> None:
    """Refuse a changing request made with the cookie but without the session's CSRF value."""
    if method.upper() in SAFE_METHODS:
        return
    if header is None or not hmac.compare_digest(header, csrf_value(token)):
        raise NotAuthenticated(f"a request with the session cookie needs its {CSRF_HEADER}")


def log_in(
    uow: UnitOfWork, username: str, password: str, now: datetime
) -> tuple[Officer, IssuedToken]:
    """The officer and a new session token; NotAuthenticated for a wrong login (one message
    for every reason, as `authenticate_password` gives)."""
    officer = authenticate_password(uow, username, password, now)
    issued = issue_token(uow, username=officer.username, name=SESSION_NAME, ttl=SESSION_TTL,
                         actor=f"login:{officer.username}", now=now)  # fmt: skip
    return officer, issued


def authenticate_session(
    uow: UnitOfWork, token: str, now: datetime, idle: timedelta = SESSION_IDLE
) -> Officer:
    """The officer of a web session that is valid and was used within `idle`."""
    return authenticate_token(uow, token, now, idle=idle)
