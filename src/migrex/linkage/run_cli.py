"""`migrex linkage propose|accept|runs`: a linkage run as casework, acting as a named officer.

The officer's token is authenticated and the action checked against the permission table in
the unit of work the use case runs in (`linkage.run_steps`, which the console's runs page
calls too): proposing needs what opening and sending a request needs, accepting what
deciding an incoming request needs. Refusing a run is
`migrex case refuse`, with the agreement's grounds, as for any request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.exchange.trust import load_trust
from migrex.linkage.queries import linkage_runs
from migrex.linkage.run_steps import accept_as, propose_as
from migrex.linkage.runs import LinkageNode, ProposeRun, Run, linkage_node
from migrex.node import Node
from migrex.officers.cli_identity import Token, signed_in
from migrex.officers.model import Action, authorities_for

app = typer.Typer(no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _period(value: str) -> tuple[date, date]:
    start, sep, end = value.partition(":")
    try:
        if not sep:
            raise ValueError
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise typer.BadParameter("--period is FIRST:LAST, two ISO dates") from None
    if last < first:
        raise typer.BadParameter("--period ends before it starts")
    return first, last


def _linkage_node(node: Node) -> LinkageNode:
    return linkage_node(node, load_trust(node.settings, node.agreements))


@app.command("propose")
def propose_command(
    ctx: typer.Context,
    agreement: Annotated[str, typer.Option(help="agreement id")],
    proposer: Annotated[str, typer.Option("--from", help="proposing authority (hosted here)")],
    partner: Annotated[str, typer.Option("--to", help="the partner authority")],
    period: Annotated[str, typer.Option(help="the registers' period, FIRST:LAST (ISO dates)")],
    field: Annotated[
        list[str] | None, typer.Option(help="a field to link on (default: the agreement's)")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="default: the agreement's")
    ] = None,
    legal_basis: Annotated[str | None, typer.Option(help="the legal basis cited")] = None,
    token: Token = None,
) -> None:
    """Propose a linkage run of the citizens' registers to a partner authority: it opens a
    case, is screened against the agreement's linkage terms and sent."""
    first, last = _period(period)
    node = node_from(ctx)
    runs = _linkage_node(node)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        command = ProposeRun(agreement, proposer, partner, first, last, officer.actor,
                             fields=tuple(field or ()), threshold=threshold,
                             legal_basis=legal_basis)  # fmt: skip
        proposed = propose_as(uow, runs, officer, command, _now())
    out.print(f"run {proposed.run_id} proposed: case {proposed.case_id}, "
              f"message {proposed.message_id} queued")  # fmt: skip
    for flag in proposed.flags:
        out.print(f"  [yellow]flag[/] {flag}")


@app.command("accept")
def accept_command(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="the partner's proposal's case")],
    remarks: Annotated[str | None, typer.Option(help="a remark sent with the acceptance")] = None,
    token: Token = None,
) -> None:
    """Accept a partner's proposed linkage run: the case is answered and the acceptance sent."""
    node = node_from(ctx)
    runs = _linkage_node(node)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        accepted = accept_as(uow, runs, officer, case_id, now=_now(), remarks=remarks)
    out.print(f"run {accepted.run_id} accepted: message {accepted.message_id} queued")


@app.command("runs")
def runs_command(
    ctx: typer.Context,
    authority: Annotated[str | None, typer.Option(help="only this hosted authority's")] = None,
    as_json: Annotated[bool, json_array_option("run")] = False,
    token: Token = None,
) -> None:
    """The linkage runs proposed by or to the officer's authorities, newest first."""
    node = node_from(ctx)
    runs = _linkage_node(node)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.VIEW_CASE, node.settings.authorities, authority)
        found = [run for each in ours for run in linkage_runs(uow, runs.casework, each)]
    if as_json:
        print_json_array(_as_json(run) for run in found)
        return
    table = Table("case", "run", "direction", "ours ↔ partner", "state", "fields", "period")
    for run in found:
        case, proposal = run.case, run.proposal
        table.add_row(
            case.id, proposal.run_id, case.direction,
            f"{case.our_authority} ↔ {case.partner_authority}", case.state,
            ", ".join(proposal.fields), f"{proposal.period_start}:{proposal.period_end}",
        )  # fmt: skip
    out.print(table)


def _as_json(run: Run) -> dict[str, Any]:
    case, proposal = run.case, run.proposal
    return {
        "case": case.id, "run": proposal.run_id, "direction": case.direction,
        "ours": case.our_authority, "partner": case.partner_authority, "state": case.state,
        "fields": list(proposal.fields),
        "period": f"{proposal.period_start}:{proposal.period_end}",
        "threshold": proposal.threshold, "key_ids": proposal.key_ids,
    }  # fmt: skip
