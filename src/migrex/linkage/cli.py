"""`migrex linkage`: privacy-preserving linkage of two citizens' registers: `evaluate` offline on
register files, and a run proposed, accepted and listed as casework (`run_cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrex.console import err, out
from migrex.linkage.compare import THRESHOLD
from migrex.linkage.evaluation import figures, link, read_truth, scored, write_pairs
from migrex.linkage.records import read_register
from migrex.linkage.run_cli import app as runs

app = typer.Typer(no_args_is_help=True)
app.add_typer(runs)  # propose, accept, runs


@app.command("evaluate")
def evaluate(
    left: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="one party's citizens' register")
    ],
    right: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="the other party's register")
    ],
    out_file: Annotated[
        Path, typer.Option("--out", dir_okay=False, help="CSV of left_id,right_id,score")
    ],
    truth: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="the true pairs, to score the result"),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="lowest score matched")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Run both parties' encoders (throwaway key), blocking, comparison and matching on two
    register files; write the matched pairs; with --truth, print precision, recall, F1."""
    left_register, right_register = read_register(left), read_register(right)
    true_pairs = read_truth(truth, left_register, right_register) if truth else None
    err.print(f"[dim]linking {len(left_register):,} × {len(right_register):,} records[/]")
    linkage = link(
        left_register, right_register, threshold=THRESHOLD if threshold is None else threshold
    )
    write_pairs(linkage, left_register, right_register, out_file)
    result = figures(linkage, left_register, right_register)
    if true_pairs is not None:
        result |= scored(linkage, true_pairs)
    if as_json:
        print(json.dumps(result))
    else:
        out.print_json(data=result)
        out.print(f"{result['matches']:,} pairs in [cyan]{out_file}[/]")
