"""`migrex linkage send|collect|witness-unit`: a party's steps of an accepted run with the
agreement's linkage unit, acting as a named officer, and its witnessing of the unit's log.

Sending encodes the node's own citizens' register (or a register file of the same contract,
`--register`) and uploads it; it needs what deciding on the run needs. Run it again after a
failure and it carries on where the unit stands. Collecting files our candidates for officers
once the unit has compared the run; it needs what seeing the authority's personal data needs,
since candidates are our own citizens. Both steps are `linkage.run_steps`' use cases, which
the console's runs page calls too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from migrex.console import out
from migrex.context import node_from
from migrex.errors import NotFound
from migrex.exchange.trust import load_trust
from migrex.linkage.run_steps import collect_as, send_as
from migrex.linkage.runs import linkage_node
from migrex.linkage.unit_client import ResultNotReady, UnitClient, unit_address
from migrex.linkage.unit_witness import unit_parties, witness_unit_log
from migrex.officers.cli_identity import Token, signed_in

app = typer.Typer(no_args_is_help=True)


@app.command("send")
def send_command(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="the accepted run's case")],
    register: Annotated[
        Path | None, typer.Option(help="a citizens' register file (default: the node's own)")
    ] = None,
    token: Token = None,
) -> None:
    """Encode our citizens' register for an accepted run and send it to the linkage unit."""
    node = node_from(ctx)
    party = linkage_node(node, load_trust(node.settings, node.agreements))
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        sent = send_as(uow, party, officer, case_id, now=datetime.now(UTC), register=register)
    state = "whole at the unit" if sent.complete else "not yet whole: send again to carry on"
    out.print(f"run {sent.run_id}: {sent.records} records sent, {state}")


@app.command("collect")
def collect_command(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="the accepted run's case")],
    wait: Annotated[
        float, typer.Option(min=0, help="seconds to wait for the unit to finish comparing")
    ] = 0.0,
    token: Token = None,
) -> None:
    """Collect our candidates of a run from the linkage unit, once it has compared the run:
    they are filed for officers (`migrex linkage candidates`) and the unit deletes them."""
    node = node_from(ctx)
    party = linkage_node(node, load_trust(node.settings, node.agreements))
    deadline = time.monotonic() + wait
    while True:
        with node.unit_of_work() as uow:
            officer = signed_in(uow, token)
            found = collect_as(uow, party, officer, case_id, now=datetime.now(UTC))
        if found is not None or time.monotonic() >= deadline:
            break
        time.sleep(min(5.0, max(deadline - time.monotonic(), 0.1)))
    if found is None:
        raise ResultNotReady(f"run case {case_id}: the unit is comparing or awaits a party")
    missing = (f", {found.unresolved} dropped (our decoys, or citizens no longer in our register)"
               if found.unresolved else "")  # fmt: skip
    out.print(f"run {found.run_id}: {len(found.candidates)} candidates filed{missing}")


@app.command("witness-unit")
def witness_unit_command(
    ctx: typer.Context,
    agreement: Annotated[str, typer.Argument(help="the agreement whose linkage unit to witness")],
) -> None:
    """Witness the linkage unit's log now: check its latest checkpoint against the last one we
    cosigned, cosign it and send it back (the node's job does this every idle interval)."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    parties = [p for p in unit_parties(node, trust) if p.agreement_id == agreement]
    if not parties:
        raise NotFound(f"this node is no party of a linkage unit of {agreement}")
    [party] = parties
    with node.unit_of_work() as uow, \
            UnitClient(unit_address(trust, agreement, party.unit)) as client:  # fmt: skip
        seen = witness_unit_log(uow, trust, party, client, datetime.now(UTC))
    if seen.previous == seen.size:
        out.print(f"{party.unit}: log {seen.origin} unchanged since we cosigned {seen.size}")
        return
    since = f" (extends {seen.previous})" if seen.previous else " (the first we cosigned)"
    out.print(f"{party.unit}: log {seen.origin} cosigned at {seen.size} entries{since}")
