"""The officer's linkage runs: the runs proposed by or to our authorities, with their state,
terms and candidates' counts, and the steps of a run an officer takes without the command
line: propose a run, accept or refuse a partner's, send our encodings to the linkage unit
and collect our candidates.

Each step is the use case `migrex linkage propose|accept|send|collect` runs
(`linkage.run_steps`), which checks the officer's roles for the run's authority; the page
offers only the steps the roles and the run's state allow. Taking a partner's proposal into
review is casework's own step (`/ui/cases/{case_id}/review`). Sending and collecting run
in the request, as the command does, and say what they did: the console has no background
jobs of its own to poll, and sending again carries on where the unit stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from migrex.agreements import Agreement
from migrex.casework.lifecycle import CaseState, Direction
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.errors import Problem
from migrex.exchange.trust import load_trust
from migrex.linkage.queries import RunLine, run_lines
from migrex.linkage.run_steps import accept_as, collect_as, propose_as, refuse_as, send_as
from migrex.linkage.runs import LINKAGE_CATEGORY, LinkageNode, ProposeRun
from migrex.node import Node
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, NotAuthorised, Officer, may
from migrex.ui import names
from migrex.ui.forms import FormInvalid, form_fields, form_list
from migrex.ui.rendering import PageRoute, locale_of, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])
PAGE = "/ui/linkage/runs"


def _now() -> datetime:
    return datetime.now(UTC)


def _party(request: Request, setup: CaseworkSetupDep) -> LinkageNode:
    """The node as a run's party: casework's context and the node's keys and directories,
    read when a step needs them (a directory renewed since start-up is the one used)."""
    node: Node = request.app.state.node
    return LinkageNode(setup.node, load_trust(node.settings, node.agreements))


PartyDep = Annotated[LinkageNode, Depends(_party)]


@dataclass(frozen=True)
class Proposing:
    """What the propose form offers: the agreements that provide for linkage, our
    authorities the officer may propose for, and each agreement's partners and fields."""

    agreements: list[Agreement]
    proposers: list[str]
    partners: dict[str, list[str]]


def _proposing(
    officer: Officer, agreements: Mapping[str, Agreement], hosted: Sequence[str]
) -> Proposing | None:
    proposers = [a for a in hosted if may(officer, Action.CREATE_REQUEST, a)
                 and may(officer, Action.SEND_REQUEST, a)]  # fmt: skip
    linking = [a for a in agreements.values()
               if a.linkage is not None and LINKAGE_CATEGORY in a.categories
               and any(p in a.authorities for p in proposers)]  # fmt: skip
    if not linking:
        return None
    partners = {a.id: sorted(x for x in a.categories[LINKAGE_CATEGORY].receivers if x not in hosted)
                for a in linking}  # fmt: skip
    return Proposing(linking, proposers, partners)


def _steps(officer: Officer, line: RunLine) -> dict[str, bool]:
    """The steps of the run the officer's roles and the run's state offer (each use case
    checks again)."""
    case = line.run.case
    authority, incoming = case.our_authority, case.direction == Direction.INCOMING
    decide = may(officer, Action.DECIDE, authority)
    return {
        "review": incoming and case.state == CaseState.DELIVERED
        and may(officer, Action.REVIEW_INCOMING, authority),
        "decide": incoming and case.state == CaseState.IN_REVIEW and decide,
        "send": line.run.accepted and decide,
        "collect": line.run.accepted and may(officer, Action.VIEW_PERSONAL_DATA, authority),
    }  # fmt: skip


@router.get(PAGE, summary="The linkage runs of our authorities", response_class=HTMLResponse)
def runs_page(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> HTMLResponse:  # fmt: skip
    """Every run proposed by or to the authorities whose cases the officer may see (`migrex
    linkage runs`). A proposal names fields and parameters, never a person: nothing on the
    page is a read of personal data."""
    node = setup.node
    ours = [a for a in node.hosted if may(officer, Action.VIEW_CASE, a)]
    if not ours:
        raise NotAuthorised(f"{officer.username} may not view linkage runs")
    with unit_of_work() as uow:
        lines = run_lines(uow, node, ours)
    locale = locale_of(request)
    return officer_page(
        request, officer, "ui/linkage_runs.html", lines=lines,
        steps={line.run.case.id: _steps(officer, line) for line in lines},
        proposing=_proposing(officer, node.agreements, node.hosted),
        grounds={a.id: list(a.refusal_grounds.values()) for a in node.agreements.values()},
        authority_name=lambda a: names.authority_name(node.agreements, a, locale),
    )  # fmt: skip


def _date(fields: dict[str, str], name: str) -> date:
    try:
        return date.fromisoformat(fields[name])
    except ValueError:
        raise FormInvalid("the period is invalid", [Problem(name, "is not a date")]) from None


@router.post(PAGE, summary="Propose a linkage run to a partner authority",
             response_class=HTMLResponse)  # fmt: skip
async def propose(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep,
    party: PartyDep,
) -> HTMLResponse:  # fmt: skip
    """Opens the run's case and sends the proposal through screening and the gate, as `migrex
    linkage propose` does; the fields ticked, else the agreement's."""
    fields = await form_fields(request, ("agreement", "proposer", "partner", "period_start",
                                         "period_end"), ("legal_basis",))  # fmt: skip
    linked_on = await form_list(request, "field")
    first, last = _date(fields, "period_start"), _date(fields, "period_end")
    if last < first:
        raise FormInvalid("the period is invalid", [Problem("period_end", "is before its start")])
    command = ProposeRun(fields["agreement"], fields["proposer"], fields["partner"], first, last,
                         officer.actor, fields=tuple(linked_on),
                         legal_basis=fields.get("legal_basis"))  # fmt: skip
    with unit_of_work() as uow:
        proposed = propose_as(uow, party, officer, command, _now())
    return _done(request, "proposed", run_id=proposed.run_id, case_id=proposed.case_id,
                 flags=proposed.flags)  # fmt: skip


@router.post(PAGE + "/{case_id}/accept", summary="Accept a partner's proposed linkage run",
             response_class=HTMLResponse)  # fmt: skip
async def accept(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, party: PartyDep,
) -> HTMLResponse:  # fmt: skip
    """The case is answered and the acceptance sent (`migrex linkage accept`). The form names
    the run it was shown, so a stale page accepts no other."""
    fields = await form_fields(request, ("run",), ("remarks",))
    with unit_of_work() as uow:
        accepted = accept_as(uow, party, officer, case_id, now=_now(),
                             remarks=fields.get("remarks"), expected_run=fields["run"])  # fmt: skip
    return _done(request, "accepted", run_id=accepted.run_id, case_id=case_id)


@router.post(PAGE + "/{case_id}/refuse", summary="Refuse a partner's proposed linkage run on "
             "the agreement's grounds", response_class=HTMLResponse)  # fmt: skip
async def refuse(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, party: PartyDep,
) -> HTMLResponse:  # fmt: skip
    """Drafted and submitted at once, as `migrex case refuse` does; where the agreement wants
    a second officer, the refusal waits for one on the case's page."""
    fields = await form_fields(request, ("run", "explanation"))
    grounds = await form_list(request, "ground", required=True)
    with unit_of_work() as uow:
        preview = refuse_as(uow, party, officer, case_id, grounds=grounds,
                            explanation=fields["explanation"], now=_now(),
                            expected_run=fields["run"])  # fmt: skip
    return _done(request, "refused", run_id=fields["run"], case_id=case_id,
                 waits=preview.message_id is None)  # fmt: skip


@router.post(PAGE + "/{case_id}/send", summary="Encode our citizens' register and send it to "
             "the linkage unit", response_class=HTMLResponse)  # fmt: skip
async def send(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, party: PartyDep,
) -> HTMLResponse:  # fmt: skip
    """`migrex linkage send`, in the request: it says how many records the unit holds and
    whether the transfer is whole; sent again, it carries on where the unit stands."""
    fields = await form_fields(request, ("run",))
    with unit_of_work() as uow:
        sent = send_as(uow, party, officer, case_id, now=_now(), expected_run=fields["run"])
    return _done(request, "sent", run_id=sent.run_id, case_id=case_id, records=sent.records,
                 complete=sent.complete)  # fmt: skip


@router.post(PAGE + "/{case_id}/collect", summary="Collect our candidates of the run from the "
             "linkage unit", response_class=HTMLResponse)  # fmt: skip
async def collect(
    request: Request, case_id: str, officer: CurrentOfficer,
    unit_of_work: UnitOfWorkFactoryDep, party: PartyDep,
) -> HTMLResponse:  # fmt: skip
    """`migrex linkage collect` without waiting: the candidates are filed for the queue, or
    the page says the unit has not compared the run yet."""
    fields = await form_fields(request, ("run",))
    with unit_of_work() as uow:
        found = collect_as(uow, party, officer, case_id, now=_now(), expected_run=fields["run"])
    if found is None:
        return _done(request, "not-ready", run_id=fields["run"], case_id=case_id)
    return _done(request, "collected", run_id=found.run_id, case_id=case_id,
                 candidates=len(found.candidates), unresolved=found.unresolved)  # fmt: skip


def _done(request: Request, step: str, **context: Any) -> HTMLResponse:
    return render(request, "ui/linkage_run_done.html", step=step, **context)
