"""`migrex demo`: the main scenario in a fresh workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migrex.console import out
from migrex.demo import scenario
from migrex.demo.console_step import keep_consoles
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
    console: Annotated[
        bool,
        typer.Option(
            "--console",
            help="then keep both nodes running with their officers' consoles, print the "
            "addresses and the demo officers' sign-ins, until Ctrl-C",
        ),
    ] = False,
) -> None:
    """Generate both states' registries, import them into a KZ and an AM node, play the
    scenario; exits 1 if a message, a log check or the report's figures went wrong."""
    place = Workspace(workspace)
    outcome = scenario.run(place, agreements, persons, seed)
    failures = outcome.failures()
    for failure in failures:
        out.print(f"[red]demo failed:[/] {failure}", highlight=False)
    if failures:
        raise typer.Exit(1)
    if console:
        keep_consoles(place)
    else:
        out.print("To try the officers' consoles of both nodes: [bold]make console[/]")
