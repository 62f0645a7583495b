"""`migrex synth`: generate both states' registries and their ground truth as files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import out as stdout
from migrex.console import progress_bar
from migrex.registry.columns import Kind
from migrex.synth.channels import CAMOUFLAGE, ChannelOptions
from migrex.synth.population import GENERATION_STEPS, MIN_PERSONS, NODES, generate
from migrex.synth.writer import FILES_WRITTEN, write_population


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


class Camouflage(StrEnum):
    NONE = "none"
    ONE_TO_ONE = "1:1"
    TWO_TO_ONE = "2:1"
    BIASED = "biased"


assert {c.value for c in Camouflage} == set(CAMOUFLAGE)  # noqa: S101 - one list of kinds


def synth(
    persons: Annotated[
        int, typer.Option(min=MIN_PERSONS, help="foreigners present in Kazakhstan; the rest scales")
    ] = 20_000,
    seed: Annotated[
        int, typer.Option(min=0, help="the same seed always gives the same files")
    ] = 2024,
    out: Annotated[
        Path, typer.Option("--out", "-o", file_okay=False, help="folder to write into")
    ] = Path("synth-out"),
    fmt: Annotated[FileFormat, typer.Option("--format", "--fmt", help="file format")] = (
        FileFormat.PARQUET
    ),
    channel_cohesion: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=1.0,
            help="chance a channel member links to each of its channel's entities "
            "(default: each channel's own shares)",
        ),
    ] = None,
    camouflage: Annotated[
        Camouflage,
        typer.Option(
            help="channel members also employed by ordinary firms: 1 or 2 per channel link, "
            "at random, or 1 biased toward big employers"
        ),
    ] = Camouflage.NONE,
    no_channels: Annotated[
        bool, typer.Option("--no-channels", help="a null world: plant no channel")
    ] = False,
    more_archetypes: Annotated[
        bool,
        typer.Option(
            "--more-archetypes",
            help="also plant chains of shell employers moving members on, and document "
            "brokers (persons present then give their documents' issuing office and date)",
        ),
    ] = False,
    hard_negatives: Annotated[
        bool,
        typer.Option(
            "--hard-negatives",
            help="also lawful look-alikes: a university's dormitory, an employer's hostel",
        ),
    ] = False,
) -> None:
    """Generate synthetic registries for both states, with planted ground truth."""
    suffix = FileFormat(fmt).value
    options = ChannelOptions(
        planted=not no_channels,
        cohesion=channel_cohesion,
        camouflage=Camouflage(camouflage).value,
        more_archetypes=more_archetypes,
        hard_negatives=hard_negatives,
    )
    with progress_bar() as bar:
        task = bar.add_task("generating", total=len(GENERATION_STEPS) + FILES_WRITTEN)
        try:
            population = generate(
                persons,
                seed,
                progress=lambda step: bar.update(task, advance=1, description=f"generated {step}"),
                channels=options,
            )
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--persons") from error
        written = write_population(
            population,
            out,
            suffix,
            progress=lambda path: bar.update(task, advance=1, description=f"wrote {path.name}"),
        )
    summary = Table("file", "rows", title=f"synthetic population, seed {seed}")
    for node in NODES:
        for kind in Kind:
            summary.add_row(f"{node}/{kind}.{suffix}", f"{population.table(node, kind).num_rows:,}")
    truth = population.ground_truth
    summary.add_row(f"ground_truth/dual_citizens.{suffix}", f"{truth.dual_citizens.num_rows:,}")
    summary.add_row(f"ground_truth/near_misses.{suffix}", f"{truth.near_misses.num_rows:,}")
    summary.add_row("ground_truth/channels.json", f"{len(truth.channels)} channels")
    stdout.print(summary)
    stdout.print(f"{len(written)} files in [cyan]{out}[/]")
