"""Who is calling and whether they may: FastAPI dependencies, and the officers' own routes.

Wiring: the app factory sets `app.state.unit_of_work` to a callable that returns a fresh
`UnitOfWork` (for a node, `node.unit_of_work`), includes `router`, and turns MigrexError into
RFC 9457 problems (401 answers should carry `NotAuthenticated.headers`).

How a route states its permission:

- The authority is in the path, `/v1/authorities/{authority}/inbox`, or in the query string
  as `?authority=kz-mia`: declare `officer: Annotated[Officer, requires(Action.VIEW_INBOX)]`.
  The check reads the parameter named `authority` (or the name given as `authority_param`).
- A NODE_WIDE action (audit log, users, registries, keys): the same, no authority needed.
- The authority is in the body, or known only once the case is loaded (deciding a case acts
  for the case's requested authority): declare `officer: CurrentOfficer` and have the use case
  call `require(officer, Action.DECIDE, case.authority)` before it changes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from migrex.errors import ConfigurationError
from migrex.officers.model import (
    NODE_WIDE,
    Action,
    NotAuthenticated,
    NotAuthorised,
    Officer,
    Role,
    allowed_actions,
    require,
)
from migrex.officers.service import authenticate_token, list_officers, revoke_presented_token
from migrex.officers.sessions import (
    COOKIE,
    CSRF_HEADER,
    SESSION_IDLE,
    SESSION_TTL,
    authenticate_session,
    check_csrf,
    csrf_value,
    log_in,
)
from migrex.officers.throttle import LoginThrottle
from migrex.uow import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]

# auto_error=False: a missing header becomes our own 401 problem, not FastAPI's plain error;
# the scheme still appears in the OpenAPI description.
_bearer = HTTPBearer(auto_error=False, description="an API token: mgx_<prefix>_<secret>")

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
    }
    for status, description in (
        (401, "No token, or a token that is unknown, expired or revoked"),
        (403, "The officer's roles do not allow this action"),
    )
}


def unit_of_work_factory(request: Request) -> UnitOfWorkFactory:
    """The app's unit-of-work factory (`app.state.unit_of_work`)."""
    factory: UnitOfWorkFactory | None = getattr(request.app.state, "unit_of_work", None)
    if factory is None:
        raise ConfigurationError("the application has no app.state.unit_of_work")
    return factory


UnitOfWorkFactoryDep = Annotated[UnitOfWorkFactory, Depends(unit_of_work_factory)]


def current_officer(
    request: Request,
    unit_of_work: UnitOfWorkFactoryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Officer:
    """The officer whose token is in `Authorization: Bearer`, or whose web session cookie
    (with its CSRF header on changing requests) comes with the request."""
    if credentials is not None:
        with unit_of_work() as uow:
            return authenticate_token(uow, credentials.credentials, datetime.now(UTC))
    if (session := request.cookies.get(COOKIE)) is None:
        raise NotAuthenticated("send an API token as 'Authorization: Bearer <token>' or log in")
    check_csrf(request.method, session, request.headers.get(CSRF_HEADER))
    with unit_of_work() as uow:
        return authenticate_session(uow, session, datetime.now(UTC), session_idle(request))


def session_idle(request: Request) -> timedelta:
    """How long a web session may go unused on this app (`app.state.session_idle`)."""
    idle: timedelta = getattr(request.app.state, "session_idle", SESSION_IDLE)
    return idle


CurrentOfficer = Annotated[Officer, Depends(current_officer)]


def requires(action: Action, *, authority_param: str = "authority") -> Any:
    """A dependency giving the current officer once `action` is allowed for the authority.

    Use as `Annotated[Officer, requires(Action.X)]`; see the module docstring for where the
    authority comes from. Unauthenticated callers get 401 before any permission is looked at.
    """

    def check(request: Request, officer: CurrentOfficer) -> Officer:
        authority = None
        if action not in NODE_WIDE:
            authority = request.path_params.get(authority_param) or request.query_params.get(
                authority_param
            )
            if not authority:
                raise NotAuthorised(f"{action} needs the authority it acts for ({authority_param})")
        require(officer, action, authority)
        return officer

    return Depends(check)


class GrantOut(BaseModel):
    role: Role
    authority: str


class OfficerOut(BaseModel):
    id: int
    username: str
    display_name: str
    active: bool
    roles: list[GrantOut]

    @classmethod
    def of(cls, officer: Officer) -> OfficerOut:
        grants = [GrantOut(role=g.role, authority=g.authority) for g in sorted(officer.grants)]
        return cls(
            id=officer.id,
            username=officer.username,
            display_name=officer.display_name,
            active=officer.active,
            roles=grants,
        )


class MeOut(OfficerOut):
    permissions: dict[str, list[Action]] = Field(
        description="per authority, the actions the officer may take; '*' holds node-wide ones"
    )


router = APIRouter(prefix="/v1/officers", tags=["officers"], responses=PROBLEM_RESPONSES)


@router.get("/me", summary="The calling officer, their roles and what they allow")
def me(officer: CurrentOfficer) -> MeOut:
    return MeOut(**OfficerOut.of(officer).model_dump(), permissions=allowed_actions(officer))


@router.get("", summary="Every officer of this node (administrators)")
def officers(
    unit_of_work: UnitOfWorkFactoryDep,
    _officer: Annotated[Officer, requires(Action.MANAGE_USERS)],
) -> list[OfficerOut]:
    with unit_of_work() as uow:
        return [OfficerOut.of(officer) for officer in list_officers(uow)]


class LoginIn(BaseModel):
    # No control characters: PostgreSQL refuses a NUL in text, and no username has one.
    username: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=1000)


class SessionOut(BaseModel):
    officer: OfficerOut
    expires_at: datetime
    csrf_token: str = Field(description=f"send as {CSRF_HEADER} on every changing request")


sessions = APIRouter(prefix="/v1/session", tags=["officers"], responses=PROBLEM_RESPONSES)


def login_throttle(request: Request) -> LoginThrottle:
    """The app's login throttle (`app.state.login_throttle`, set where the app is made)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


@sessions.post(
    "",
    summary="Log in with a password; the session is an HttpOnly cookie",
    responses={429: {"description": "Too many failed logins: wait Retry-After seconds"}},
)
def log_in_route(
    login: LoginIn, request: Request, response: Response, unit_of_work: UnitOfWorkFactoryDep
) -> SessionOut:
    address = request.client.host if request.client else None
    with unit_of_work() as uow:
        officer, issued = log_in(uow, login.username, login.password, datetime.now(UTC),
                                 throttle=login_throttle(request), address=address)  # fmt: skip
    response.set_cookie(COOKIE, issued.token, max_age=int(SESSION_TTL.total_seconds()),
                        httponly=True, secure=True, samesite="strict", path="/")  # fmt: skip
    return SessionOut(officer=OfficerOut.of(officer), expires_at=issued.expires_at,
                      csrf_token=csrf_value(issued.token))  # fmt: skip


@sessions.delete(
    "", status_code=204, summary="Log out: the session cookie's or bearer token is revoked"
)
def log_out_route(
    request: Request, response: Response, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:  # fmt: skip
    # The token the officer authenticated with: the bearer token when one was sent (as
    # `current_officer` prefers it), else the session cookie.
    token = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    if token is not None:
        with unit_of_work() as uow:
            revoke_presented_token(uow, token, actor=officer.actor, now=datetime.now(UTC))
    # The attributes it was set with: a browser ignores a `__Host-` cookie without Secure.
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
