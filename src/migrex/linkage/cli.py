"""`migrex linkage`: privacy-preserving linkage of two citizens' registers: `evaluate` offline on
register files, a run proposed, accepted and listed as casework (`run_cli`), and the officers'
queue of a run's candidates (`candidate_cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrex.console import err, out, progress_bar
from migrex.linkage.attack import one_salt_group, scene
from migrex.linkage.candidate_cli import app as candidates
from migrex.linkage.compare import THRESHOLD
from migrex.linkage.decoys import MAX_PER_RECORD
from migrex.linkage.evaluation import (
    ATTACK_STEPS,
    attack_figures,
    figures,
    read_truth,
    scored,
    write_pairs,
)
from migrex.linkage.layout import DECOYS
from migrex.linkage.linking import link
from migrex.linkage.records import Register, read_register
from migrex.linkage.run_cli import app as runs
from migrex.linkage.unit_cli import app as with_unit
from migrex.registry.columns import Kind
from migrex.synth import generate

app = typer.Typer(no_args_is_help=True)
app.add_typer(runs)  # propose, accept, runs
app.add_typer(with_unit)  # send, collect, witness-unit
app.add_typer(candidates)  # candidates, verify, dismiss


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
    decoys: Annotated[
        float, typer.Option(min=0.0, max=MAX_PER_RECORD, help="decoys per record on each side")
    ] = DECOYS,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Run both parties' encoders (throwaway key) with the runs' hardening, blocking,
    comparison and matching on two register files; write the matched pairs of people (a
    pair with a decoy is counted, not written); with --truth, print precision, recall, F1."""
    left_register, right_register = read_register(left), read_register(right)
    true_pairs = read_truth(truth, left_register, right_register) if truth else None
    err.print(f"[dim]linking {len(left_register):,} × {len(right_register):,} records[/]")
    linkage = link(
        left_register, right_register, threshold=THRESHOLD if threshold is None else threshold,
        decoys=decoys,
    )  # fmt: skip
    write_pairs(linkage, left_register, right_register, out_file)
    result = figures(linkage, left_register, right_register)
    if true_pairs is not None:
        result |= scored(linkage, true_pairs)
    if as_json:
        print(json.dumps(result))
    else:
        out.print_json(data=result)
        out.print(f"{result['matches']:,} pairs in [cyan]{out_file}[/]")


@app.command("attack")
def attack(
    population: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="a citizens' register both sides are drawn from (default: a synthetic one)",
        ),
    ] = None,
    size: Annotated[
        int, typer.Option(min=200, help="records encoded (and in the attacker's list)")
    ] = 1000,
    overlap: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of the encoded people the attacker holds")
    ] = 0.75,
    persons: Annotated[
        int, typer.Option(min=10_000, help="size of the synthetic population (migrex synth)")
    ] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="seed of the population and of the draw")] = 2024,
    group_size: Annotated[
        int,
        typer.Option(min=50, help="people of one salt group attacked (some 300 in 20 M records)"),
    ] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Frequency, pattern-mining and graph-matching attacks on a run's encodings (throwaway
    key the attacker never sees) by someone holding a similar list of the population, and on
    the encodings of one salt group (people of one sex born the same day, all held by the
    attacker); prints the share each re-identifies without hardening, under each salting the
    encoder offers (by birth year; by birth date; by birth date and sex) and under the runs'
    own: by birth date and sex, with a decoy per record."""
    with progress_bar() as bar:
        task = bar.add_task("drawing the population", total=ATTACK_STEPS + 1)
        if population is None:
            table = generate(persons, seed).table("KZ", Kind.CITIZENS)
            register = Register.from_table(table)
        else:
            register = read_register(population)
        setting = scene(register, size=size, overlap=overlap, seed=seed)
        group = one_salt_group(register, size=group_size, seed=seed)
        bar.update(task, advance=1)
        result = attack_figures(
            setting, group, progress=lambda step: bar.update(task, advance=1, description=step)
        )
    if as_json:
        print(json.dumps(result))
    else:
        out.print_json(data=result)
