"""`migrex linkage candidates|verify|dismiss`: the officer's queue of a run's candidates.

Each command acts as a named officer (the token, as `migrex case` takes it) and checks the
permission table inside the use case's unit of work: listing needs what viewing cases needs
(the list shows no personal data), asking the partner what opening and sending a request
needs, dismissing what opening one needs (it is the decision not to ask).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from migrex.casework.context import node_context
from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.linkage.candidate_rules import CandidateState
from migrex.linkage.candidates import dismiss_candidate, request_verification
from migrex.linkage.queries import CandidateLine, candidate_by_pair, candidates_of
from migrex.officers.cli_identity import Token, signed_in
from migrex.officers.model import Action, authorities_for

app = typer.Typer(no_args_is_help=True)

Run = Annotated[str | None, typer.Option("--run", help="the run's id or its case id")]
PairId = Annotated[str, typer.Argument(help="the pair id the linkage unit gave")]


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("candidates")
def candidates_command(
    ctx: typer.Context,
    run: Run = None,
    state: Annotated[CandidateState | None, typer.Option(help="only in this state")] = None,
    as_json: Annotated[bool, json_array_option("candidate")] = False,
    token: Token = None,
) -> None:
    """The linkage candidates of the officer's authorities, strongest band first.

    Pair ids, bands and states, run by run: never whose record a candidate is."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.VIEW_CASE, node.settings.authorities, None)
        found = candidates_of(uow, ours, run=run, state=state)
    if as_json:
        print_json_array(_as_json(line) for line in found)
        return
    table = Table("run", "pair", "band", "state", "authority", "filed", "case", "outcome")
    for line in found:
        table.add_row(line.run_id, line.pair_id, line.band, line.state, line.authority,
                      f"{line.filed_at:%Y-%m-%d %H:%M}", line.request_case_id or "",
                      line.outcome or "")  # fmt: skip
    out.print(table)


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    pair_id: PairId,
    run: Run = None,
    legal_basis: Annotated[
        str | None, typer.Option(help="the legal basis cited (default: the agreement and run)")
    ] = None,
    token: Token = None,
) -> None:
    """Ask the run's partner to verify a candidate's citizenship.

    The ordinary citizenship-verification request, pre-filled from our own register and
    quoting the pair, screened and sent as any request."""
    node = node_from(ctx)
    casework = node_context(node)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.CREATE_REQUEST, node.settings.authorities, None)
        candidate_id = candidate_by_pair(uow, ours, pair_id, run)
        opened = request_verification(uow, casework, officer, candidate_id, now=_now(),
                                      legal_basis=legal_basis)  # fmt: skip
    out.print(f"pair {pair_id}: case {opened.case_id} opened, message {opened.message_id} queued")
    for flag in opened.flags:
        out.print(f"  [yellow]flag[/] {flag}")


@app.command("dismiss")
def dismiss_command(
    ctx: typer.Context,
    pair_id: PairId,
    reason: Annotated[str, typer.Option(help="why the candidate is not followed up")],
    run: Run = None,
    token: Token = None,
) -> None:
    """Dismiss the candidate, saying why; nothing leaves the node."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.CREATE_REQUEST, node.settings.authorities, None)
        candidate_id = candidate_by_pair(uow, ours, pair_id, run)
        dismiss_candidate(uow, officer, candidate_id, reason=reason, now=_now())
    out.print(f"pair {pair_id}: dismissed")


def _as_json(line: CandidateLine) -> dict[str, Any]:
    return {
        "run": line.run_id, "run_case": line.run_case_id, "authority": line.authority,
        "pair": line.pair_id, "band": line.band, "state": line.state,
        "filed_at": line.filed_at.isoformat(), "decided_by": line.decided_by,
        "case": line.request_case_id, "outcome": line.outcome,
    }  # fmt: skip
