"""`migrex channels`: find illegal-migration channels in a node's registers, and keep them.

`run` over the node's own registers acts as a named analyst (`officers.cli_identity`): the
run and its leads are stored, and its audit leaf written, in one commit; `list` shows the
kept leads, `show` one lead's card (a recorded read of personal data), `dismiss` and `open`
are the analyst's decision. `forget` erases from the kept leads the members whose records
have left the registers, as the node's job does on its own; like `migrex retention run`, it
is an administration command that erases what the law requires, decides nothing and shows
no one, so it needs no officer and is audited under the host's user. `run --registries
FOLDER` and `evaluate` read files only (a node's folder, as `migrex synth` writes one),
store nothing and need no officer. Every command prints record ids and shared entities,
never a person's name or document.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from migrex.casework.context import node_context
from migrex.channels.evaluation import (
    lift,
    metrics,
    most_violators,
    read_truth,
    shared_identifier_components,
)
from migrex.channels.peeling import MIN_DENSITY
from migrex.channels.pipeline import Run, read_registers, run
from migrex.channels.queries import leads_of
from migrex.channels.runs import StoreRun, store_run
from migrex.channels.scoring import HIGH_SCORE
from migrex.channels.service import card_json, dismiss_lead, forget_departed, open_lead, show_lead
from migrex.console import err, json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.officers.cli_identity import Token, administrator, signed_in
from migrex.officers.model import Action, authorities_for

app = typer.Typer(no_args_is_help=True)

Registries = Annotated[
    Path, typer.Option("--registries", file_okay=False, help="a node's folder of register files")
]
FileRegistries = Annotated[
    Path | None,
    typer.Option("--registries", file_okay=False,
                 help="analyse this folder of register files instead, storing nothing"),
]  # fmt: skip
Authority = Annotated[str | None, typer.Option(help="the hosted authority the analyst works for")]
MinScore = Annotated[float, typer.Option(min=0.0, help="the least score a lead has")]
RunJson = Annotated[bool, typer.Option("--json", help="print JSON: the run, with its leads")]


def _analyse(registries: Path, min_score: float) -> Run:
    with err.status("reading the registers and peeling dense blocks"):
        return run(read_registers(registries), min_score=min_score, min_density=MIN_DENSITY)


@app.command("run")
def run_command(
    ctx: typer.Context,
    registries: FileRegistries = None,
    min_score: MinScore = HIGH_SCORE,
    authority: Authority = None,
    as_json: RunJson = False,
    token: Token = None,
) -> None:
    """Find the leads of the node's registers and keep them for the analysts, best first
    (with --registries: list the leads of register files, storing nothing)."""
    if registries is not None:
        _print_run(_analyse(registries, min_score), as_json)
        return
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        allowed = authorities_for(officer, Action.RUN_CHANNELS, node.settings.authorities,
                                  authority)  # fmt: skip
        if len(allowed) > 1:
            raise typer.BadParameter(f"say which: {', '.join(allowed)}", param_hint="--authority")
        with err.status("reading the registers and peeling dense blocks"):
            stored = store_run(uow, StoreRun(officer, allowed[0], node.settings.state, min_score),
                               datetime.now(UTC), node=node_context(node))  # fmt: skip
    if as_json:
        print(json.dumps({"run": stored.run_id, "persons": stored.persons,
                          "leads": stored.leads, "seconds": stored.seconds}))  # fmt: skip
        return
    out.print(f"run {stored.run_id}: {len(stored.leads)} leads among {stored.persons:,} persons "
              "present, kept for review (`migrex channels list`)")  # fmt: skip


def _print_run(result: Run, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"seconds": result.seconds,
                          "leads": [card.to_json() for card in result.cards]},
                         ensure_ascii=False))  # fmt: skip
        return
    table = Table("rank", "lead", "score", "members", "violators", "burst", "top shared entity")
    for card in result.cards:
        top = card.shared_entities[0] if card.shared_entities else None
        table.add_row(
            str(card.rank),
            card.cluster_id,
            f"{card.score:.1f}",
            str(card.members),
            f"{card.violations['violators']} ({card.violations['rate']:.0%})",
            f"{card.burst.get('arrivals', 0)} in {card.burst.get('window_days', 0)} days",
            f"{top.kind} ×{top.members_linked}" if top else "",
        )
    out.print(table)
    out.print(f"{len(result.cards)} leads among {result.graph.persons:,} persons present")


@app.command("list")
def list_command(
    ctx: typer.Context,
    authority: Authority = None,
    state: Annotated[
        str | None, typer.Option(help="only leads in this state: new, opened or dismissed")
    ] = None,
    as_json: Annotated[bool, json_array_option("lead")] = False,
    token: Token = None,
) -> None:
    """The kept leads of the authorities the analyst works for: rank, size, score, state."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.VIEW_LEADS, node.settings.authorities, authority)
        lines = leads_of(uow, ours, state=state)
    if as_json:
        print_json_array(vars(line) for line in lines)
        return
    table = Table("lead", "authority", "rank", "members", "violators", "score", "state", "case")
    for line in lines:
        table.add_row(line.id, line.authority, str(line.rank), str(line.members),
                      str(line.violators), f"{line.score:.1f}", line.state,
                      line.case_id or "")  # fmt: skip
    out.print(table)


Lead = Annotated[str, typer.Argument(help="the lead, e.g. R3-L0001")]


@app.command("show")
def show_command(
    ctx: typer.Context,
    lead: Lead,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON: the lead's card")] = False,
    token: Token = None,
) -> None:
    """One lead's card: its score broken down, its members and every edge's source, and the
    pre-filled request to the partner. Showing it is recorded as a read of personal data."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        view = show_lead(uow, node_context(node), officer, lead, now=datetime.now(UTC))
    card = card_json(view)
    if as_json:
        print(json.dumps(card, ensure_ascii=False))
    else:
        out.print_json(data=card)


@app.command("dismiss")
def dismiss_command(
    ctx: typer.Context,
    lead: Lead,
    reason: Annotated[str, typer.Option(help="why the lead is no channel")],
    token: Token = None,
) -> None:
    """Dismiss a lead, saying why (recorded; nothing leaves the node)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        dismiss_lead(uow, officer, lead, reason=reason, now=datetime.now(UTC))
    out.print(f"lead {lead} dismissed")


@app.command("open")
def open_command(
    ctx: typer.Context,
    lead: Lead,
    to: Annotated[str, typer.Option("--to", help="AGREEMENT/AUTHORITY to ask, e.g. "
                                    "kz-am-2024/am-mcs")],
    token: Token = None,
) -> None:  # fmt: skip
    """Open a lead as its pre-filled minimal request to the partner: screened and sent as
    any request, and the lead marked opened with its case."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        opened = open_lead(uow, node_context(node), officer, lead, target=to,
                           now=datetime.now(UTC))  # fmt: skip
    out.print(f"lead {lead} opened as case {opened.case_id}; message {opened.message_id} queued")
    for flag in opened.flags:
        out.print(f"  [yellow]flag[/] {flag}")


@app.command("forget")
def forget_command(ctx: typer.Context) -> None:
    """Erase from the kept leads every member whose record has left the registers (as the
    job of `migrex serve` does): counts are printed and logged, never a record."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        done = forget_departed(uow, datetime.now(UTC), actor=administrator())
    out.print(
        f"{done.members} members, {done.edges} edges, {done.entities} shared entities "
        f"erased; {done.leads_deleted} undecided leads too small to keep deleted"
    )


@app.command("evaluate")
def evaluate_command(
    registries: Registries,
    out_file: Annotated[
        Path, typer.Option("--out", dir_okay=False, help="CSV of rank,cluster_id,person_record_id")
    ],
    truth: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="ground truth (synth's channels.json) to score against"),
    ] = None,
    min_score: MinScore = HIGH_SCORE,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Run the whole analysis on register files and write the ranked leads; with a ground
    truth, print precision@10, channel recall@20 and member F1, and the baselines'."""
    if not out_file.parent.is_dir():
        raise typer.BadParameter(f"no folder {out_file.parent} to write into", param_hint="--out")
    result = _analyse(registries, min_score)
    channels = read_truth(truth, result.graph.person_ids) if truth is not None else None
    partial = out_file.with_name(out_file.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "cluster_id", "person_record_id"])
        for card in result.cards:
            writer.writerows([card.rank, card.cluster_id, m] for m in card.member_record_ids)
    partial.replace(out_file)
    figures: dict[str, object] = {
        "persons": result.graph.persons,
        "leads": len(result.cards),
        "seconds": result.seconds,
    }
    if channels is not None:
        leads = [frozenset(card.member_record_ids) for card in result.cards]
        ours = metrics(leads, channels)
        worst = metrics(most_violators(result.graph), channels)
        joined = metrics(shared_identifier_components(result.graph), channels)
        figures |= {
            **ours,
            "baseline_most_violators": worst,
            "baseline_shared_identifier_components": joined,
            "lift_over_most_violators": lift(ours, worst),
            "lift_over_shared_identifier_components": lift(ours, joined),
        }
    if as_json:
        print(json.dumps(figures))
    else:
        out.print_json(data=figures)
