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
    login_subject,
)
from migrex.officers.throttle import LoginThrottle, LoginThrottled
from migrex.security.model import Refusal
from migrex.security.service import note
from migrex.uow import UnitOfWork

# `__Host-`: browsers keep such a cookie only if it is Secure, for path / and without a
# Domain, so no other host of the ministry's domain can set or overwrite the session.
COOKIE = "__Host-migrex_session"
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
    uow: UnitOfWork,
    username: str,
    password: str,
    now: datetime,
    *,
    throttle: LoginThrottle,
    address: str | None = None,
) -> tuple[Officer, IssuedToken]:
    """The officer and a new session token; NotAuthenticated for a wrong login (one message
    for every reason, as `authenticate_password` gives), LoginThrottled while the account or
    the address is locked (checked before any password is hashed). Every refused login is
    noted in the security log, by account record and address, never by the name typed."""
    try:
        throttle.check(uow.session, username, address, now)
        officer = authenticate_password(uow, username, password, now)
    except (NotAuthenticated, LoginThrottled) as refused:
        uow.session.rollback()
        failed = isinstance(refused, NotAuthenticated)
        if failed:
            throttle.failed(uow.session, username, address, now)
        reason = "failed-login" if failed else "login-throttled"
        subject = login_subject(uow, username)
        note(uow.session, [Refusal(reason, f"{reason.replace('-', ' ')} for {subject}",
                                   address)], now)  # fmt: skip
        uow.commit()
        raise
    throttle.succeeded(uow.session, username)
    issued = issue_token(uow, username=officer.username, name=SESSION_NAME, ttl=SESSION_TTL,
                         actor=f"login:{officer.username}", now=now)  # fmt: skip
    return officer, issued


def authenticate_session(
    uow: UnitOfWork, token: str, now: datetime, idle: timedelta = SESSION_IDLE
) -> Officer:
    """The officer of a web session that is valid and was used within `idle`."""
    return authenticate_token(uow, token, now, idle=idle)
