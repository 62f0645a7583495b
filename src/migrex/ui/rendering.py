"""Rendering the console's pages: one Jinja2 environment per language, the context every page
shares, and the route class that turns a refusal into a page instead of a JSON problem.

An environment per language keeps the gettext callables fixed for it, so concurrent requests in
different languages never share a mutable global; the compiled templates are cached per
environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from migrex.errors import MigrexError
from migrex.officers.api import session_idle
from migrex.officers.model import Action, NotAuthenticated, Officer, may
from migrex.officers.sessions import COOKIE, csrf_value
from migrex.ui import i18n
from migrex.ui.assets import asset_url
from migrex.ui.forms import FormInvalid

TEMPLATES: Final = Path(__file__).parent / "templates"
SIGN_IN: Final = "/ui/sign-in"


@functools.cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals |= {"asset": asset_url, "locales": i18n.LOCALES, "native": i18n.NATIVE_NAMES}
    env.filters |= {
        "iso_date": i18n.iso_date,
        "long_date": functools.partial(_long_date, locale=locale),
        "long_datetime": functools.partial(_long_datetime, locale=locale),
        "count": functools.partial(i18n.count, locale=locale),
    }
    return env


def _long_date(value: datetime, *, locale: str) -> str:
    return i18n.long_date(value, locale)


def _long_datetime(value: datetime, *, locale: str) -> str:
    return i18n.long_datetime(value, locale)


def locale_of(request: Request) -> str:
    return i18n.chosen_locale(
        request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
    )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` in the officer's language, with what every page shares."""
    locale = locale_of(request)
    page = environment(locale).get_template(template)
    html = page.render(request=request, locale=locale, path=request.url.path, **context)
    # A page of the console is never cached: it may show personal data.
    headers = {"Cache-Control": "no-store", "Content-Language": locale}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def to_sign_in(request: Request) -> Response:
    """Back to the sign-in page: a redirect, or for htmx (which follows no redirect into the
    whole page) an `HX-Redirect`."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": SIGN_IN})
    return RedirectResponse(SIGN_IN, status_code=303)


class PageRoute(APIRoute):
    """A console route: an unauthenticated request goes to the sign-in page, and any other
    refusal (`MigrexError`: not allowed, not found, not in this state) is shown as an error
    page or, for htmx, an error fragment, with its status. Nothing else is caught: a bug
    stays a 500 that the server logs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except NotAuthenticated:
                return to_sign_in(request)
            except RequestValidationError as invalid:
                # A parameter outside what the page offers (a sort it does not have): a page
                # saying so, not the API's JSON problem.
                where = [".".join(str(p) for p in item["loc"]) for item in invalid.errors()]
                error = FormInvalid("a parameter is not valid: " + ", ".join(where))
                template = "ui/error_fragment.html" if is_htmx(request) else "ui/error.html"
                return render(request, template, error.status, error=error)
            except MigrexError as error:
                template = "ui/error_fragment.html" if is_htmx(request) else "ui/error.html"
                return render(request, template, error.status, error=error)

        return handle


def officer_page(
    request: Request, officer: Officer, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page for a signed-in officer: `render` with the session's CSRF value (the served
    script sends it as a header on every htmx request) and the idle limit it warns about."""
    token = request.cookies.get(COOKIE)
    return render(
        request, template, status_code, officer=officer,
        csrf=csrf_value(token) if token is not None else None,
        idle_seconds=int(session_idle(request).total_seconds()), menu=menu(officer), **context,
    )  # fmt: skip


def menu(officer: Officer) -> dict[str, bool]:
    """Which of the console's own pages the officer's roles open (the pages check again)."""
    authorities = officer.authorities
    return {
        "request": any(may(officer, Action.CREATE_REQUEST, a)
                       and may(officer, Action.SEND_REQUEST, a) for a in authorities),
        "search": any(may(officer, Action.VIEW_CASE, a) for a in authorities),
        "leads": any(may(officer, Action.VIEW_LEADS, a) for a in authorities),
        # The officers who work the queue: those who may ask the partner about a candidate.
        "linkage": any(may(officer, Action.CREATE_REQUEST, a) for a in authorities),
        # The runs page lists the runs of the authorities whose cases the officer sees, and
        # offers each the steps the officer's roles allow.
        "linkage_runs": any(may(officer, Action.VIEW_CASE, a) for a in authorities),
        "audit": may(officer, Action.VIEW_AUDIT, None),
        "ledger": any(may(officer, Action.VIEW_DISCLOSURES, a) for a in authorities),
        "subject_report": any(may(officer, Action.SUBJECT_REPORT, a) for a in authorities),
        "officers": may(officer, Action.MANAGE_USERS, None),
        "node": may(officer, Action.OPERATE_DELIVERY, None),
        "retention": may(officer, Action.RUN_RETENTION, None),
        "statistics": any(may(officer, Action.VIEW_STATISTICS, a) for a in authorities),
    }  # fmt: skip
