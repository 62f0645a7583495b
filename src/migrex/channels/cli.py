"""`migrex channels`: find illegal-migration channels in a node's register files.

Both commands read files only (a node's folder, as `migrex synth` writes one) and print
record ids and shared entities, never a person's name or document; the console page and
requests to the partner made from a lead are the node's, not these commands'.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from migrex.channels.evaluation import (
    lift,
    metrics,
    most_violators,
    read_truth,
    shared_identifier_components,
)
from migrex.channels.peeling import MIN_DENSITY
from migrex.channels.pipeline import Run, read_registers, run
from migrex.channels.scoring import HIGH_SCORE
from migrex.console import err, out

app = typer.Typer(no_args_is_help=True)

Registries = Annotated[
    Path, typer.Option("--registries", file_okay=False, help="a node's folder of register files")
]
MinScore = Annotated[float, typer.Option(min=0.0, help="the least score a lead has")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _analyse(registries: Path, min_score: float) -> Run:
    with err.status("reading the registers and peeling dense blocks"):
        return run(read_registers(registries), min_score=min_score, min_density=MIN_DENSITY)


@app.command("run")
def run_command(
    registries: Registries, min_score: MinScore = HIGH_SCORE, as_json: AsJson = False
) -> None:
    """List the leads of a node's registers, best first, each with its card."""
    result = _analyse(registries, min_score)
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
    as_json: AsJson = False,
) -> None:
    """Run the whole analysis on register files and write the ranked leads; with a ground
    truth, print precision@10, channel recall@20 and member F1, and the baselines'."""
    if not out_file.parent.is_dir():
        raise typer.BadParameter(f"no folder {out_file.parent} to write into", param_hint="--out")
    result = _analyse(registries, min_score)
    ids = {str(v) for v in result.graph.person_ids.to_pylist()}
    channels = read_truth(truth, ids) if truth is not None else None
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
