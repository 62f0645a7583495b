"""`migrex demo`: the main scenario in a fresh workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migrex.console import out
from migrex.demo import scenario
from migrex.demo.workspace import Workspace
from migrex.synth.population import MIN_PERSONS


def demo(
    workspace: Annotated[Path, typer.Option(help="folder to create (emptied first)")] = Path(
        "demo-workspace"
    ),
    agreements: Annotated[Path, typer.Option(help="folder of agreement files")] = Path(
        "agreements"
    ),
    persons: Annotated[
        int, typer.Option(min=MIN_PERSONS, help="foreigners present in Kazakhstan")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="seed of the synthetic population")] = 2024,
) -> None:
    """Generate both states' registries, import them into a KZ and an AM node, play the
    scenario; exits 1 if a message, a log check or the report's figures went wrong."""
    outcome = scenario.run(Workspace(workspace), agreements, persons, seed)
    failures = outcome.failures()
    for failure in failures:
        out.print(f"[red]demo failed:[/] {failure}", highlight=False)
    if failures:
        raise typer.Exit(1)
