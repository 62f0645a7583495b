"""Terminal output shared by every command: one console for results, one for errors."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from migrex.errors import MigrexError

out = Console()
err = Console(stderr=True)
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
        err.print(f"  … and {hidden} more (use --report FILE to save them all)")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
