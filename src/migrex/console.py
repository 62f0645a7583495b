"""Terminal output shared by every command: one console for results, one for errors, and
the `--json` option of the commands that list rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from migrex.errors import MigrexError

# Lines are not wrapped at the terminal's width (tables still fit it): a wrapped line breaks
# a message id or a command to copy in two, and a script or a log reads a line as one.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
MAX_PROBLEMS_SHOWN = 50


def render_error(error: MigrexError) -> None:
    # Not wrapped at the terminal's width: the line is one error, and scripts and logs read
    # it as one line.
    err.print(f"[bold red]error:[/] {error.detail}", highlight=False, soft_wrap=True)
    for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
        err.print(
            f"  [yellow]{problem.where}[/]: {problem.reason}"
            if problem.where
            else f"  {problem.reason}",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )
    hidden = len(error.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        err.print(f"  … and {hidden} more{error.more_problems_hint}", highlight=False)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def json_array_option(each: str) -> Any:
    """The `--json` option of a command that lists rows: its help says what is printed."""
    return typer.Option("--json", help=f"print JSON: an array, one object per {each}")


def print_json_array(rows: Iterable[Mapping[str, Any]]) -> None:
    """`rows` as one JSON array, alone on stdout, with times and dates in ISO 8601
    (`2026-03-01T09:30:00+00:00`)."""
    # Plain echo, not Rich: a script reads the line, which must never be wrapped or styled.
    typer.echo(json.dumps(list(rows), default=_json_value))


def _json_value(value: object) -> object:
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    return str(value)
