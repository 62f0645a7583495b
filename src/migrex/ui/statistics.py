"""The statistician's pages: the agreement's releases and their versions, ours and those our
partners sent; one version's tables with every blank marked, its breakdown drawn as an SVG
chart and compared with the period before; and sending one of ours to a partner.

Each page reads through `migrex.stats.queries` and the send is the use case `migrex stats
send` runs (`stats.messaging.send_release`), with the console's officer as its actor: it
checks the release right inside its unit of work and writes the release's decision and the
message's audit entries in the same transaction (G5). A page is handed the release as it
leaves the node, so a blank shows only the confidential code "C", as a partner sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from migrex.agreements import Agreement
from migrex.casework.routes.dependencies import CaseworkSetup, CaseworkSetupDep
from migrex.errors import NotFound
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.stats.messaging import SendRelease, send_release
from migrex.stats.queries import readable, release_list, release_view
from migrex.ui import charts, names
from migrex.ui.forms import FormInvalid, form_fields
from migrex.ui.rendering import PageRoute, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Choice = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]*$")]
Version = Annotated[int | None, Query(ge=1, le=100_000)]


def _now() -> datetime:
    return datetime.now(UTC)


def _namer(request: Request, setup: CaseworkSetup) -> Callable[[str], names.Name]:
    agreements, locale = setup.node.agreements, locale_of(request)
    return lambda authority: names.authority_name(agreements, authority, locale)


@router.get("/ui/statistics", summary="The agreement's statistics releases, ours and received",
            response_class=HTMLResponse)  # fmt: skip
def statistics(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep, *, agreement: Choice = None,
) -> HTMLResponse:  # fmt: skip
    """Every version of every release of the chosen agreement (the first the officer may
    read), and the messages that carried ours (`migrex stats list`)."""
    choices = readable(officer, setup.node.agreements, setup.node.hosted)
    if agreement:
        chosen = _agreement(setup, agreement)
    else:  # the first readable; with none, the first agreement, which the query refuses
        chosen = choices[0] if choices else next(iter(setup.node.agreements.values()))
    with unit_of_work() as uow:
        listed = release_list(uow.session, officer, chosen, setup.node.hosted)
    return officer_page(request, officer, "ui/statistics.html", listed=listed,
                        agreements=[a.id for a in choices],
                        name=_namer(request, setup))  # fmt: skip


@router.get("/ui/statistics/{agreement_id}/{dataset_id}/{period}",
            summary="One version of a release: its tables, a chart, the year before",
            response_class=HTMLResponse)  # fmt: skip
def release_page(
    request: Request, agreement_id: str, dataset_id: str, period: int, *,
    officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
    version: Version = None, by: Choice = None,
) -> HTMLResponse:  # fmt: skip
    """The version asked for (the latest by default), broken down `by` a dimension (the
    first by default), as `migrex stats show`, `chart` and `compare` show it."""
    agreement = _agreement(setup, agreement_id)
    with unit_of_work() as uow:
        view = release_view(uow.session, officer, agreement, setup.node.hosted,
                            dataset_id=dataset_id, period=period, version=version,
                            dimension=by or None)  # fmt: skip
    partners = names.partners({agreement.id: agreement}, setup.node.hosted)
    return officer_page(request, officer, "ui/statistics_release.html", view=view,
                        chart=charts.horizontal_bars(view.breakdown),
                        years_chart=charts.by_year(view.years), partners=partners,
                        name=_namer(request, setup))  # fmt: skip


@router.post("/ui/statistics/{agreement_id}/{dataset_id}/{period}/send",
             summary="Send a version of our release to a partner authority",
             response_class=HTMLResponse)  # fmt: skip
async def send(
    request: Request, agreement_id: str, dataset_id: str, period: int, *,
    officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """The use case of `migrex stats send`: the release right is checked and the send
    audited inside its unit of work; the outgoing gate checks the agreement (G1)."""
    fields = await form_fields(request, ("recipient",), ("version",))
    version = _version(fields.get("version"))
    command = SendRelease(_agreement(setup, agreement_id), dataset_id, period,
                          fields["recipient"], version)  # fmt: skip
    with unit_of_work() as uow:
        release, opened = send_release(uow, setup.node, officer, command, _now())
    return render(request, "ui/statistics_sent.html", release=release, opened=opened,
                  recipient=command.recipient, name=_namer(request, setup))  # fmt: skip


def _agreement(setup: CaseworkSetup, agreement_id: str) -> Agreement:
    try:
        return setup.node.agreements[agreement_id]
    except KeyError:
        raise NotFound(f"the node serves no agreement {agreement_id!r}") from None


def _version(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise FormInvalid("the version is a whole number from 1")
    return int(text)
