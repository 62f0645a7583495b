"""Signing in and out of the console, keeping a session alive, and choosing a language.

The session is the officers' own web session (`officers.sessions`): the same HttpOnly,
SameSite=Strict cookie the API accepts, the same eight-hour life, and the same idle limit,
which the console announces before it strikes (the warning's "stay signed in" is `extend`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from migrex.errors import NotFound
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep, login_throttle
from migrex.officers.model import NotAuthenticated, NotAuthorised
from migrex.officers.service import revoke_presented_token
from migrex.officers.sessions import COOKIE, SESSION_TTL, log_in
from migrex.officers.throttle import LoginThrottled
from migrex.ui import i18n
from migrex.ui.forms import form_fields
from migrex.ui.rendering import SIGN_IN, PageRoute, render

router = APIRouter(route_class=PageRoute, tags=["console"])

HOME = "/ui/"
_REASONS = ("idle", "signed-out")


@router.get("/", summary="The console's front page", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get(SIGN_IN, summary="The sign-in page", response_class=HTMLResponse)
def sign_in_page(
    request: Request, reason: Annotated[str | None, Query(max_length=20)] = None
) -> HTMLResponse:
    shown = reason if reason in _REASONS else None
    return render(request, "ui/sign_in.html", reason=shown, failed=False)


@router.post(SIGN_IN, summary="Sign in with a password", response_class=HTMLResponse)
async def sign_in(request: Request, unit_of_work: UnitOfWorkFactoryDep) -> Response:
    """A right password opens a session (the cookie) and goes to the officer's work; a wrong
    one shows the form again with one message for every reason."""
    _same_origin(request)
    fields = await form_fields(request, ("username", "password"))
    try:
        with unit_of_work() as uow:
            _officer, issued = log_in(
                uow, fields["username"], fields["password"], _now(),
                throttle=login_throttle(request),
                address=request.client.host if request.client else None,
            )  # fmt: skip
    except LoginThrottled as throttled:
        page = render(request, "ui/sign_in.html", 429, reason=None, failed=False, throttled=True)
        page.headers.update(throttled.headers)
        return page
    except NotAuthenticated:
        # What was typed is not shown back: an error never repeats its input (G8).
        return render(request, "ui/sign_in.html", 401, reason=None, failed=True)
    response = RedirectResponse(HOME, status_code=303)
    response.set_cookie(COOKIE, issued.token, max_age=int(SESSION_TTL.total_seconds()),
                        httponly=True, secure=True, samesite="strict", path="/")  # fmt: skip
    return response


@router.post("/ui/sign-out", summary="Sign out: the session is revoked", status_code=204)
def sign_out(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    token = request.cookies.get(COOKIE)
    if token is not None:
        with unit_of_work() as uow:
            revoke_presented_token(uow, token, actor=officer.actor, now=_now())
    response = Response(status_code=204, headers={"HX-Redirect": f"{SIGN_IN}?reason=signed-out"})
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/ui/session/extend", summary="Keep the session: it counts as use", status_code=204)
def extend(_officer: CurrentOfficer) -> Response:
    # Authenticating the session is what records its use (officers.service).
    return Response(status_code=204)


@router.get(
    "/ui/language/{code}", summary="Choose the console's language", response_class=RedirectResponse
)
def choose_language(
    code: str, next_page: Annotated[str, Query(alias="next", max_length=500)] = HOME
) -> RedirectResponse:
    """Remembers the choice (a cookie holding only the language) and goes back."""
    if code not in i18n.LOCALES:
        raise NotFound(f"the console has no language {code!r}")
    response = RedirectResponse(_local(next_page), status_code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 24 * 3600, secure=True,
                        httponly=True, samesite="strict", path="/")  # fmt: skip
    return response


def _local(target: str) -> str:
    """`target` when it is a page of this console, else the front page: never a redirect to
    another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/"):
        return HOME
    return parts.path


def _same_origin(request: Request) -> None:
    """The sign-in form is posted from this node's own page; another site's form (login
    CSRF) is refused. Browsers say where a request comes from in `Sec-Fetch-Site`; older ones
    in `Origin` (which is "null" under the console's no-referrer policy, and then says
    nothing)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        allowed = site in ("same-origin", "none")
    else:
        origin = request.headers.get("origin")
        allowed = origin in (None, "null") or urlsplit(origin).netloc == request.headers.get("host")
    if not allowed:
        raise NotAuthorised("the sign-in form must be sent from this node's own page")


def _now() -> datetime:
    return datetime.now(UTC)
